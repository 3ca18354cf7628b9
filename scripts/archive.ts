/**
 * Reads an export-log archive object from EXPORT_ARCHIVE_BUCKET: prints its rows as JSON Lines, or restores them
 * into export_logs (rows already present are left alone).
 *
 *   npm run archive -- print logs/2026/11/01/logs-20261101T030000-<id>.jsonl.gz
 *   npm run archive -- restore logs/2026/11/01/logs-20261101T030000-<id>.jsonl.gz
 */
import { parseArgs } from "node:util";
import { getEnv } from "../lib/env";
import { decodeArchive, restoreArchive } from "../lib/archive/log-archive";
import { createSupabasePorts } from "../lib/supabase";

let positionals: string[] = [];
try {
  ({ positionals } = parseArgs({ allowPositionals: true, options: {}, strict: true }));
} catch (error) {
  process.stderr.write(`archive: ${(error as Error).message}\n`);
}
const [command, name, ...extra] = positionals;
if (!name || extra.length > 0 || (command !== "print" && command !== "restore")) {
  process.stderr.write("usage: npm run archive -- print|restore <object name>\n");
  process.exit(2);
}
try {
  const env = getEnv();
  if (!env.EXPORT_ARCHIVE_BUCKET) throw new Error("EXPORT_ARCHIVE_BUCKET is not set");
  const ports = createSupabasePorts(env);
  if (command === "print") {
    for (const row of decodeArchive(await ports.storage.download(env.EXPORT_ARCHIVE_BUCKET, name))) process.stdout.write(`${JSON.stringify(row)}\n`);
  } else {
    const { rows, restored } = await restoreArchive(ports, env.EXPORT_ARCHIVE_BUCKET, name);
    process.stdout.write(`${JSON.stringify({ object: name, rows, restored, already_present: rows - restored })}\n`);
  }
} catch (error) {
  process.stderr.write(`archive: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
