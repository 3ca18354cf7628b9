/**
 * Erases one user's exports for a deletion request: their files, export logs, raw metrics, and their rows in
 * every export-log archive object (each rewritten without them, checked, then put in place).
 *
 *   npm run erase-user -- <user-id> [--dry-run] [--keep-copy]
 *
 * Run it again while it answers `has_more: true` (logs in an archive batch another run is still writing).
 */
import { parseArgs } from "node:util";
import pino from "pino";
import { getEnv } from "../lib/env";
import { eraseUser } from "../lib/erasure/user-erasure";
import { createLogger } from "../lib/logger";
import { systemClock } from "../lib/ports";
import { createSupabasePorts } from "../lib/supabase";

const usage = `usage: npm run erase-user -- <user-id> [--dry-run] [--keep-copy]

  --dry-run     say what would be erased; change nothing
  --keep-copy   KEEP A COPY (e.g. for a legal hold): write the user's export logs to EXPORT_ARCHIVE_BUCKET under
                erasure/<user-id>/ and leave their rows in existing archive objects. Without it nothing of the
                user's exports is kept anywhere. Erasing again without it removes the copy too.
`;

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: { "dry-run": { type: "boolean" }, "keep-copy": { type: "boolean" }, help: { type: "boolean" } },
  });
}
try {
  parsed = parse();
} catch (error) {
  process.stderr.write(`erase-user: ${(error as Error).message}\n${usage}`);
  process.exit(2);
}
const [userId, ...extra] = parsed.positionals;
if (parsed.values.help || !userId || extra.length > 0) {
  process.stderr.write(usage);
  process.exit(parsed.values.help ? 0 : 2);
}
try {
  const env = getEnv();
  const logger = createLogger({ destination: pino.destination({ dest: 2, sync: true }) });
  const result = await eraseUser(
    { ...createSupabasePorts(env), env, clock: systemClock, logger, deadline: Number.POSITIVE_INFINITY },
    { userId, dryRun: parsed.values["dry-run"] ?? false, keepCopy: parsed.values["keep-copy"] ?? false },
  );
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (result.has_more) process.exitCode = 3;
} catch (error) {
  process.stderr.write(`erase-user: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
