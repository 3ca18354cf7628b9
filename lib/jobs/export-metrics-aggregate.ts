/**
 * Hourly metrics aggregation. Rolls up every completed hour that has no rollup yet (so hours missed while the
 * cron did not fire are caught up, and a once-a-day schedule gives the same rollups), at most a week per run;
 * then evaluates the failure-rate alert as a state machine and sends the notification a transition owes.
 */
import { z } from "zod";
import { alertText, sendAlertWebhook, type AlertState } from "../monitoring/alert-webhook";
import { ExportMetricsService, type FailureAlertPayload } from "../monitoring/export-metrics";
import type { JobDeps } from "../ports";
import { baseOptionsSchema, defineJob } from "./job";

/** Hours rolled up per SQL call: keeps each call (one transaction) short. */
export const HOURS_PER_CALL = 24;
/** Hours rolled up per run at most (a week); the rest is reported as has_more. */
export const MAX_HOURS_PER_RUN = 24 * 7;
export const ALERT = "export_failure_rate";
/** The failure-rate window the alert judges. */
export const ALERT_WINDOW_MINUTES = 60;

export const exportMetricsAggregateOptionsSchema = baseOptionsSchema.extend({
  max_hours: z.coerce.number({ error: "must be a number" }).int().min(1).max(MAX_HOURS_PER_RUN).default(MAX_HOURS_PER_RUN),
});

interface RolledHour {
  hour: string;
  total_exports: number;
  successful_exports: number;
  failed_exports: number;
  success_rate: number | null;
  avg_duration_by_format: Record<string, number>;
}

export interface ExportMetricsAggregateResult {
  [key: string]: unknown;
  hours_rolled_up: number;
  first_hour: string | null;
  last_hour: string | null;
  /** Hours still without a rollup after this run (in a dry run: all that are missing). */
  hours_pending: number;
  alert: Pick<FailureAlertPayload, "alert" | "judged" | "severity" | "message" | "failure_rate" | "failed_count" | "total_count" | "threshold"> & {
    state: AlertState;
    transition: "fired" | "resolved" | null;
  };
  notification: { sent: boolean; state: AlertState; error?: string } | null;
  has_more: boolean;
  dry_run: boolean;
  duration_ms: number;
  timestamp: string;
}

type Deps = Pick<JobDeps, "db" | "clock" | "logger" | "deadline" | "env">;

export async function runExportMetricsAggregate(deps: Deps, options: z.output<typeof exportMetricsAggregateOptionsSchema>): Promise<ExportMetricsAggregateResult> {
  const { db, clock, logger, env } = deps;
  const started = clock.now();
  const metrics = new ExportMetricsService(db, logger, { threshold: env.FAILURE_RATE_THRESHOLD, minSample: env.FAILURE_RATE_MIN_SAMPLE });

  // 1. Roll up missing hours, oldest first.
  const rolled: (RolledHour | string)[] = [];
  let remaining = 0;
  do {
    // a dry run asks once for everything this run would do; a real run goes a day per call
    const limit = options.dry_run ? options.max_hours : Math.min(HOURS_PER_CALL, options.max_hours - rolled.length);
    const step = await db.call<{ hours: (RolledHour | string)[]; remaining: number }>("export_ops_rollup_metrics", {
      p_max_hours: limit,
      p_now: clock.now().toISOString(),
      p_dry_run: options.dry_run,
    });
    rolled.push(...step.hours);
    remaining = step.remaining;
    for (const hour of step.hours) if (typeof hour !== "string") logger.info({ type: "aggregated_metrics", period: "hourly", ...hour });
    if (options.dry_run) break; // a dry run only counts what is missing
  } while (remaining > 0 && rolled.length < options.max_hours && clock.now().getTime() < deps.deadline);
  const hourOf = (h: RolledHour | string | undefined) => (h === undefined ? null : new Date(typeof h === "string" ? h : h.hour).toISOString());

  // 2. Judge the failure rate, and move the alert's state (not in a dry run).
  const payload = await metrics.checkFailureRate({ minutes: ALERT_WINDOW_MINUTES, now: clock.now() });
  let state: AlertState = payload.alert ? "firing" : "ok";
  let transition: "fired" | "resolved" | null = null;
  let notification: ExportMetricsAggregateResult["notification"] = null;
  if (!options.dry_run) {
    const evaluated = await db.call<{ state: AlertState; transition: "fired" | "resolved" | null }>("export_ops_evaluate_alert", {
      p_alert: ALERT,
      p_firing: payload.judged ? payload.alert : null,
      p_payload: payload,
      p_now: clock.now().toISOString(),
    });
    ({ state, transition } = evaluated);
    if (transition) logger.warn({ ...payload, type: "export_failure_alert", state, transition }, alertText(state, payload));
    notification = await deliverNotification(deps);
  }

  const finished = clock.now();
  return {
    hours_rolled_up: options.dry_run ? 0 : rolled.length,
    first_hour: hourOf(rolled[0]),
    last_hour: hourOf(rolled[rolled.length - 1]),
    hours_pending: remaining,
    alert: {
      state,
      transition,
      alert: payload.alert,
      judged: payload.judged,
      severity: payload.severity,
      message: payload.message,
      failure_rate: payload.failure_rate,
      failed_count: payload.failed_count,
      total_count: payload.total_count,
      threshold: payload.threshold,
    },
    notification,
    has_more: !options.dry_run && remaining > 0,
    dry_run: options.dry_run,
    duration_ms: finished.getTime() - started.getTime(),
    timestamp: finished.toISOString(),
  };
}

/** Sends the notification the alert owes (if a webhook is configured); a failure is recorded for the next run. */
async function deliverNotification({ db, clock, logger, env }: Deps): Promise<ExportMetricsAggregateResult["notification"]> {
  if (!env.ALERT_WEBHOOK_URL) return null;
  const owed = await db.call<{ state: AlertState; payload: FailureAlertPayload | null; attempts: number } | null>("export_ops_claim_alert_notification", {
    p_alert: ALERT,
    p_lease_seconds: 60,
    p_now: clock.now().toISOString(),
  });
  if (!owed) return null;
  try {
    await sendAlertWebhook(env.ALERT_WEBHOOK_URL, owed.state, owed.payload);
    await db.call("export_ops_finish_alert_notification", { p_alert: ALERT, p_state: owed.state, p_error: null });
    logger.info({ type: "alert_notification_sent", alert: ALERT, state: owed.state, attempts: owed.attempts + 1 });
    return { sent: true, state: owed.state };
  } catch (error) {
    const message = (error as Error).message;
    await db.call("export_ops_finish_alert_notification", { p_alert: ALERT, p_state: owed.state, p_error: message });
    logger.warn({ type: "alert_notification_failed", alert: ALERT, state: owed.state, attempts: owed.attempts + 1, error: message });
    return { sent: false, state: owed.state, error: message };
  }
}

export const exportMetricsAggregate = defineJob({
  id: "export-metrics-aggregate",
  description: "Rolls raw export metrics up per hour (catching up missed hours) and evaluates the failure-rate alert",
  schedule: "0 * * * *",
  maxDurationSeconds: 300,
  overlap: "skip",
  graceMinutes: 30,
  optionsSchema: exportMetricsAggregateOptionsSchema,
  run: runExportMetricsAggregate,
});
