/**
 * Deleting export logs in batches, archiving each batch first when an archive bucket is configured. Shared by
 * the monthly log cleanup (logs past retention) and per-user erasure (one user's logs).
 *
 * With archival, each batch becomes one gzip JSON Lines object named after the batch's key (kept on the rows, so
 * a retried batch overwrites the same object); it is read back and checked row by row before exactly the rows
 * it holds are deleted. If the upload or the check fails, nothing of the batch is deleted, the batch is released
 * for the next run, and the run stops (archival is failing; going on would only repeat it).
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { StorageError } from "../errors";
import { sqlTime, type JobDeps } from "../ports";
import type { SqlResult } from "../sql-api";

/** Rows per archive object: bounds the memory a batch takes (the rows are held as JSON while verified). */
export const ARCHIVE_BATCH = 5000;
/** Rows per delete statement without archival: still a short statement (~0.2 s), far fewer round trips. */
export const DELETE_BATCH = 20_000;
/** Longer than a run may last: only a dead run's batch is ever taken back by another. */
export const ARCHIVE_LEASE_SECONDS = 900;

export type LogScope = { cutoff: Date; userId?: undefined } | { userId: string; cutoff?: undefined };

export interface BatchDeletion {
  deleted: number;
  archived: number;
  archiveObjects: string[];
  errors: string[];
  /** False when the run stopped early (time budget, or an archive failure) with work left. */
  finished: boolean;
}

type Deps = Pick<JobDeps, "db" | "storage" | "clock" | "logger" | "deadline">;

/** A claimed batch: its key, its archive object's name (the key plus `.jsonl.gz`, in the manifest) and its rows. */
type ClaimedBatch = SqlResult<"export_ops_claim_log_batch">;

const scopeArgs = (scope: LogScope) => ({ p_cutoff: scope.cutoff?.toISOString() ?? null, p_user_id: scope.userId ?? null });

export function encodeArchive(rows: Record<string, unknown>[]): Uint8Array {
  return gzipSync(rows.map((row) => JSON.stringify(row)).join("\n") + "\n");
}

export function decodeArchive(bytes: Uint8Array): Record<string, unknown>[] {
  return gunzipSync(bytes)
    .toString("utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}


/** Deletes the logs in scope, batch by batch, until none are left or the deadline comes. */
export async function deleteLogsInBatches(
  deps: Deps,
  scope: LogScope,
  options: { batchSize?: number; archiveBucket?: string },
): Promise<BatchDeletion> {
  const { db, storage, clock, logger } = deps;
  const batchSize = options.batchSize ?? (options.archiveBucket ? ARCHIVE_BATCH : DELETE_BATCH);
  const result: BatchDeletion = { deleted: 0, archived: 0, archiveObjects: [], errors: [], finished: false };
  const timeLeft = () => clock.now().getTime() < deps.deadline;

  // each batch starts where the previous one reached, so no batch re-reads what earlier ones deleted
  let after: string | null = null;
  while (timeLeft()) {
    if (!options.archiveBucket) {
      const step: { deleted: number; reached: string | null } = await db.call("export_ops_delete_logs", {
        p_limit: batchSize,
        ...sqlTime(clock),
        p_after: after,
        ...scopeArgs(scope),
      });
      result.deleted += step.deleted;
      after = step.reached;
      logger.debug({ type: "log_cleanup_batch", deleted: step.deleted });
      if (step.deleted < batchSize) return { ...result, finished: true };
      continue;
    }

    const claimed = await db.call("export_ops_claim_log_batch", {
      p_bucket: options.archiveBucket,
      p_limit: batchSize,
      p_lease_seconds: ARCHIVE_LEASE_SECONDS,
      ...sqlTime(clock),
      p_after: after,
      ...scopeArgs(scope),
    });
    if (!claimed.batch || !claimed.object || claimed.rows.length === 0) return { ...result, finished: true };
    // a dead run's batch taken back may lie anywhere: only fresh batches move the walk forward
    if (!claimed.reclaimed) after = String(claimed.rows[claimed.rows.length - 1]!.created_at);
    const name = claimed.object;
    let verified: string[];
    const bytes = encodeArchive(claimed.rows);
    try {
      await storage.upload(options.archiveBucket, name, bytes, { contentType: ARCHIVE_CONTENT_TYPE, upsert: true });
      const stored = decodeArchive(await storage.download(options.archiveBucket, name));
      verified = verifyArchive(stored, claimed.rows);
    } catch (error) {
      await db.call("export_ops_release_log_batch", { p_batch: claimed.batch });
      const reason = bucketRefusal(error, options.archiveBucket, bytes.length) ?? (error as Error).message;
      result.errors.push(`archive ${name} not written or not verified, its ${claimed.rows.length} logs were kept: ${reason}`);
      logger.warn({ type: "log_archive_failed", object: name, rows: claimed.rows.length, error: (error as Error).message });
      return result;
    }
    const deleted = await db.call("export_ops_delete_archived_logs", { p_batch: claimed.batch, p_export_ids: verified });
    result.deleted += deleted;
    result.archived += deleted;
    result.archiveObjects.push(name);
    logger.debug({ type: "log_cleanup_batch", object: name, rows: claimed.rows.length, deleted });
  }
  return result;
}

export const ARCHIVE_CONTENT_TYPE = "application/gzip";

/** A bucket that refuses archive objects, in words that name the bucket and the setting to change. */
function bucketRefusal(error: unknown, bucket: string, size: number): string | undefined {
  if (!(error instanceof StorageError)) return undefined;
  if (error.storageStatus === 415) {
    return `the archive bucket ${bucket} refuses ${ARCHIVE_CONTENT_TYPE}: add it to the bucket's allowed MIME types (Storage → bucket → Edit)`;
  }
  if (error.storageStatus === 413) {
    return `the archive object (${size} bytes) is over the file size limit of the archive bucket ${bucket}: raise the bucket's file size limit, or lower batch_size`;
  }
  return undefined;
}

/** An archive read back must hold exactly the expected rows, as they were; returns their ids. */
export function verifyArchive(stored: Record<string, unknown>[], expected: Record<string, unknown>[]): string[] {
  if (stored.length !== expected.length) throw new Error(`archive holds ${stored.length} rows, expected ${expected.length}`);
  const byId = new Map(expected.map((row) => [String(row.export_id), JSON.stringify(row)]));
  for (const row of stored) {
    if (byId.get(String(row.export_id)) !== JSON.stringify(row)) throw new Error(`archive row ${String(row.export_id)} does not match`);
  }
  return expected.map((row) => String(row.export_id));
}

/** Puts an archive object's rows back into export_logs (rows already there are left alone). */
export async function restoreArchive(deps: Pick<JobDeps, "db" | "storage">, bucket: string, name: string): Promise<{ rows: number; restored: number }> {
  const rows = decodeArchive(await deps.storage.download(bucket, name));
  let restored = 0;
  for (let i = 0; i < rows.length; i += 1000) {
    restored += await deps.db.call("export_ops_restore_logs", { p_rows: rows.slice(i, i + 1000) });
  }
  return { rows: rows.length, restored };
}
