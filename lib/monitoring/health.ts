/**
 * Detailed health from the run history: database reachable (with latency) and, per job, its last success, last
 * status, and whether it is overdue against its schedule (read from the job registry with cron-parser) plus a
 * grace period. `unhealthy` (HTTP 503) when the database is unreachable or a job is overdue; `degraded` when a
 * job's last run failed, a job has never succeeded, or the failure alert is firing.
 */
import { CronExpressionParser } from "cron-parser";
import type { JobDefinition } from "../jobs/job";
import type { SqlApi } from "../ports";

export interface JobRunSummary {
  last_status: string | null;
  last_started_at: string | null;
  last_finished_at: string | null;
  last_duration_ms: number | null;
  last_error: { code: string; message: string } | null;
  last_success_at: string | null;
  running: number;
  totals: Record<string, number>;
}

export interface JobHealth {
  job: string;
  schedule: string;
  status: "ok" | "failing" | "never_succeeded" | "overdue";
  last_success_at: string | null;
  last_status: string | null;
  last_started_at: string | null;
  last_duration_ms: number | null;
  /** The latest scheduled run that should have succeeded by now (schedule time + grace has passed). */
  expected_since: string;
  staleness_seconds: number | null;
  /** How stale the job may get: one schedule period plus the grace. */
  max_staleness_seconds: number;
}

export type JobForHealth = Pick<JobDefinition, "id" | "schedule" | "graceMinutes">;

/** The scheduled time before `now - grace`, and the longest gap between runs of the schedule (plus grace). */
export function scheduleWindow(job: JobForHealth, now: Date): { expectedSince: Date; maxStalenessSeconds: number } {
  const graceMs = job.graceMinutes * 60_000;
  const prev = CronExpressionParser.parse(job.schedule, { currentDate: new Date(now.getTime() - graceMs), tz: "UTC" });
  const expectedSince = prev.prev().toDate();
  const before = prev.prev().toDate();
  return { expectedSince, maxStalenessSeconds: Math.round((expectedSince.getTime() - before.getTime() + graceMs) / 1000) };
}

export function judgeJob(job: JobForHealth, run: JobRunSummary | undefined, now: Date): JobHealth {
  const { expectedSince, maxStalenessSeconds } = scheduleWindow(job, now);
  const lastSuccess = run?.last_success_at ? new Date(run.last_success_at) : null;
  const status: JobHealth["status"] = !lastSuccess
    ? "never_succeeded"
    : lastSuccess < expectedSince
      ? "overdue"
      : run?.last_status === "failed"
        ? "failing"
        : "ok";
  return {
    job: job.id,
    schedule: job.schedule,
    status,
    last_success_at: lastSuccess?.toISOString() ?? null,
    last_status: run?.last_status ?? null,
    last_started_at: run?.last_started_at ?? null,
    last_duration_ms: run?.last_duration_ms ?? null,
    expected_since: expectedSince.toISOString(),
    staleness_seconds: lastSuccess ? Math.round((now.getTime() - lastSuccess.getTime()) / 1000) : null,
    max_staleness_seconds: maxStalenessSeconds,
  };
}

export function jobRunSummaries(db: SqlApi, jobs: readonly JobForHealth[]): Promise<Record<string, JobRunSummary>> {
  return db.call<Record<string, JobRunSummary>>("export_ops_run_summary", { p_jobs: jobs.map((j) => j.id) });
}

export interface HealthReport {
  status: "healthy" | "degraded" | "unhealthy";
  timestamp: string;
  database: { reachable: boolean; latency_ms: number | null; error?: string };
  alert_firing: boolean | null;
  jobs: JobHealth[];
}

export async function detailedHealth(db: SqlApi, jobs: readonly JobForHealth[], now: () => Date): Promise<HealthReport> {
  const started = Date.now();
  let database: HealthReport["database"];
  try {
    await db.call("export_ops_ping");
    database = { reachable: true, latency_ms: Date.now() - started };
  } catch (error) {
    database = { reachable: false, latency_ms: null, error: (error as Error).message };
    return { status: "unhealthy", timestamp: now().toISOString(), database, alert_firing: null, jobs: [] };
  }
  const [runs, alert] = await Promise.all([
    jobRunSummaries(db, jobs),
    db.call<{ state: string } | null>("export_ops_alert_status", { p_alert: "export_failure_rate" }),
  ]);
  const at = now();
  const judged = jobs.map((job) => judgeJob(job, runs[job.id], at));
  const alertFiring = alert?.state === "firing";
  const status = judged.some((j) => j.status === "overdue")
    ? "unhealthy"
    : alertFiring || judged.some((j) => j.status !== "ok")
      ? "degraded"
      : "healthy";
  return { status, timestamp: at.toISOString(), database, alert_firing: alertFiring, jobs: judged };
}
