/**
 * Reads the export-log archive in EXPORT_ARCHIVE_BUCKET, on either target (Supabase Storage, or the S3-compatible
 * store of EXPORT_ARCHIVE_TARGET=s3): lists its objects, prints one's rows as JSON Lines, or restores them into
 * export_logs (rows already present are left alone).
 *
 *   npm run archive -- list [logs/2026/11]
 *   npm run archive -- print logs/2026/11/01/logs-20261101T030000-<id>.jsonl.gz
 *   npm run archive -- restore logs/2026/11/01/logs-20261101T030000-<id>.jsonl.gz
 */
import { parseArgs } from "node:util";
import { getEnv } from "../lib/env";
import { listArchiveObjects } from "../lib/archive/archive-listing";
import { decodeArchive, restoreArchive } from "../lib/archive/log-archive";
import { archiveBucketOf } from "../lib/files/buckets";
import { createSupabasePorts } from "../lib/supabase";

let positionals: string[] = [];
try {
  ({ positionals } = parseArgs({ allowPositionals: true, options: {}, strict: true }));
} catch (error) {
  process.stderr.write(`archive: ${(error as Error).message}\n`);
}
const [command, name, ...extra] = positionals;
const usable =
  command === "list" ? extra.length === 0 : Boolean(name) && extra.length === 0 && (command === "print" || command === "restore");
if (!usable) {
  process.stderr.write("usage: npm run archive -- list [<folder>] | print <object name> | restore <object name>\n");
  process.exit(2);
}
try {
  const env = getEnv();
  const bucket = archiveBucketOf(env);
  if (!bucket) throw new Error("EXPORT_ARCHIVE_BUCKET is not set");
  const ports = createSupabasePorts(env);
  if (command === "list") {
    const folders = name ? [name] : ["logs", "erasure"];
    for (const folder of folders) {
      for (const object of await listArchiveObjects(ports.storage, bucket, folder))
        process.stdout.write(`${JSON.stringify({ bucket, ...object })}\n`);
    }
  } else if (command === "print") {
    for (const row of decodeArchive(await ports.storage.download(bucket, name!))) process.stdout.write(`${JSON.stringify(row)}\n`);
  } else {
    const { rows, restored } = await restoreArchive(ports, bucket, name!);
    process.stdout.write(`${JSON.stringify({ bucket, object: name, rows, restored, already_present: rows - restored })}\n`);
  }
} catch (error) {
  process.stderr.write(`archive: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
