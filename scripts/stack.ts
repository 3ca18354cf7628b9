/**
 * `npm run stack`: starts the local Supabase stack and prints the env it serves (dotenv lines on stdout), then
 * runs until Ctrl-C / SIGTERM, when it stops every process it started.
 */
import { startStack } from "./local-stack";

const stack = await startStack();
for (const [key, value] of Object.entries(stack.env)) process.stdout.write(`${key}=${value}\n`);
process.stderr.write("\nLocal stack is up. Paste the lines above into .env.local (with a CRON_SECRET) to point the app at it.\nCtrl-C stops it.\n");
// The stack stops itself on SIGINT/SIGTERM/SIGHUP; until then, keep the process alive.
setInterval(() => {}, 1 << 30);
