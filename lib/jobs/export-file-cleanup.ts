/**
 * Daily export-file cleanup. Claims completed exports past retention in batches (one SQL call), deletes their
 * files with one Storage request per batch, and reports back (one SQL call) which are gone — those turn
 * `expired` — and which failed, to be retried by the next run. Then sweeps orphaned objects: files past
 * retention that no live export log points to.
 */
import { z } from "zod";
import { sqlTime, type JobDeps } from "../ports";
import { unsafePathReason } from "./export-paths";
import { baseOptionsSchema, defineJob, queryBoolean } from "./job";

/** Storage refuses more than 1000 names in one delete. */
export const MAX_BATCH = 1000;
/** Batches in flight at once: bounds the Storage and PostgREST requests a run makes concurrently. */
export const CONCURRENCY = 4;
/** Longer than any run may last, so only a dead run's claims ever expire and get picked up by another. */
export const LEASE_SECONDS = 900;
/** Orphan pages per run (of up to 1000 objects each). */
export const ORPHAN_MAX_PAGES = 20;
/** Errors listed in the result; the counts always cover all of them. */
export const MAX_ERRORS_REPORTED = 50;
const DRY_RUN_SAMPLE = 20;

export const exportFileCleanupOptionsSchema = baseOptionsSchema.extend({
  retention_hours: z.coerce.number({ error: "must be a number" }).int().min(1).max(24 * 365).optional(),
  batch_size: z.coerce.number({ error: "must be a number" }).int().min(1).max(MAX_BATCH).default(MAX_BATCH),
  sweep_orphans: queryBoolean.default(true),
});
export type ExportFileCleanupOptions = z.output<typeof exportFileCleanupOptionsSchema>;

interface ClaimedExport {
  export_id: string;
  user_id: string;
  format: string;
  file_path: string | null;
  cleanup_attempts: number;
}

interface BatchReport {
  expired: string[];
  failed: { export_id: string; error: string }[];
}

interface BatchOutcome {
  expired: number;
  failed: number;
  claimed: ClaimedExport[];
}

export interface CleanupError {
  export_id?: string;
  path?: string;
  reason: string;
}

export interface ExportFileCleanupResult {
  [key: string]: unknown;
  total_found: number;
  deleted_count: number;
  failed_count: number;
  logs_updated: number;
  orphans_found: number;
  orphans_deleted: number;
  errors: CleanupError[];
  errors_total: number;
  sample_paths?: string[];
  retention_hours: number;
  has_more: boolean;
  dry_run: boolean;
  duration_ms: number;
  timestamp: string;
}

type Deps = Pick<JobDeps, "db" | "storage" | "clock" | "logger" | "deadline" | "runId" | "env">;

/** Paths are user data; keep what goes into results and logs short and printable. */
const printable = (path: string | null) => (path ?? "").replace(/[\u0000-\u001f\u007f]/g, "?").slice(0, 200);

export async function runExportFileCleanup(deps: Deps, options: ExportFileCleanupOptions): Promise<ExportFileCleanupResult> {
  const { db, storage, clock, logger, runId, env } = deps;
  const started = clock.now();
  const bucket = env.EXPORTS_BUCKET;
  const retentionHours = options.retention_hours ?? env.EXPORT_FILE_RETENTION_HOURS;
  const timeLeft = () => clock.now().getTime() < deps.deadline;
  const result: ExportFileCleanupResult = {
    total_found: 0,
    deleted_count: 0,
    failed_count: 0,
    logs_updated: 0,
    orphans_found: 0,
    orphans_deleted: 0,
    errors: [],
    errors_total: 0,
    retention_hours: retentionHours,
    has_more: false,
    dry_run: options.dry_run,
    duration_ms: 0,
    timestamp: "",
  };
  const addError = (error: CleanupError) => {
    result.errors_total += 1;
    if (result.errors.length < MAX_ERRORS_REPORTED) result.errors.push(error);
  };

  if (options.dry_run) {
    const preview = await db.call<{ total: number; sample: ClaimedExport[] }>("export_ops_file_cleanup_preview", {
      p_retention_hours: retentionHours,
      p_sample_size: DRY_RUN_SAMPLE,
      ...sqlTime(clock),
    });
    result.total_found = preview.total;
    result.sample_paths = preview.sample.map((row) => printable(row.file_path));
    for (const row of preview.sample) {
      const reason = unsafePathReason(row.file_path, row);
      if (reason) addError({ export_id: row.export_id, path: printable(row.file_path), reason: `would skip: ${reason}` });
    }
  } else {
    // SQL calls go one at a time (so this run's own claims never contend); Storage deletes overlap.
    let exhausted = false;
    let batchNo = 0;
    let sqlTurn: Promise<unknown> = Promise.resolve();
    const serially = <T>(call: () => Promise<T>): Promise<T> => {
      const next = sqlTurn.then(call);
      sqlTurn = next.catch(() => undefined);
      return next;
    };

    const deleteBatch = async (batch: ClaimedExport[], n: number): Promise<BatchReport> => {
      const report: BatchReport = { expired: [], failed: [] };
      const safe: ClaimedExport[] = [];
      for (const row of batch) {
        const reason = unsafePathReason(row.file_path, row);
        if (!reason) safe.push(row);
        else {
          report.failed.push({ export_id: row.export_id, error: `unsafe path: ${reason}` });
          addError({ export_id: row.export_id, path: printable(row.file_path), reason: `skipped, unsafe path: ${reason}` });
        }
      }
      if (safe.length > 0) {
        try {
          // Names Storage does not list were already gone: either way the file no longer exists.
          await storage.remove(bucket, safe.map((row) => row.file_path!));
          report.expired = safe.map((row) => row.export_id);
        } catch (error) {
          const message = (error as Error).message;
          for (const row of safe) report.failed.push({ export_id: row.export_id, error: message });
          addError({ reason: `batch ${n} of ${safe.length} files not deleted, will retry next run: ${message}` });
        }
      }
      result.deleted_count += report.expired.length;
      result.failed_count += report.failed.length;
      logger.debug({ type: "file_cleanup_batch", batch: n, claimed: batch.length, deleted: report.expired.length, failed: report.failed.length });
      return report;
    };

    const worker = async () => {
      let report: BatchReport = { expired: [], failed: [] };
      for (;;) {
        if ((exhausted || !timeLeft()) && report.expired.length + report.failed.length === 0) return;
        const { outcome, limit } = await serially(async () => {
          const limit = !exhausted && timeLeft() ? options.batch_size : 0;
          const outcome = await db.call<BatchOutcome>("export_ops_file_cleanup_batch", {
            p_run_id: runId,
            p_retention_hours: retentionHours,
            p_limit: limit,
            p_expired: report.expired,
            p_failed: report.failed,
            p_lease_seconds: LEASE_SECONDS,
            ...sqlTime(clock),
          });
          if (outcome.claimed.length < limit) exhausted = true;
          return { outcome, limit };
        });
        result.logs_updated += outcome.expired;
        result.total_found += outcome.claimed.length;
        if (limit === 0 || outcome.claimed.length === 0) return;
        report = await deleteBatch(outcome.claimed, (batchNo += 1));
      }
    };

    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    result.has_more = !exhausted;
  }

  if (options.sweep_orphans && timeLeft()) {
    const orphans = await sweepOrphans(deps, bucket, retentionHours, options.dry_run, timeLeft, addError);
    result.orphans_found = orphans.found;
    result.orphans_deleted = orphans.deleted;
    result.has_more ||= orphans.hasMore;
  }

  const finished = clock.now();
  result.duration_ms = finished.getTime() - started.getTime();
  result.timestamp = finished.toISOString();
  return result;
}

/** Walks the bucket's orphans by name in pages; deletes those in the export layout (unless a dry run). */
async function sweepOrphans(
  { db, storage, clock, logger }: Deps,
  bucket: string,
  retentionHours: number,
  dryRun: boolean,
  timeLeft: () => boolean,
  addError: (error: CleanupError) => void,
): Promise<{ found: number; deleted: number; hasMore: boolean }> {
  let after = "";
  let found = 0;
  let deleted = 0;
  for (let page = 0; page < ORPHAN_MAX_PAGES; page += 1) {
    if (!timeLeft()) return { found, deleted, hasMore: true };
    const rows = await db.call<{ name: string }[]>("export_ops_find_orphan_objects", {
      p_bucket: bucket,
      p_retention_hours: retentionHours,
      p_after: after,
      p_limit: MAX_BATCH,
      ...sqlTime(clock),
    });
    if (rows.length === 0) return { found, deleted, hasMore: false };
    after = rows[rows.length - 1]!.name;
    const safe = rows.filter((row) => unsafePathReason(row.name) === null).map((row) => row.name);
    found += safe.length;
    if (!dryRun && safe.length > 0) {
      try {
        deleted += (await storage.remove(bucket, safe)).length;
      } catch (error) {
        addError({ reason: `orphan page ${page + 1} not deleted, will retry next run: ${(error as Error).message}` });
      }
    }
    logger.debug({ type: "orphan_sweep_page", page: page + 1, listed: rows.length, orphans: safe.length });
    if (rows.length < MAX_BATCH) return { found, deleted, hasMore: false };
  }
  return { found, deleted, hasMore: true };
}

export const exportFileCleanup = defineJob({
  id: "export-file-cleanup",
  description: "Deletes export files past retention from Storage and marks their logs expired; sweeps orphaned files",
  schedule: "0 2 * * *",
  maxDurationSeconds: 300,
  overlap: "parallel",
  optionsSchema: exportFileCleanupOptionsSchema,
  progress: (r) => r.deleted_count + r.logs_updated + r.orphans_deleted,
  run: runExportFileCleanup,
});
