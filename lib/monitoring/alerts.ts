/**
 * The in-app alerts' judgements, over the SQL API port only (the hourly job and ExportMetricsService both use
 * them): the failure rate over a window, and whether exports stopped arriving.
 */
import { sqlTime, type Clock, type SqlApi } from "../ports";
import type { AlertPayload } from "./alert-webhook";

export interface MetricsConfig {
  /** Failure rate (fraction) above which the alert fires. */
  threshold: number;
  /** Fewest exports in the window before the rate is judged. */
  minSample: number;
}

export interface FailureAlertPayload extends AlertPayload {
  type: "export_failure_alert";
  severity: "info" | "high" | "critical";
  alert: boolean;
  /** false when there were fewer exports than the minimum sample: nothing is judged. */
  judged: boolean;
  message: string;
  failure_rate: number;
  failed_count: number;
  total_count: number;
  threshold: number;
  min_sample: number;
  window_start: string;
  window_end: string;
}

export interface SilencePayload extends AlertPayload {
  type: "exports_stopped_alert";
  /** Exports recorded in the window. */
  recent: number;
  /** Of the previous 7 days, how many had exports in the same hours. */
  busy_days: number;
  last_export_at: string | null;
  hours: number;
}

/** The exports-stopped alert is judged only where the same hours had exports on this many of the previous 7 days. */
export const SILENCE_BUSY_DAYS = 5;

const pct = (rate: number) => `${(rate * 100).toFixed(2)}%`;

/**
 * Judges the failure rate over the last `minutes` by the database clock, or — with `sinceLastEvaluationOf` —
 * over everything since that alert was last evaluated when that is longer ago (a daily schedule), so no period
 * goes unjudged. `now` is for tests only: the database's clock is used otherwise.
 */
export async function judgeFailureRate(
  db: SqlApi,
  config: MetricsConfig,
  window: { minutes?: number; sinceLastEvaluationOf?: string; now?: Date } = {},
): Promise<FailureAlertPayload> {
  const counts = await db.call("export_ops_failure_counts", {
    p_minutes: window.minutes ?? 60,
    p_alert: window.sinceLastEvaluationOf ?? null,
    ...(window.now ? { p_now: window.now.toISOString() } : {}),
  });
  const { threshold, minSample } = config;
  const rate = counts.total > 0 ? counts.failed / counts.total : 0;
  const judged = counts.total >= minSample;
  const alert = judged && rate > threshold;
  const message = !judged
    ? `Too few exports to judge the failure rate (${counts.total} < ${minSample})`
    : alert
      ? `Export failure rate (${pct(rate)}) exceeds threshold (${pct(threshold)})`
      : `Export failure rate (${pct(rate)}) is within threshold (${pct(threshold)})`;
  return {
    type: "export_failure_alert",
    severity: !alert ? "info" : rate >= Math.min(1, threshold * 2) ? "critical" : "high",
    alert,
    judged,
    message,
    figures: `${counts.failed} of ${counts.total} exports failed`,
    failure_rate: Number(rate.toFixed(4)),
    failed_count: counts.failed,
    total_count: counts.total,
    threshold,
    min_sample: minSample,
    window_start: new Date(counts.window_start).toISOString(),
    window_end: new Date(counts.window_end).toISOString(),
  };
}

/** "No exports recorded for N hours", judged only where the same hours are usually busy. */
export async function judgeSilence(db: SqlApi, hours: number, clock: Clock): Promise<SilencePayload> {
  const s = await db.call(
    "export_ops_export_silence",
    { p_hours: hours, ...sqlTime(clock) },
  );
  const judged = s.busy_days >= SILENCE_BUSY_DAYS;
  const alert = judged && s.recent === 0;
  return {
    type: "exports_stopped_alert",
    severity: alert ? "high" : "info",
    alert,
    judged,
    message: alert
      ? `No exports recorded for ${hours} hours`
      : judged
        ? `Exports are being recorded (${s.recent} in the last ${hours} hours)`
        : `Not judged: the same hours had exports on ${s.busy_days} of the previous 7 days (fewer than ${SILENCE_BUSY_DAYS})`,
    figures: `${s.recent} exports in ${hours} hours; the same hours had exports on ${s.busy_days} of the previous 7 days`,
    recent: s.recent,
    busy_days: s.busy_days,
    last_export_at: s.last_export_at,
    hours,
    window_start: new Date(s.window_start).toISOString(),
    window_end: new Date(s.window_end).toISOString(),
  };
}
