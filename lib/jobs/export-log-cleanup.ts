/**
 * Monthly export-log cleanup: deletes export logs past retention whose files are gone (expired, failed, or never
 * given one) in many short batches, archiving each batch first when EXPORT_ARCHIVE_BUCKET is set; then prunes
 * raw export metrics past their own retention, in hours already rolled up (the rollups stay), and run history
 * older than 90 days.
 */
import * as z from "zod";
import { archiveBucketOf, assertBucketsUsable } from "../files/buckets";
import type { BucketVersioning, JobDeps, SqlApi } from "../ports";
import type { SqlResult } from "../sql-contract";
import { baseOptionsSchema, defineJob, queryBoolean, queryInt, settingOption } from "./job";
import { ARCHIVE_CONCURRENCY, ARCHIVE_IN_FLIGHT, deleteLogsInBatches } from "../archive/log-archive";
import { deleteMetricsInBatches } from "../batches/metrics";
import { idleLoad, pacerFor, pacingOptions, type LoadReport } from "./pacing";

/** Raw metric rows deleted per SQL call (lib/batches/metrics.ts; the erasure still takes it from here). */
/** Run history kept (each job's latest success is always kept). */
export const RUN_HISTORY_DAYS = 90;
const DAY_MS = 86_400_000;

export const exportLogCleanupOptionsSchema = baseOptionsSchema.extend({
  retention_days: settingOption("EXPORT_LOG_RETENTION_DAYS"),
  metrics_retention_days: settingOption("EXPORT_METRICS_RETENTION_DAYS"),
  /** Default: 5,000 rows per archive object with archival, 20,000 per delete statement without. */
  batch_size: queryInt(1, 20_000).optional(),
  prune_metrics: queryBoolean.default(true),
  /** With archival: batches in flight at once, the one being written included (1 = one stage at a time). */
  concurrency: queryInt(1, ARCHIVE_IN_FLIGHT).default(ARCHIVE_CONCURRENCY),
  ...pacingOptions,
});

export interface ExportLogCleanupResult {
  [key: string]: unknown;
  total_eligible: number;
  kept_with_files: number;
  archived_count: number;
  deleted_count: number;
  metrics_deleted: number;
  runs_pruned: number;
  archive_objects: string[];
  /** The archive bucket's versioning (null without archival): erasure deletes the old versions it rewrites there. */
  archive_bucket_versioning: BucketVersioning | null;
  errors: string[];
  stats?: LogCleanupStats;
  has_more: boolean;
  dry_run: boolean;
  /** Time spent resting between batches (`nice_ratio`, and load), within duration_ms. */
  rested_ms: number;
  /** The load governor: what it saw, and why it stopped the run if it did. */
  load: LoadReport;
  duration_ms: number;
  timestamp: string;
}

export type LogCleanupStats = SqlResult<"export_ops_log_cleanup_stats">;

/**
 * What the monthly log cleanup would delete now, without deleting: counts, oldest and newest, and size in bytes
 * (from Postgres) of the export logs and raw metrics past their retention.
 */
export function logCleanupStats(
  db: SqlApi,
  retention: { logDays: number; metricDays: number },
  now = new Date(),
): Promise<LogCleanupStats> {
  return db.call("export_ops_log_cleanup_stats", {
    p_log_cutoff: new Date(now.getTime() - retention.logDays * DAY_MS).toISOString(),
    p_metric_cutoff: new Date(now.getTime() - retention.metricDays * DAY_MS).toISOString(),
  });
}

type Deps = Pick<JobDeps, "db" | "storage" | "clock" | "logger" | "deadline" | "env">;

export async function runExportLogCleanup(
  deps: Deps,
  options: z.output<typeof exportLogCleanupOptionsSchema>,
): Promise<ExportLogCleanupResult> {
  const { db, storage, clock, env } = deps;
  const started = clock.now();
  const retention = {
    logDays: options.retention_days ?? env.EXPORT_LOG_RETENTION_DAYS,
    metricDays: options.metrics_retention_days ?? env.EXPORT_METRICS_RETENTION_DAYS,
  };
  // archive objects are never written to a public bucket (nor, then, the logs deleted without them)
  const [archiveBucket] = env.EXPORT_ARCHIVE_BUCKET ? await assertBucketsUsable(db, storage, env, ["archive"]) : [];
  // A dry run reports the full statistics (sizes, age range); a real run needs only two counts of them.
  const stats = options.dry_run ? await logCleanupStats(db, retention, started) : undefined;
  const counts =
    stats ??
    (await db.call("export_ops_log_cleanup_counts", {
      p_log_cutoff: new Date(started.getTime() - retention.logDays * DAY_MS).toISOString(),
    }));
  const logCutoff = new Date(counts.log_cutoff);
  const metricCutoff = new Date(started.getTime() - retention.metricDays * DAY_MS);
  const result: ExportLogCleanupResult = {
    total_eligible: counts.logs_eligible,
    kept_with_files: counts.logs_kept_with_files,
    archived_count: 0,
    deleted_count: 0,
    metrics_deleted: 0,
    runs_pruned: 0,
    archive_objects: [],
    archive_bucket_versioning: archiveBucket?.versioning ?? null,
    errors: [],
    has_more: false,
    dry_run: options.dry_run,
    rested_ms: 0,
    load: idleLoad(),
    duration_ms: 0,
    timestamp: "",
  };

  if (stats) result.stats = stats;
  else {
    const pacer = pacerFor(options, deps);
    const logs = await deleteLogsInBatches(
      deps,
      { cutoff: logCutoff },
      { batchSize: options.batch_size, archiveBucket: archiveBucketOf(env), pacer, inFlight: options.concurrency },
    );
    result.deleted_count = logs.deleted;
    result.archived_count = logs.archived;
    result.archive_objects = logs.archiveObjects;
    result.errors = logs.errors;
    result.has_more = !logs.finished;
    if (logs.finished && options.prune_metrics) {
      const metrics = await deleteMetricsInBatches(deps, { cutoff: metricCutoff }, { pacer });
      result.metrics_deleted = metrics.deleted;
      result.has_more = !metrics.finished;
    }
    result.rested_ms = pacer.rested();
    result.load = pacer.load();
    result.runs_pruned = await db.call("export_ops_prune_runs", {
      p_cutoff: new Date(started.getTime() - RUN_HISTORY_DAYS * DAY_MS).toISOString(),
    });
  }

  const finished = clock.now();
  result.duration_ms = finished.getTime() - started.getTime();
  result.timestamp = finished.toISOString();
  return result;
}

export const exportLogCleanup = defineJob({
  id: "export-log-cleanup",
  description: "Deletes export logs past retention (archiving them first when an archive bucket is set) and prunes old raw metrics",
  schedule: "0 3 1 * *",
  maxDurationSeconds: 300,
  callsAfterDeadline: 4,
  overlap: "skip",
  optionsSchema: exportLogCleanupOptionsSchema,
  progress: (r) => r.deleted_count + r.archived_count + r.metrics_deleted,
  run: runExportLogCleanup,
});
