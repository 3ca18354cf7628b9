/**
 * `npm run stack`: starts the local Supabase stack and prints the env it serves, with freshly generated secrets for
 * the app (CRON_SECRET, HEALTH_TOKEN, OPS_TOKEN) and the archive bucket the migrations create (as `export-ops init`
 * sets it), as dotenv lines on stdout; then runs until Ctrl-C / SIGTERM,
 * when it stops every process it started.
 */
import { randomBytes } from "node:crypto";
import { exitOnSetupError, startStack } from "./local-stack";

const stack = await startStack().catch(exitOnSetupError);
const secret = () => randomBytes(24).toString("base64url");
const app = { CRON_SECRET: secret(), HEALTH_TOKEN: secret(), OPS_TOKEN: secret(), EXPORT_ARCHIVE_BUCKET: "export-archive" };
for (const [key, value] of Object.entries({ ...stack.env, ...app })) process.stdout.write(`${key}=${value}\n`);
process.stderr.write(
  "\nLocal stack is up. Paste the lines above into .env.local, then `npm run dev` (or `npm run build && npm start`):\n" +
    "the cron routes take CRON_SECRET as their bearer, /ops signs in with OPS_TOKEN. Ctrl-C stops the stack.\n",
);
// The stack stops itself on SIGINT/SIGTERM/SIGHUP; until then, keep the process alive.
setInterval(() => {}, 1 << 30);
