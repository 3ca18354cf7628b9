/**
 * Prometheus exposition for /api/metrics, built with prom-client from the database on every scrape (functions are
 * ephemeral: in-memory counters would start from zero on every cold start and differ between instances).
 * Counters come from `export_ops_job_totals`, which only ever grows; gauges from the run history and the live tables.
 * Series about one job carry `cron_job` (not `job`, which Prometheus sets to the scrape job).
 */
import { Counter, Gauge, Registry } from "prom-client";
import { sqlTime, type Clock, type SqlApi } from "../ports";
import { ALERTS } from "../alerting/alert-webhook";
import type { SqlResult } from "../sql-contract";
import { judgeJob, jobRunSummaries, type JobForHealth, type JobRunSummary } from "./health";

/** export_ops_job_totals metric → exposed counter, per job (the same result field means different things per job). */
const COUNTERS: Record<string, Record<string, { name: string; help: string }>> = {
  "export-file-cleanup": {
    deleted_count: { name: "export_ops_files_deleted_total", help: "Export files deleted from Storage by the file cleanup" },
    orphans_deleted: { name: "export_ops_orphan_files_deleted_total", help: "Orphaned export files deleted by the file cleanup" },
    failed_count: {
      name: "export_ops_file_delete_failures_total",
      help: "Export files the file cleanup could not delete (retried next run)",
    },
  },
  "export-log-cleanup": {
    deleted_count: { name: "export_ops_logs_deleted_total", help: "Export logs deleted by the log cleanup" },
    archived_count: { name: "export_ops_logs_archived_total", help: "Export logs archived before deletion" },
    metrics_deleted: { name: "export_ops_metrics_pruned_total", help: "Raw export metrics pruned after their retention" },
  },
  "export-metrics-aggregate": {
    hours_rolled_up: { name: "export_ops_rollups_total", help: "Hours of export metrics rolled up" },
  },
};

export const RUN_STATUSES = ["succeeded", "partial", "failed", "abandoned", "skipped"] as const;

type MetricsSnapshot = SqlResult<"export_ops_metrics_snapshot">;
type MetricsConfig = { fileRetentionHours: number; logRetentionDays: number; stuckHours: number };
type GaugeIn = (name: string, help: string, labelNames?: string[]) => Gauge;

export async function renderMetrics(
  db: SqlApi,
  jobs: readonly JobForHealth[],
  config: MetricsConfig,
  clock: Clock,
): Promise<{ contentType: string; body: string }> {
  const started = Date.now();
  const { runs, ops } = await readScrapeData(db, jobs, config, clock);
  const at = clock.now();
  const registry = new Registry();
  const gauge: GaugeIn = (name, help, labelNames = []) => new Gauge({ name, help, labelNames, registers: [registry] });
  // prom-client writes metrics in the order they were registered: the jobs' series first, then the exports', then the backlogs'
  const jobMetrics = registerJobMetrics(registry, gauge);
  for (const job of jobs) recordJob(jobMetrics, job, runs[job.id], at);
  recordExports(gauge, ops);
  recordBacklogs(gauge, ops);
  gauge("export_ops_scrape_duration_seconds", "Time the database queries behind this scrape took").set((Date.now() - started) / 1000);

  return { contentType: registry.contentType, body: await registry.metrics() };
}

/** The run history's summary per job and the live tables' snapshot, read side by side. */
async function readScrapeData(db: SqlApi, jobs: readonly JobForHealth[], config: MetricsConfig, clock: Clock) {
  const [runs, ops] = await Promise.all([
    jobRunSummaries(db, jobs, clock),
    db.call("export_ops_metrics_snapshot", {
      p_file_retention_hours: config.fileRetentionHours,
      p_log_retention_days: config.logRetentionDays,
      p_stuck_hours: config.stuckHours,
      ...sqlTime(clock),
    }),
  ]);
  return { runs, ops };
}

type JobMetrics = ReturnType<typeof registerJobMetrics>;

/** The series every job has (labelled `cron_job`); the per-job counters of COUNTERS are registered as a job first needs them. */
function registerJobMetrics(registry: Registry, gauge: GaugeIn) {
  const jobGauge = (name: string, help: string) => gauge(name, help, ["cron_job"]);
  return {
    registry,
    lastSuccess: jobGauge(
      "export_ops_job_last_success_timestamp_seconds",
      "Unix time of the job's last real run that made progress (succeeded or partial)",
    ),
    lastDuration: jobGauge("export_ops_job_last_run_duration_seconds", "Duration of the job's last real run"),
    lastFailed: jobGauge("export_ops_job_last_run_failed", "1 when the job's last real run failed or was abandoned"),
    consecutive: jobGauge("export_ops_job_consecutive_failures", "Real runs failed or abandoned since the job's last success"),
    staleness: jobGauge(
      "export_ops_job_staleness_seconds",
      "Seconds since the job's last success, or since the install while it has never succeeded",
    ),
    maxStaleness: jobGauge(
      "export_ops_job_max_staleness_seconds",
      "Staleness beyond which the job is overdue: its schedule period plus grace",
    ),
    overdue: jobGauge(
      "export_ops_job_overdue",
      "1 when the job's last success (or the install) is older than its latest scheduled run plus grace",
    ),
    runsTotal: new Counter({
      name: "export_ops_job_runs_total",
      help: "Real job runs by outcome",
      labelNames: ["cron_job", "status"],
      registers: [registry],
    }),
    dryRuns: new Counter({
      name: "export_ops_job_dry_runs_total",
      help: "Dry runs of the job (never counted as its runs)",
      labelNames: ["cron_job"],
      registers: [registry],
    }),
    checkins: new Counter({
      name: "export_ops_checkins_total",
      help: "Check-ins sent to the job's check-in target, by whether they were delivered",
      labelNames: ["cron_job", "outcome"],
      registers: [registry],
    }),
    counters: new Map<string, Counter>(),
  };
}

/** One job's series: its health as judged now, its runs' totals, and its own counters. */
function recordJob(m: JobMetrics, job: JobForHealth, run: JobRunSummary | undefined, at: Date) {
  const health = judgeJob(job, run, at);
  const labels = { cron_job: job.id };
  m.maxStaleness.set(labels, health.max_staleness_seconds);
  m.overdue.set(labels, health.status === "overdue" ? 1 : 0);
  m.lastFailed.set(labels, run?.last_status === "failed" || run?.last_status === "abandoned" ? 1 : 0);
  m.consecutive.set(labels, health.consecutive_failures);
  if (health.last_success_at) m.lastSuccess.set(labels, Date.parse(health.last_success_at) / 1000);
  if (health.staleness_seconds !== null) m.staleness.set(labels, health.staleness_seconds);
  if (run?.last_duration_ms != null) m.lastDuration.set(labels, run.last_duration_ms / 1000);
  for (const status of RUN_STATUSES) m.runsTotal.inc({ cron_job: job.id, status }, run?.totals[`runs_${status}`] ?? 0);
  m.dryRuns.inc(labels, run?.totals.dry_runs ?? 0);
  m.checkins.inc({ cron_job: job.id, outcome: "delivered" }, run?.totals.checkins_sent ?? 0);
  m.checkins.inc({ cron_job: job.id, outcome: "failed" }, run?.totals.checkins_failed ?? 0);
  for (const [metric, spec] of Object.entries(COUNTERS[job.id] ?? {})) {
    const counter =
      m.counters.get(spec.name) ?? new Counter({ name: spec.name, help: spec.help, labelNames: ["cron_job"], registers: [m.registry] });
    m.counters.set(spec.name, counter);
    counter.inc(labels, run?.totals[metric] ?? 0);
  }
}

/** The last hour's exports by format and status, their durations, and the failure rate over them. */
function recordExports(gauge: GaugeIn, ops: MetricsSnapshot) {
  const exports = gauge("export_ops_exports_last_hour", "Exports recorded in the last hour, by format and status", ["format", "status"]);
  let total = 0;
  let failed = 0;
  for (const e of ops.exports_last_hour) {
    exports.set({ format: e.format, status: e.status }, e.count);
    total += e.count;
    if (e.status === "failed") failed += e.count;
  }
  const p50 = gauge("export_ops_export_duration_p50_seconds", "Median duration of completed exports in the last hour, by format", [
    "format",
  ]);
  const p95 = gauge("export_ops_export_duration_p95_seconds", "95th percentile duration of completed exports in the last hour, by format", [
    "format",
  ]);
  for (const d of ops.durations_last_hour) {
    p50.set({ format: d.format }, d.p50_ms / 1000);
    p95.set({ format: d.format }, d.p95_ms / 1000);
  }
  gauge("export_ops_export_failure_rate_last_hour", "Failed / all exports in the last hour (0 when there were none)").set(
    total ? failed / total : 0,
  );
}

/** The in-app alerts, the last export, and what the jobs have yet to do: stuck exports, the cleanups' and the rollup's backlogs. */
function recordBacklogs(gauge: GaugeIn, ops: MetricsSnapshot) {
  const firing = gauge("export_ops_alert_firing", "1 while the in-app alert is firing", ["alert"]);
  for (const alert of ALERTS) firing.set({ alert }, ops.alerts[alert] ? 1 : 0);
  if (ops.last_export_at)
    gauge("export_ops_last_export_timestamp_seconds", "Unix time of the last export metric recorded").set(
      Date.parse(ops.last_export_at) / 1000,
    );
  gauge("export_ops_exports_stuck", "Exports queued or processing for longer than EXPORT_STUCK_HOURS").set(ops.exports_stuck);
  gauge("export_ops_file_cleanup_backlog", "Completed exports past retention whose files are not deleted yet").set(
    ops.file_cleanup_backlog,
  );
  gauge("export_ops_file_cleanup_failing", "Completed exports whose file deletion has failed at least once (retried, not quarantined)").set(
    ops.file_cleanup_failing,
  );
  gauge(
    "export_ops_file_cleanup_quarantined",
    "Exports the file cleanup quarantined (unsafe path, or Storage failing every attempt): an operator must look",
  ).set(ops.file_cleanup_quarantined);
  gauge("export_ops_log_cleanup_backlog", "Export logs past retention not deleted yet").set(ops.log_cleanup_backlog);
  gauge("export_ops_log_cleanup_backlog_age_seconds", "How long the oldest removable log has been past its retention (0 when none)").set(
    ops.log_cleanup_backlog_age_seconds,
  );
  gauge("export_ops_rollup_backlog", "Completed hours of export metrics not rolled up yet").set(ops.rollup_hours_pending);
}
