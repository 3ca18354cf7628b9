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
import { assertBucketsUsable, orphanSweepState, type OrphanSweepState, type VersionedBucketState } from "../files/buckets";
import { filesInBucket, type FilesInBucket } from "../files/versions";
import { MAX_NAMES_PER_DELETE, sqlTime, type BucketVersioning, type JobDeps } from "../ports";
import { unsafePathReason, type ExportFormats } from "../files/export-paths";
import { deleteExpiredFiles, type ClaimTotals } from "./file-cleanup-claims";
import { baseOptionsSchema, defineJob, queryBoolean, queryInt, settingOption } from "./job";
import { idleLoad, pacerFor, pacingOptions, type LoadReport } from "./pacing";

/**
 * Names per batch (the default of `batch_size`), each batch one claim and one Storage delete. Chosen in the bench's
 * host-impact phase (BENCHMARKS.md): batches of 1,000 names, each a burst of work for Postgres and Storage, took the
 * host's p99 to 4–7× its idle p99; batches of 200 kept it near 2× at about the same rate. Up to MAX_NAMES_PER_DELETE.
 */
export const BATCH_SIZE = 200;
/** Batches in flight at once (the default of `concurrency`): bounds the Storage and PostgREST requests a run makes concurrently. */
export const CONCURRENCY = 4;
/** Orphan-sweep pages per run, and objects looked at per page (the defaults of the options below). */
export const ORPHAN_MAX_PAGES = 20;
export const ORPHAN_PAGE_SIZE = 1000;
/** Errors listed in the result; the counts always cover all of them. */
export const MAX_ERRORS_REPORTED = 50;
const DRY_RUN_SAMPLE = 20;

export const exportFileCleanupOptionsSchema = baseOptionsSchema.extend({
  retention_hours: settingOption("EXPORT_FILE_RETENTION_HOURS"),
  // a batch is one Storage delete, which takes at most MAX_NAMES_PER_DELETE names
  batch_size: queryInt(1, MAX_NAMES_PER_DELETE).default(BATCH_SIZE),
  concurrency: queryInt(1, 8).default(CONCURRENCY),
  ...pacingOptions,
  sweep_orphans: queryBoolean.default(true),
  orphan_pages: queryInt(1, 100).default(ORPHAN_MAX_PAGES),
  orphan_page_size: queryInt(10, ORPHAN_PAGE_SIZE).default(ORPHAN_PAGE_SIZE),
});
export type ExportFileCleanupOptions = z.output<typeof exportFileCleanupOptionsSchema>;

export interface CleanupError {
  export_id?: string;
  path?: string;
  reason: string;
}

export interface ExportFileCleanupResult extends ClaimTotals {
  [key: string]: unknown;
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
  /** Time spent resting between batches (`nice_ratio`, and load), within duration_ms. */
  rested_ms: number;
  /** The load governor: what it saw, and why it stopped the run if it did. */
  load: LoadReport;
  duration_ms: number;
  timestamp: string;
}

type Deps = Pick<JobDeps, "db" | "storage" | "clock" | "logger" | "deadline" | "runId" | "env">;

/** Paths are user data; keep what goes into results and logs short and printable. */
const printable = (path: string | null) => (path ?? "").replace(/[\u0000-\u001f\u007f]/g, "?").slice(0, 200);

export async function runExportFileCleanup(deps: Deps, options: ExportFileCleanupOptions): Promise<ExportFileCleanupResult> {
  const { db, storage, clock, env } = deps;
  const started = clock.now();
  const retentionHours = options.retention_hours ?? env.EXPORT_FILE_RETENTION_HOURS;
  const pacer = pacerFor(options, deps);
  // a run stopped for load takes no new work either (the orphan sweep included)
  const timeLeft = () => !pacer.stoppedForLoad() && clock.now().getTime() < deps.deadline;
  const [[exportsBucket], formats] = await Promise.all([assertBucketsUsable(db, storage, env, ["exports"]), db.call("export_ops_formats")]);
  const files = filesInBucket(storage, exportsBucket!);
  const result = emptyResult(options, retentionHours, exportsBucket!, env.EXPORT_ORPHAN_SWEEP);
  const addError = (error: CleanupError) => {
    result.errors_total += 1;
    if (result.errors.length < MAX_ERRORS_REPORTED) result.errors.push(error);
  };

  if (options.dry_run) await preview(deps, result, formats, addError);
  else {
    const loop = {
      deps,
      files,
      formats,
      retentionHours,
      batchSize: options.batch_size,
      concurrency: options.concurrency,
      pacer,
      totals: result,
      addError,
      printable,
    };
    result.has_more = (await deleteExpiredFiles(loop)).hasMore;
    result.rested_ms = pacer.rested();
    result.load = pacer.load();
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

function emptyResult(
  options: ExportFileCleanupOptions,
  retentionHours: number,
  exportsBucket: VersionedBucketState,
  sweepSetting: Deps["env"]["EXPORT_ORPHAN_SWEEP"],
): ExportFileCleanupResult {
  return {
    total_found: 0,
    deleted_count: 0,
    failed_count: 0,
    logs_updated: 0,
    kept_in_use: 0,
    quarantined_count: 0,
    orphan_sweep: options.sweep_orphans ? orphanSweepState(sweepSetting, exportsBucket) : { enabled: false, reason: "sweep_orphans=false" },
    bucket_versioning: exportsBucket.versioning,
    orphans_found: 0,
    orphans_deleted: 0,
    errors: [],
    errors_total: 0,
    retention_hours: retentionHours,
    has_more: false,
    dry_run: options.dry_run,
    rested_ms: 0,
    load: idleLoad(),
    duration_ms: 0,
    timestamp: "",
  };
}

/** A dry run: what the run would take, counted in SQL, and a sample of paths (unsafe ones flagged). */
async function preview(
  { db, clock }: Deps,
  result: ExportFileCleanupResult,
  formats: ExportFormats,
  addError: (error: CleanupError) => void,
): Promise<void> {
  const found = await db.call("export_ops_file_cleanup_preview", {
    p_retention_hours: result.retention_hours,
    p_sample_size: DRY_RUN_SAMPLE,
    ...sqlTime(clock),
  });
  result.total_found = found.total;
  result.kept_in_use = found.kept_in_use;
  result.sample_paths = found.sample.map((row) => printable(row.file_path));
  for (const row of found.sample) {
    const reason = unsafePathReason(row.file_path, formats, row);
    if (reason) addError({ export_id: row.export_id, path: printable(row.file_path), reason: `would skip: ${reason}` });
  }
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
    logger.debug(
      { type: "orphan_sweep_page", page: page + 1, scanned: step.scanned, orphans: safe.length, wrapped: step.wrapped },
      `orphan sweep: page ${page + 1}, ${safe.length} orphans`,
    );
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
