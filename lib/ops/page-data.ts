/**
 * What the ops page (/ops) shows, read through the SQL API: one read function per panel (jobs, recent runs,
 * exports, alerts, cleanup), each bounded whatever the history's size. Jobs are judged as detailed health judges
 * them (staleness against the schedule), with the schedule in words and the next run from the registry.
 */
import { CronExpressionParser } from "cron-parser";
import cronstrue from "cronstrue";
import { orphanSweepState, readBuckets, type BucketState, type OrphanSweepState } from "../buckets";
import type { Env } from "../env";
import type { JobDefinition } from "../jobs/job";
import { judgeJob, type JobHealth } from "../monitoring/health";
import { sqlTime, type Clock, type SqlApi } from "../ports";
import type { SqlResult } from "../sql-api";

/** Counts that grow with a backlog stop here; the page shows "100,000+". */
export const OPS_COUNT_CAP = 100_000;
export const OPS_RECENT_RUNS = 25;
export const OPS_ALERT_TRANSITIONS = 20;

export interface OpsSettings {
  exportsBucket: string;
  /** When archival is on. */
  archiveBucket?: string;
  orphanSweep?: Env["EXPORT_ORPHAN_SWEEP"];
  fileRetentionHours: number;
  logRetentionDays: number;
}

type JobRow = SqlResult<"export_ops_page_jobs">[string];

export interface OpsJob {
  id: string;
  description: string;
  schedule: string;
  scheduleInWords: string;
  nextRunAt: string;
  health: JobHealth;
  lastRunId: string | null;
  lastTrigger: string | null;
  hasMore: boolean;
  backlog: number;
  running: number;
}

export interface OpsPageData {
  generatedAt: string;
  countCap: number;
  jobs: OpsJob[];
  runs: SqlResult<"export_ops_page_runs">;
  exports: SqlResult<"export_ops_page_exports">;
  alerts: SqlResult<"export_ops_page_alerts">;
  cleanup: SqlResult<"export_ops_page_cleanup">;
  /** The buckets the jobs use, judged as detailed health judges them, and the orphan sweep's state. */
  buckets: BucketState[];
  orphanSweep: OrphanSweepState;
}

export function scheduleInWords(schedule: string): string {
  return `${cronstrue.toString(schedule, { use24HourTimeFormat: true, verbose: false })} (UTC)`;
}

function opsJob(job: Pick<JobDefinition, "id" | "description" | "schedule">, row: JobRow | undefined, now: Date): OpsJob {
  return {
    id: job.id,
    description: job.description,
    schedule: job.schedule,
    scheduleInWords: scheduleInWords(job.schedule),
    nextRunAt: CronExpressionParser.parse(job.schedule, { currentDate: now, tz: "UTC" }).next().toDate().toISOString(),
    health: judgeJob(job, row, now),
    lastRunId: row?.last_run_id ?? null,
    lastTrigger: row?.last_trigger ?? null,
    hasMore: row?.has_more ?? false,
    backlog: row?.backlog ?? 0,
    running: row?.running ?? 0,
  };
}

/** Every panel's data. Runs past their deadline are closed as `abandoned` first, as health and metrics do. */
export async function loadOpsPage(
  db: SqlApi,
  jobs: readonly Pick<JobDefinition, "id" | "description" | "schedule">[],
  settings: OpsSettings,
  clock: Clock,
): Promise<OpsPageData> {
  const at = sqlTime(clock);
  await db.call("export_ops_close_abandoned_runs", at);
  const [jobRows, runs, exports, alerts, cleanup, buckets] = await Promise.all([
    db.call("export_ops_page_jobs", {
      p_jobs: jobs.map((j) => j.id),
      p_file_retention_hours: settings.fileRetentionHours,
      p_log_retention_days: settings.logRetentionDays,
      p_cap: OPS_COUNT_CAP,
      ...at,
    }),
    db.call("export_ops_page_runs", { p_limit: OPS_RECENT_RUNS }),
    db.call("export_ops_page_exports", at),
    db.call("export_ops_page_alerts", { p_limit: OPS_ALERT_TRANSITIONS }),
    db.call("export_ops_page_cleanup", { p_bucket: settings.exportsBucket, p_log_retention_days: settings.logRetentionDays, p_cap: OPS_COUNT_CAP, ...at }),
    readBuckets(db, { EXPORTS_BUCKET: settings.exportsBucket, EXPORT_ARCHIVE_BUCKET: settings.archiveBucket }),
  ]);
  const now = clock.now();
  return {
    generatedAt: now.toISOString(),
    countCap: OPS_COUNT_CAP,
    jobs: jobs.map((job) => opsJob(job, jobRows[job.id], now)),
    runs,
    exports,
    alerts,
    cleanup,
    buckets,
    orphanSweep: orphanSweepState(settings.orphanSweep ?? "auto", buckets[0]!),
  };
}

/** One run in full, for the run detail view; null when there is no such run. */
export function loadOpsRun(db: SqlApi, runId: string): Promise<SqlResult<"export_ops_page_run">> {
  return db.call("export_ops_page_run", { p_run_id: runId });
}
