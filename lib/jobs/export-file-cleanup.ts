/**
 * Daily export-file cleanup. Refuses to run on a public or missing exports bucket. Claims completed exports past
 * retention in batches (one SQL call), deletes their files with one Storage request per batch, and reports back
 * (one SQL call) which are gone — those turn `expired` — which failed, to be retried by the next run, and which
 * it quarantined (an unsafe path: never retried until an operator releases it). A file another export still uses
 * is never deleted: SQL expires the older log at claim time and keeps the file. Then sweeps orphaned objects page
 * by page from where the last run stopped: files of exports export-ops knew, created after its install, past
 * retention, that no live export log points to — by itself only in a bucket export-ops created (lib/files/buckets.ts).
 * In a bucket that keeps versions, every deletion deletes each version of the file (lib/files/versions.ts).
 */
import * as z from "zod";
import { assertBucketsUsable, orphanSweepState, type OrphanSweepState } from "../files/buckets";
import { filesInBucket, type FilesInBucket } from "../files/versions";
import { REQUEST_TIMEOUT_MS, sqlTime, type BucketVersioning, type JobDeps } from "../ports";
import type { SqlResult } from "../sql-contract";
import { unsafePathReason, type ExportFormats } from "../files/export-paths";
import { baseOptionsSchema, defineJob, queryBoolean, queryInt, settingOption } from "./job";
import { createPacer, niceRatioOption } from "./pacing";
import { createWorkerPool } from "./worker-pool";

/** Storage refuses more than 1000 names in one delete. */
export const MAX_BATCH = 1000;
/** Batches in flight at once (the default of `concurrency`): bounds the Storage and PostgREST requests a run makes concurrently. */
export const CONCURRENCY = 4;
/** Empty claims in a row, while other runs hold the waiting rows, before this run leaves those rows to them. */
export const CONTENDED_CLAIMS = 3;
/**
 * How long one Storage bulk delete should take: a quarter of the request timeout. A real Storage takes 1–8 s per
 * 1,000 names, more under load; batches shrink to what Storage manages in this time, and grow back when it is
 * fast, so a slow Storage never turns deletes that did happen into timeouts. The first batch is a small probe,
 * sent before the other workers start.
 */
export const TARGET_DELETE_MS = REQUEST_TIMEOUT_MS / 4;
export const PROBE_BATCH = 100;
export const MIN_BATCH = 50;

/** The next batch size after `names` were deleted in `ms`: what fits in TARGET_DELETE_MS, within MIN_BATCH and `max`. */
export function nextBatchSize(names: number, ms: number, max: number): number {
  const fits = Math.floor((names * TARGET_DELETE_MS) / Math.max(ms, 1));
  return Math.max(MIN_BATCH, Math.min(max, fits));
}
/** Longer than any run may last, so only a dead run's claims ever expire and get picked up by another. */
export const LEASE_SECONDS = 900;
/** Orphan-sweep pages per run, and objects looked at per page (the defaults of the options below). */
export const ORPHAN_MAX_PAGES = 20;
export const ORPHAN_PAGE_SIZE = 1000;
/** Errors listed in the result; the counts always cover all of them. */
export const MAX_ERRORS_REPORTED = 50;
const DRY_RUN_SAMPLE = 20;

export const exportFileCleanupOptionsSchema = baseOptionsSchema.extend({
  retention_hours: settingOption("EXPORT_FILE_RETENTION_HOURS"),
  batch_size: queryInt(1, MAX_BATCH).default(MAX_BATCH),
  concurrency: queryInt(1, 8).default(CONCURRENCY),
  nice_ratio: niceRatioOption,
  sweep_orphans: queryBoolean.default(true),
  orphan_pages: queryInt(1, 100).default(ORPHAN_MAX_PAGES),
  orphan_page_size: queryInt(10, ORPHAN_PAGE_SIZE).default(ORPHAN_PAGE_SIZE),
});
export type ExportFileCleanupOptions = z.output<typeof exportFileCleanupOptionsSchema>;

interface BatchReport {
  expired: string[];
  failed: { export_id: string; error: string }[];
  quarantined: { export_id: string; reason: string }[];
}

type ClaimedExport = SqlResult<"export_ops_file_cleanup_batch">["claimed"][number];

const emptyReport = (): BatchReport => ({ expired: [], failed: [], quarantined: [] });

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
  /** Logs expired without deleting their file, because another export still in use points at it. */
  kept_in_use: number;
  /** Exports quarantined by this run (an unsafe path, or Storage failing EXPORT_CLEANUP_MAX_ATTEMPTS times). */
  quarantined_count: number;
  /** Whether this run's orphan sweep may delete, and why; a dry run lists what it would take either way. */
  orphan_sweep: OrphanSweepState;
  /** The exports bucket's versioning: where it keeps versions, every deletion deletes each version of the file. */
  bucket_versioning: BucketVersioning;
  orphans_found: number;
  orphans_deleted: number;
  errors: CleanupError[];
  errors_total: number;
  sample_paths?: string[];
  /** Dry run: orphans the sweep would take (up to 20 of orphans_found). */
  sample_orphans?: string[];
  retention_hours: number;
  has_more: boolean;
  dry_run: boolean;
  /** Time spent resting between batches (`nice_ratio`), within duration_ms. */
  rested_ms: number;
  duration_ms: number;
  timestamp: string;
}

type Deps = Pick<JobDeps, "db" | "storage" | "clock" | "logger" | "deadline" | "runId" | "env">;

/** Paths are user data; keep what goes into results and logs short and printable. */
const printable = (path: string | null) => (path ?? "").replace(/[\u0000-\u001f\u007f]/g, "?").slice(0, 200);

export async function runExportFileCleanup(deps: Deps, options: ExportFileCleanupOptions): Promise<ExportFileCleanupResult> {
  const { db, storage, clock, logger, runId, env } = deps;
  const started = clock.now();
  const retentionHours = options.retention_hours ?? env.EXPORT_FILE_RETENTION_HOURS;
  const timeLeft = () => clock.now().getTime() < deps.deadline;
  const [[exportsBucket], formats] = await Promise.all([assertBucketsUsable(db, env, ["exports"], storage), db.call("export_ops_formats")]);
  const files = filesInBucket(storage, exportsBucket!);
  const result: ExportFileCleanupResult = {
    total_found: 0,
    deleted_count: 0,
    failed_count: 0,
    logs_updated: 0,
    kept_in_use: 0,
    quarantined_count: 0,
    orphan_sweep: options.sweep_orphans ? orphanSweepState(env.EXPORT_ORPHAN_SWEEP, exportsBucket!) : { enabled: false, reason: "sweep_orphans=false" },
    bucket_versioning: exportsBucket!.versioning,
    orphans_found: 0,
    orphans_deleted: 0,
    errors: [],
    errors_total: 0,
    retention_hours: retentionHours,
    has_more: false,
    dry_run: options.dry_run,
    rested_ms: 0,
    duration_ms: 0,
    timestamp: "",
  };
  const addError = (error: CleanupError) => {
    result.errors_total += 1;
    if (result.errors.length < MAX_ERRORS_REPORTED) result.errors.push(error);
  };

  if (options.dry_run) {
    const preview = await db.call("export_ops_file_cleanup_preview", {
      p_retention_hours: retentionHours,
      p_sample_size: DRY_RUN_SAMPLE,
      ...sqlTime(clock),
    });
    result.total_found = preview.total;
    result.kept_in_use = preview.kept_in_use;
    result.sample_paths = preview.sample.map((row) => printable(row.file_path));
    for (const row of preview.sample) {
      const reason = unsafePathReason(row.file_path, formats, row);
      if (reason) addError({ export_id: row.export_id, path: printable(row.file_path), reason: `would skip: ${reason}` });
    }
  } else {
    // SQL calls go one at a time (so this run's own claims never contend); Storage deletes overlap. When one
    // worker fails, the others stop before their next request and the run ends with that error: a report not
    // sent loses nothing (those rows keep their claims until the lease ends; the next run finds their files
    // gone, which counts as deleted, and expires them).
    /** Nothing waits for a claim any more. */
    let done = false;
    /** Claims in a row that found work waiting but got none of it (other runs held it), and giving up on it. */
    let contended = 0;
    let yielded = false;
    let batchNo = 0;
    const pool = createWorkerPool();
    const pacer = createPacer(options.nice_ratio, deps);

    const deleteBatch = async (batch: ClaimedExport[], n: number): Promise<BatchReport> => {
      const report = emptyReport();
      const safe: ClaimedExport[] = [];
      for (const row of batch) {
        const reason = unsafePathReason(row.file_path, formats, row);
        if (!reason) safe.push(row);
        else {
          // permanent: retrying would fail the same way every run
          report.quarantined.push({ export_id: row.export_id, reason: `unsafe path: ${reason}` });
          logger.warn({ type: "file_cleanup_quarantined", export_id: row.export_id, path: printable(row.file_path), reason: `unsafe path: ${reason}` }, `file cleanup: export ${row.export_id} quarantined (unsafe path: ${reason})`);
        }
      }
      if (safe.length > 0) {
        try {
          // Storage's delete is database work too: a rest begun while this batch was claimed holds it as well
          await pacer.pause();
          // Names Storage does not list were already gone: either way the file no longer exists.
          const began = performance.now();
          await files.remove(safe.map((row) => row.file_path!));
          resize(safe.length, performance.now() - began);
          report.expired = safe.map((row) => row.export_id);
        } catch (error) {
          const message = (error as Error).message;
          for (const row of safe) report.failed.push({ export_id: row.export_id, error: message });
          addError({ reason: `batch ${n} of ${safe.length} files not deleted, will retry next run: ${message}` });
        }
      }
      result.deleted_count += report.expired.length;
      result.failed_count += report.failed.length;
      logger.debug({ type: "file_cleanup_batch", batch: n, batch_size: batchSize, claimed: batch.length, deleted: report.expired.length, failed: report.failed.length, quarantined: report.quarantined.length }, `file cleanup: batch ${n}, ${report.expired.length} deleted`);
      return report;
    };

    // batch size follows what Storage takes (see TARGET_DELETE_MS)
    let batchSize = Math.min(options.batch_size, PROBE_BATCH);
    const resize = (names: number, ms: number) => (batchSize = nextBatchSize(names, ms, options.batch_size));

    // the others start once the first batch has shown how fast Storage is
    const worker = async (_n: number, probed: () => void) => {
      let report = emptyReport();
      for (;;) {
        const owed = report.expired.length + report.failed.length + report.quarantined.length > 0;
        if (pool.failed() || ((done || yielded || !timeLeft()) && !owed)) return;
        const turn = await pool.serially(async () => {
          // paced at the SQL calls, which run one at a time, and at Storage's deletes: while the run rests, no worker
          // claims or deletes
          const claiming = !done && !yielded;
          if (claiming) await pacer.pause();
          const limit = claiming && timeLeft() ? batchSize : 0;
          const outcome = await db.call("export_ops_file_cleanup_batch", {
            p_run_id: runId,
            p_retention_hours: retentionHours,
            p_limit: limit,
            p_expired: report.expired,
            p_failed: report.failed,
            p_quarantined: report.quarantined,
            p_max_attempts: env.EXPORT_CLEANUP_MAX_ATTEMPTS,
            p_lease_seconds: LEASE_SECONDS,
            ...sqlTime(clock),
          });
          if (limit > 0) {
            // a short batch is not the end while concurrent runs hold rows: only "nothing waits" is
            done ||= !outcome.more;
            contended = outcome.claimed.length + outcome.kept_in_use === 0 ? contended + 1 : 0;
            yielded ||= outcome.more && contended >= CONTENDED_CLAIMS;
          }
          return { outcome, limit };
        });
        if (!turn) return; // this call failed, or another one did while this worker waited for its turn
        const { outcome, limit } = turn;
        result.logs_updated += outcome.expired + outcome.kept_in_use;
        result.kept_in_use += outcome.kept_in_use;
        result.quarantined_count += outcome.quarantined;
        result.total_found += outcome.claimed.length + outcome.kept_in_use;
        report = emptyReport();
        if (limit === 0) return;
        if (outcome.claimed.length === 0) {
          // shared files only, or rows other runs were claiming: look again (after a moment, when contended)
          if (contended > 0) await new Promise((r) => setTimeout(r, 50 * contended));
          continue;
        }
        report = await deleteBatch(outcome.claimed, (batchNo += 1));
        probed();
      }
    };
    await pool.run(options.concurrency, worker);
    result.has_more = !done;
    result.rested_ms = pacer.rested();
  }

  // a dry run lists what the sweep would take even while it is off, so an operator can check before turning it on
  if (options.sweep_orphans && (result.orphan_sweep.enabled || options.dry_run) && timeLeft()) {
    const orphans = await sweepOrphans(deps, options, { retentionHours, formats, files }, timeLeft, addError);
    result.orphans_found = orphans.found;
    result.orphans_deleted = orphans.deleted;
    result.has_more ||= orphans.hasMore;
    if (options.dry_run) result.sample_orphans = orphans.sample;
  }

  const finished = clock.now();
  result.duration_ms = finished.getTime() - started.getTime();
  result.timestamp = finished.toISOString();
  return result;
}

/**
 * Sweeps orphans page by page from where the last run stopped (a cursor kept in the database; a dry run reads the
 * same pages without moving it). What is an orphan is judged in SQL (export_ops_orphan_page), so objects that are
 * not exports never fill a page; the path rules, with the owner and format of the export SQL found, are checked
 * again here before anything is deleted. Reaching the end of the bucket wraps the cursor to the start and ends
 * the sweep.
 */
async function sweepOrphans(
  { db, clock, logger, env }: Deps,
  options: Pick<ExportFileCleanupOptions, "dry_run" | "orphan_pages" | "orphan_page_size">,
  { retentionHours, formats, files }: { retentionHours: number; formats: ExportFormats; files: FilesInBucket },
  timeLeft: () => boolean,
  addError: (error: CleanupError) => void,
): Promise<{ found: number; deleted: number; hasMore: boolean; sample: string[] }> {
  const bucket = env.EXPORTS_BUCKET;
  let found = 0;
  let deleted = 0;
  const sample: string[] = [];
  let from: string | undefined;
  for (let page = 0; page < options.orphan_pages; page += 1) {
    if (!timeLeft()) return { found, deleted, hasMore: true, sample };
    const step = await db.call("export_ops_orphan_page", {
      p_bucket: bucket,
      p_retention_hours: retentionHours,
      p_stuck_hours: env.EXPORT_STUCK_HOURS,
      p_scan: options.orphan_page_size,
      p_advance: !options.dry_run,
      p_from: from,
      ...sqlTime(clock),
    });
    from = step.next;
    const safe = step.orphans.filter((o) => unsafePathReason(o.name, formats, o) === null).map((o) => o.name);
    found += safe.length;
    sample.push(...safe.slice(0, DRY_RUN_SAMPLE - sample.length).map(printable));
    if (!options.dry_run && safe.length > 0) {
      try {
        deleted += (await files.remove(safe)).length;
      } catch (error) {
        addError({ reason: `orphan page ${page + 1} not deleted, found again on the sweep's next lap: ${(error as Error).message}` });
      }
    }
    logger.debug({ type: "orphan_sweep_page", page: page + 1, scanned: step.scanned, orphans: safe.length, wrapped: step.wrapped }, `orphan sweep: page ${page + 1}, ${safe.length} orphans`);
    if (step.wrapped) return { found, deleted, hasMore: false, sample };
  }
  return { found, deleted, hasMore: true, sample };
}

export const exportFileCleanup = defineJob({
  id: "export-file-cleanup",
  description: "Deletes export files past retention from Storage and marks their logs expired; sweeps orphaned files",
  schedule: "0 2 * * *",
  maxDurationSeconds: 300,
  callsAfterDeadline: 3,
  overlap: "parallel",
  optionsSchema: exportFileCleanupOptionsSchema,
  progress: (r) => r.deleted_count + r.logs_updated + r.orphans_deleted,
  run: runExportFileCleanup,
});
