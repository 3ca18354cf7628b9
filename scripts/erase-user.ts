/**
 * Erases one user's exports for a deletion request: their files, export logs and raw metrics.
 *
 *   npm run erase-user -- <user-id> [--dry-run] [--archive]
 *
 * --archive writes the logs to EXPORT_ARCHIVE_BUCKET (under erasure/<user-id>/) before deleting them.
 */
import pino from "pino";
import { getEnv } from "../lib/env";
import { cleanupUserExportLogs } from "../lib/jobs/user-erasure";
import { createLogger } from "../lib/logger";
import { systemClock } from "../lib/ports";
import { createSupabasePorts } from "../lib/supabase";

const args = process.argv.slice(2);
const userId = args.find((a) => !a.startsWith("--"));
const unknown = args.filter((a) => a.startsWith("--") && a !== "--dry-run" && a !== "--archive");
if (!userId || unknown.length > 0) {
  process.stderr.write(`usage: npm run erase-user -- <user-id> [--dry-run] [--archive]${unknown.length ? ` (unknown: ${unknown.join(" ")})` : ""}\n`);
  process.exit(2);
}
try {
  const env = getEnv();
  if (args.includes("--archive") && !env.EXPORT_ARCHIVE_BUCKET) throw new Error("--archive needs EXPORT_ARCHIVE_BUCKET");
  const logger = createLogger({ destination: pino.destination({ dest: 2, sync: true }) });
  const result = await cleanupUserExportLogs(
    { ...createSupabasePorts(env), env, clock: systemClock, logger, deadline: Number.POSITIVE_INFINITY },
    { userId, dryRun: args.includes("--dry-run"), archiveBucket: args.includes("--archive") ? env.EXPORT_ARCHIVE_BUCKET : undefined },
  );
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} catch (error) {
  process.stderr.write(`erase-user: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
