/**
 * What the ops page (/ops) shows, read through the SQL API: one read function per panel (jobs, recent runs,
 * exports, alerts, cleanup), each bounded whatever the history's size. Jobs are judged as detailed health judges
 * them (staleness against the schedule), with the schedule in words and the next run from the registry.
 */
import { CronExpressionParser } from "cron-parser";
import cronstrue from "cronstrue";
import type { CheckinTarget } from "../checkins/checkins";
import { orphanSweepState, readBuckets, type BucketState, type OrphanSweepState } from "../files/buckets";
import { scheduleTimezone, type Env } from "../env";
import { publicError } from "../errors";
import type { JobDefinition } from "../jobs/job";
import { judgeJob, type JobHealth } from "../reporting/health";
import { sqlTime, type Clock, type ObjectStorage, type SqlApi } from "../ports";
import type { SqlResult } from "../sql-contract";

/** Counts that grow with a backlog stop here; the page shows "100,000+". */
export const OPS_COUNT_CAP = 100_000;
export const OPS_RECENT_RUNS = 25;
export const OPS_ALERT_TRANSITIONS = 20;

export interface OpsSettings {
  exportsBucket: string;
  /** When archival is on. */
  archiveBucket?: string;
  /** Where the archive bucket is (EXPORT_ARCHIVE_TARGET): Supabase Storage unless `s3`. */
  archiveTarget?: Env["EXPORT_ARCHIVE_TARGET"];
  orphanSweep?: Env["EXPORT_ORPHAN_SWEEP"];
  fileRetentionHours: number;
  logRetentionDays: number;
  /** Per job id, its check-in target (lib/checkins describeCheckinTargets); none shown when left out. */
  checkinTargets?: Record<string, CheckinTarget | null>;
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
  /** The job's check-in target, and its latest check-in (null: none configured). */
  checkinTarget: (CheckinTarget & { last: SqlResult<"export_ops_checkin_states">[string] | null }) | null;
}

/** The cleanup panel's slice: the figures, the buckets (judged as detailed health judges them) and the orphan sweep. */
export interface OpsCleanup {
  cleanup: SqlResult<"export_ops_page_cleanup">;
  buckets: BucketState[];
  orphanSweep: OrphanSweepState;
}

/** One panel's read: its data, or the message safe to show in its place (and the error, for the log). */
export type PanelRead<T> = { ok: true; value: T } | { ok: false; message: string; error: unknown };

export interface OpsPanels {
  generatedAt: string;
  countCap: number;
  jobs: PanelRead<OpsJob[]>;
  alerts: PanelRead<SqlResult<"export_ops_page_alerts">>;
  exports: PanelRead<SqlResult<"export_ops_page_exports">>;
  cleanup: PanelRead<OpsCleanup>;
  runs: PanelRead<SqlResult<"export_ops_page_runs">>;
}

/** Every panel's data at once (tests, the benchmark); the first failed read throws. */
export type OpsPageData = {
  generatedAt: string;
  countCap: number;
  jobs: OpsJob[];
  alerts: SqlResult<"export_ops_page_alerts">;
  exports: SqlResult<"export_ops_page_exports">;
  runs: SqlResult<"export_ops_page_runs">;
} & OpsCleanup;

export function scheduleInWords(schedule: string, tz = scheduleTimezone()): string {
  return `${cronstrue.toString(schedule, { use24HourTimeFormat: true, verbose: false })} (${tz})`;
}

function opsJob(
  job: Pick<JobDefinition, "id" | "description" | "schedule">,
  row: JobRow | undefined,
  now: Date,
  target: CheckinTarget | null | undefined,
  checkins: SqlResult<"export_ops_checkin_states">,
): OpsJob {
  return {
    id: job.id,
    description: job.description,
    schedule: job.schedule,
    scheduleInWords: scheduleInWords(job.schedule),
    nextRunAt: CronExpressionParser.parse(job.schedule, { currentDate: now, tz: scheduleTimezone() }).next().toDate().toISOString(),
    health: judgeJob(job, row, now),
    lastRunId: row?.last_run_id ?? null,
    lastTrigger: row?.last_trigger ?? null,
    hasMore: row?.has_more ?? false,
    backlog: row?.backlog ?? 0,
    running: row?.running ?? 0,
    checkinTarget: target ? { ...target, last: checkins[job.id] ?? null } : null,
  };
}

async function settle<T>(read: Promise<T>): Promise<PanelRead<T>> {
  try {
    return { ok: true, value: await read };
  } catch (error) {
    return { ok: false, message: publicError(error).body.message, error };
  }
}

/**
 * Each panel's data, read on its own: a failed read is that panel's error, never the page's. The jobs and runs
 * panels close runs past their deadline as `abandoned` first, as health and metrics do.
 */
export async function readOpsPanels(
  db: SqlApi,
  jobs: readonly Pick<JobDefinition, "id" | "description" | "schedule">[],
  settings: OpsSettings,
  clock: Clock,
  storage?: Pick<ObjectStorage, "versioning">,
): Promise<OpsPanels> {
  const at = sqlTime(clock);
  const now = clock.now();
  const closeAbandoned = () => db.call("export_ops_close_abandoned_runs", at);
  const [jobRows, alerts, exports, cleanup, runs] = await Promise.all([
    settle(
      Promise.all([
        closeAbandoned().then(() =>
          db.call("export_ops_page_jobs", {
            p_jobs: jobs.map((j) => j.id),
            p_file_retention_hours: settings.fileRetentionHours,
            p_log_retention_days: settings.logRetentionDays,
            p_cap: OPS_COUNT_CAP,
            ...at,
          }),
        ),
        db.call("export_ops_checkin_states", { p_jobs: jobs.map((j) => j.id) }),
      ]),
    ),
    settle(db.call("export_ops_page_alerts", { p_limit: OPS_ALERT_TRANSITIONS })),
    settle(db.call("export_ops_page_exports", at)),
    settle(
      Promise.all([
        db.call("export_ops_page_cleanup", {
          p_bucket: settings.exportsBucket,
          p_log_retention_days: settings.logRetentionDays,
          p_cap: OPS_COUNT_CAP,
          ...at,
        }),
        readBuckets(
          db,
          {
            EXPORTS_BUCKET: settings.exportsBucket,
            EXPORT_ARCHIVE_BUCKET: settings.archiveBucket,
            EXPORT_ARCHIVE_TARGET: settings.archiveTarget,
          },
          storage,
        ),
      ]).then(([figures, buckets]) => ({
        cleanup: figures,
        buckets,
        orphanSweep: orphanSweepState(settings.orphanSweep ?? "auto", buckets[0]!),
      })),
    ),
    settle(closeAbandoned().then(() => db.call("export_ops_page_runs", { p_limit: OPS_RECENT_RUNS }))),
  ]);
  return {
    generatedAt: now.toISOString(),
    countCap: OPS_COUNT_CAP,
    jobs: jobRows.ok
      ? {
          ok: true,
          value: jobs.map((job) => opsJob(job, jobRows.value[0][job.id], now, settings.checkinTargets?.[job.id], jobRows.value[1])),
        }
      : jobRows,
    alerts,
    exports,
    cleanup,
    runs,
  };
}

export async function loadOpsPage(...args: Parameters<typeof readOpsPanels>): Promise<OpsPageData> {
  const panels = await readOpsPanels(...args);
  const value = <T>(read: PanelRead<T>): T => {
    if (!read.ok) throw read.error;
    return read.value;
  };
  return {
    generatedAt: panels.generatedAt,
    countCap: panels.countCap,
    jobs: value(panels.jobs),
    alerts: value(panels.alerts),
    exports: value(panels.exports),
    runs: value(panels.runs),
    ...value(panels.cleanup),
  };
}

/** One run in full, for the run detail view; null when there is no such run. */
export function loadOpsRun(db: SqlApi, runId: string): Promise<SqlResult<"export_ops_page_run">> {
  return db.call("export_ops_page_run", { p_run_id: runId });
}
