/**
 * The failure-rate judgement: the one the hourly aggregation makes before it fires or resolves the alert, and the
 * one a host app or an operator's check asks for (ExportMetricsService.checkFailureRate).
 */
import type { AlertPayload } from "../alert-payload";
import type { SqlApi } from "../ports";

export interface FailureRateConfig {
  /** Failure rate (fraction) above which the alert fires. */
  threshold: number;
  /** Fewest exports in the window before the rate is judged. */
  minSample: number;
}

/** The `export_failure_alert` payload: an alert's payload (what every alert carries) with the failure rate's figures. */
export interface FailureAlertPayload extends AlertPayload {
  type: "export_failure_alert";
  failure_rate: number;
  failed_count: number;
  total_count: number;
  threshold: number;
  min_sample: number;
}

const pct = (rate: number) => `${(rate * 100).toFixed(2)}%`;

/**
 * Judges the failure rate over the last `minutes` by the database clock, or — with `sinceLastEvaluationOf` —
 * over everything since that alert was last evaluated when that is longer ago (a daily schedule), so no period
 * goes unjudged. `now` is for tests only: the database's clock is used otherwise.
 */
export async function judgeFailureRate(
  db: SqlApi,
  config: FailureRateConfig,
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
