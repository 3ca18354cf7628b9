/**
 * Detailed health from the run history: database reachable (with latency) and, per job, its last real run, last
 * success, consecutive failures, and whether it is overdue against its schedule (read from the job registry with
 * cron-parser) plus a grace period derived from the schedule. A job that has never succeeded counts its
 * staleness from the install, so a cron that never fires turns overdue like one that stopped. The buckets the
 * jobs use, and whether the orphan sweep is on and why. `unhealthy` (HTTP 503) when the database is unreachable,
 * a job is overdue, or a bucket is public or missing (the jobs refuse to use it); `degraded` when a job's last real run failed or was
 * abandoned, an alert is firing, exports are stuck in progress, the file cleanup quarantined exports, or a job's
 * latest check-in did not reach its check-in target.
 */
import { CronExpressionParser } from "cron-parser";
import { orphanSweepState, readBuckets, type BucketState, type OrphanSweepState } from "../files/buckets";
import type { CheckinTarget } from "../checkins/checkins";
import type { Env } from "../env";
import type { JobDefinition } from "../jobs/job";
import { scheduleTimezone } from "../env";
import { graceMinutesFor } from "../jobs/schedule";
import { sqlTime, type Clock, type ObjectStorage, type SqlApi } from "../ports";
import type { SqlResult } from "../sql-contract";

/**
 * One job's run history (export_ops_run_summary): its latest finished real run, latest success (`succeeded` or
 * `partial`), real runs failed or abandoned since, and the install time staleness counts from until then.
 */
export type JobRunSummary = SqlResult<"export_ops_run_summary">[string];
export type RunStatus = NonNullable<JobRunSummary["last_status"]>;

export interface JobHealth {
  job: string;
  schedule: string;
  status: "ok" | "failing" | "awaiting_first_run" | "overdue";
  last_success_at: string | null;
  last_status: RunStatus | null;
  last_started_at: string | null;
  last_duration_ms: number | null;
  last_error: { code: string; message: string } | null;
  consecutive_failures: number;
  /** The latest scheduled run that should have succeeded by now (schedule time + grace has passed). */
  expected_since: string;
  /** Seconds since the last success, or since the install while there was none. */
  staleness_seconds: number | null;
  /** How stale the job may get: one schedule period plus the grace. */
  max_staleness_seconds: number;
  grace_minutes: number;
}

export type JobForHealth = Pick<JobDefinition, "id" | "schedule">;

const MINUTE = 60_000;

/** The scheduled time before `now - grace`, and the longest gap between runs of the schedule (plus grace). */
export function scheduleWindow(
  job: JobForHealth,
  now: Date,
  tz = scheduleTimezone(),
): { expectedSince: Date; maxStalenessSeconds: number; graceMinutes: number } {
  const graceMinutes = graceMinutesFor(job.schedule, now, tz);
  const graceMs = graceMinutes * MINUTE;
  const prev = CronExpressionParser.parse(job.schedule, { currentDate: new Date(now.getTime() - graceMs), tz });
  const expectedSince = prev.prev().toDate();
  const before = prev.prev().toDate();
  return { expectedSince, maxStalenessSeconds: Math.round((expectedSince.getTime() - before.getTime() + graceMs) / 1000), graceMinutes };
}

export function judgeJob(job: JobForHealth, run: JobRunSummary | undefined, now: Date): JobHealth {
  const { expectedSince, maxStalenessSeconds, graceMinutes } = scheduleWindow(job, now);
  const lastSuccess = run?.last_success_at ? new Date(run.last_success_at) : null;
  const since = lastSuccess ?? (run?.installed_at ? new Date(run.installed_at) : null);
  const failing = run?.last_status === "failed" || run?.last_status === "abandoned";
  const status: JobHealth["status"] =
    since && since < expectedSince ? "overdue" : failing ? "failing" : lastSuccess ? "ok" : "awaiting_first_run";
  return {
    job: job.id,
    schedule: job.schedule,
    status,
    last_success_at: lastSuccess?.toISOString() ?? null,
    last_status: run?.last_status ?? null,
    last_started_at: run?.last_started_at ?? null,
    last_duration_ms: run?.last_duration_ms ?? null,
    last_error: run?.last_error ?? null,
    consecutive_failures: run?.consecutive_failures ?? 0,
    expected_since: expectedSince.toISOString(),
    staleness_seconds: since ? Math.max(0, Math.round((now.getTime() - since.getTime()) / 1000)) : null,
    max_staleness_seconds: maxStalenessSeconds,
    grace_minutes: graceMinutes,
  };
}

/**
 * The run history per job, after closing runs that outlived their deadline as `abandoned` (a read of health or
 * metrics is one of the places a killed run is noticed).
 */
export async function jobRunSummaries(db: SqlApi, jobs: readonly JobForHealth[], clock: Clock): Promise<Record<string, JobRunSummary>> {
  await db.call("export_ops_close_abandoned_runs", sqlTime(clock));
  return db.call("export_ops_run_summary", { p_jobs: jobs.map((j) => j.id) });
}

export type AlertStates = SqlResult<"export_ops_alert_status">;

export interface HealthReport {
  status: "healthy" | "degraded" | "unhealthy";
  timestamp: string;
  database: { reachable: boolean; latency_ms: number | null; error?: string };
  alerts: AlertStates | null;
  exports_stuck: number | null;
  /** Exports the file cleanup quarantined: an operator must look (`npm run job -- export-file-cleanup --quarantined`). */
  file_cleanup_quarantined: number | null;
  /** The exports bucket (with whether the orphan sweep runs there, and why) and the archive bucket when set. */
  buckets: (BucketState & { orphan_sweep?: OrphanSweepState })[] | null;
  jobs: JobHealth[];
  /**
   * Per job, its check-in target (docs/MONITORING.md), and its latest check-in; `target` is null when none is
   * configured. A latest check-in that was not delivered makes health `degraded`.
   */
  checkins: JobCheckins[] | null;
}

export interface JobCheckins {
  job: string;
  target: CheckinTarget | null;
  last_checkin: SqlResult<"export_ops_checkin_states">[string] | null;
}

export interface HealthConfig {
  stuckHours: number;
  /** Per job id, its check-in target (lib/checkins describeCheckinTargets). */
  checkinTargets?: Record<string, CheckinTarget | null>;
  env: Pick<Env, "EXPORTS_BUCKET" | "EXPORT_ARCHIVE_BUCKET" | "EXPORT_ORPHAN_SWEEP"> & Partial<Pick<Env, "EXPORT_ARCHIVE_TARGET">>;
  /** Storage, to read each bucket's versioning; not read when left out. */
  storage?: Pick<ObjectStorage, "versioning" | "probe">;
}

export async function detailedHealth(db: SqlApi, jobs: readonly JobForHealth[], clock: Clock, config: HealthConfig): Promise<HealthReport> {
  const started = Date.now();
  let database: HealthReport["database"];
  try {
    await db.call("export_ops_ping");
    database = { reachable: true, latency_ms: Date.now() - started };
  } catch (error) {
    database = { reachable: false, latency_ms: null, error: (error as Error).message };
    return {
      status: "unhealthy",
      timestamp: clock.now().toISOString(),
      database,
      alerts: null,
      exports_stuck: null,
      file_cleanup_quarantined: null,
      buckets: null,
      jobs: [],
      checkins: null,
    };
  }
  const [runs, alerts, stuck, quarantined, bucketStates, lastCheckins] = await Promise.all([
    jobRunSummaries(db, jobs, clock),
    db.call("export_ops_alert_status"),
    db.call("export_ops_exports_stuck", { p_hours: config.stuckHours, ...sqlTime(clock) }),
    db.call("export_ops_quarantined_count"),
    readBuckets(db, config.env, config.storage),
    db.call("export_ops_checkin_states", { p_jobs: jobs.map((j) => j.id) }),
  ]);
  const checkins = jobs.map((job) => ({
    job: job.id,
    target: config.checkinTargets?.[job.id] ?? null,
    last_checkin: lastCheckins[job.id] ?? null,
  }));
  const undelivered = checkins.some((c) => c.target && c.last_checkin && !c.last_checkin.delivered);
  const buckets = bucketStates.map((b) =>
    b.purpose === "exports" ? { ...b, orphan_sweep: orphanSweepState(config.env.EXPORT_ORPHAN_SWEEP, b) } : b,
  );
  const at = clock.now();
  const judged = jobs.map((job) => judgeJob(job, runs[job.id], at));
  const firing = Object.values(alerts).some((a) => a.state === "firing");
  const status =
    judged.some((j) => j.status === "overdue") || buckets.some((b) => b.problem)
      ? "unhealthy"
      : firing || stuck > 0 || quarantined > 0 || undelivered || judged.some((j) => j.status === "failing")
        ? "degraded"
        : "healthy";
  return {
    status,
    timestamp: at.toISOString(),
    database,
    alerts,
    exports_stuck: stuck,
    file_cleanup_quarantined: quarantined,
    buckets,
    jobs: judged,
    checkins,
  };
}
