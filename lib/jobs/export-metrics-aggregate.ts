/**
 * Hourly metrics aggregation. Rolls up every completed hour that has no rollup yet (so hours missed while the
 * cron did not fire are caught up, and a once-a-day schedule gives the same rollups), at most a week per run;
 * then evaluates the in-app alerts — failure rate, and exports stopped — each as a state machine, and sends the
 * notification each transition owes.
 */
import * as z from "zod";
import { ALERTS, alertText, sendAlertWebhook, type AlertName, type AlertPayload, type AlertState } from "../alerting/alert-webhook";
import { judgeFailureRate, judgeSilence, type FailureAlertPayload, type SilencePayload } from "../alerting/alerts";
import { sqlTime, type JobDeps } from "../ports";
import type { SqlResult } from "../sql-contract";
import { baseOptionsSchema, defineJob, queryInt } from "./job";
import { pacerFor, pacingOptions, type LoadReport, type Pacer } from "./pacing";

/** Hours rolled up per SQL call: keeps each call (one transaction) short. */
export const HOURS_PER_CALL = 24;
/** Hours rolled up per run at most (a week); the rest is reported as has_more. */
export const MAX_HOURS_PER_RUN = 24 * 7;
/** The failure-rate window the alert judges (or everything since its last evaluation, when that is longer). */
export const ALERT_WINDOW_MINUTES = 60;

export const exportMetricsAggregateOptionsSchema = baseOptionsSchema.extend({
  max_hours: queryInt(1, MAX_HOURS_PER_RUN).default(MAX_HOURS_PER_RUN),
  ...pacingOptions,
});
type Options = z.output<typeof exportMetricsAggregateOptionsSchema>;

/** An hour rolled up (a dry run lists the hours it would roll up as plain times instead). */
type RolledHour = Exclude<SqlResult<"export_ops_rollup_metrics">["hours"][number], string>;

export interface ExportMetricsAggregateResult {
  [key: string]: unknown;
  hours_rolled_up: number;
  first_hour: string | null;
  last_hour: string | null;
  /** Hours still without a rollup after this run (in a dry run: all that are missing). */
  hours_pending: number;
  alert: Pick<
    FailureAlertPayload,
    "alert" | "judged" | "severity" | "message" | "failure_rate" | "failed_count" | "total_count" | "threshold"
  > & {
    state: AlertState;
    transition: "fired" | "resolved" | null;
  };
  exports_stopped: Pick<SilencePayload, "alert" | "judged" | "message" | "recent" | "busy_days" | "last_export_at"> & {
    state: AlertState;
    transition: "fired" | "resolved" | null;
  };
  notifications: { alert: AlertName; sent: boolean; state: AlertState; error?: string }[];
  has_more: boolean;
  dry_run: boolean;
  /** Time spent resting between the rollup's calls (`nice_ratio`, and load), within duration_ms. */
  rested_ms: number;
  /** The load governor: what it saw, and why it stopped the run if it did. */
  load: LoadReport;
  duration_ms: number;
  timestamp: string;
}

type Deps = Pick<JobDeps, "db" | "clock" | "logger" | "deadline" | "env">;

export async function runExportMetricsAggregate(deps: Deps, options: Options): Promise<ExportMetricsAggregateResult> {
  const { db, clock, env } = deps;
  const started = clock.now();

  // 1. Roll up missing hours, oldest first.
  const pacer = pacerFor(options, deps);
  const { rolled, remaining } = await rollUp(deps, options, pacer);
  const hourOf = (h: RolledHour | string | undefined) =>
    h === undefined ? null : new Date(typeof h === "string" ? h : h.hour).toISOString();

  // 2. Judge each alert, and move its state (not in a dry run).
  const failure = await judgeFailureRate(
    db,
    { threshold: env.FAILURE_RATE_THRESHOLD, minSample: env.FAILURE_RATE_MIN_SAMPLE },
    { minutes: ALERT_WINDOW_MINUTES, sinceLastEvaluationOf: "export_failure_rate", now: clock.sqlNow?.() },
  );
  const silence = await judgeSilence(db, env.EXPORT_SILENCE_ALERT_HOURS, clock);
  const failureState = await evaluate(deps, "export_failure_rate", failure, options.dry_run);
  const silenceState = await evaluate(deps, "exports_stopped", silence, options.dry_run);
  const notifications = options.dry_run ? [] : await deliverNotifications(deps);

  const finished = clock.now();
  return {
    hours_rolled_up: options.dry_run ? 0 : rolled.length,
    first_hour: hourOf(rolled[0]),
    last_hour: hourOf(rolled[rolled.length - 1]),
    hours_pending: remaining,
    alert: {
      ...failureState,
      alert: failure.alert,
      judged: failure.judged,
      severity: failure.severity,
      message: failure.message,
      failure_rate: failure.failure_rate,
      failed_count: failure.failed_count,
      total_count: failure.total_count,
      threshold: failure.threshold,
    },
    exports_stopped: {
      ...silenceState,
      alert: silence.alert,
      judged: silence.judged,
      message: silence.message,
      recent: silence.recent,
      busy_days: silence.busy_days,
      last_export_at: silence.last_export_at,
    },
    notifications,
    has_more: !options.dry_run && remaining > 0,
    dry_run: options.dry_run,
    rested_ms: pacer.rested(),
    load: pacer.load(),
    duration_ms: finished.getTime() - started.getTime(),
    timestamp: finished.toISOString(),
  };
}

/**
 * Rolls up the missing hours a day per call (a dry run asks once for everything it would do), until none are left,
 * `max_hours` are done, time is up or the load governor stops the run; paced between the calls.
 */
async function rollUp({ db, clock, logger, deadline }: Deps, options: Options, pacer: Pacer) {
  const rolled: (RolledHour | string)[] = [];
  let remaining = 0;
  do {
    const limit = options.dry_run ? options.max_hours : Math.min(HOURS_PER_CALL, options.max_hours - rolled.length);
    await pacer.pause();
    const call = () => db.call("export_ops_rollup_metrics", { p_max_hours: limit, p_dry_run: options.dry_run, ...sqlTime(clock) });
    // its rows: the hours it marked and the exports it rolled up in them
    const step = await pacer.timed("rollup", call, (s) =>
      s.hours.reduce((n, h) => n + 1 + (typeof h === "string" ? 0 : h.total_exports), 0),
    );
    rolled.push(...step.hours);
    remaining = step.remaining;
    for (const hour of step.hours)
      if (typeof hour !== "string")
        logger.info({ type: "aggregated_metrics", period: "hourly", ...hour }, `aggregated the hour ${hour.hour}`);
    if (options.dry_run) break; // a dry run only counts what is missing
  } while (remaining > 0 && rolled.length < options.max_hours && !pacer.stoppedForLoad() && clock.now().getTime() < deadline);
  return { rolled, remaining };
}

/** Moves one alert's state machine (a dry run only reports what the state would be) and logs a transition. */
async function evaluate(
  { db, clock, logger }: Deps,
  alert: AlertName,
  payload: AlertPayload,
  dryRun: boolean,
): Promise<{ state: AlertState; transition: "fired" | "resolved" | null }> {
  if (dryRun) return { state: payload.alert ? "firing" : "ok", transition: null };
  const evaluated = await db.call("export_ops_evaluate_alert", {
    p_alert: alert,
    p_firing: payload.judged ? payload.alert : null,
    p_payload: payload,
    ...sqlTime(clock),
  });
  if (evaluated.transition) {
    logger.warn(
      { ...payload, type: payload.type, alert_name: alert, state: evaluated.state, transition: evaluated.transition },
      alertText(alert, evaluated.state, payload),
    );
  }
  return evaluated;
}

/** Sends the notifications the alerts owe (if a webhook is configured); a failure is recorded for the next run. */
async function deliverNotifications({ db, clock, logger, env }: Deps): Promise<ExportMetricsAggregateResult["notifications"]> {
  if (!env.ALERT_WEBHOOK_URL) return [];
  const sent: ExportMetricsAggregateResult["notifications"] = [];
  for (const alert of ALERTS) {
    const owed = await db.call("export_ops_claim_alert_notification", {
      p_alert: alert,
      p_lease_seconds: 60,
      ...sqlTime(clock),
    });
    if (!owed) continue;
    try {
      await sendAlertWebhook(env.ALERT_WEBHOOK_URL, alert, owed.state, owed.payload);
      await db.call("export_ops_finish_alert_notification", { p_alert: alert, p_state: owed.state, p_error: null });
      logger.info(
        { type: "alert_notification_sent", alert, state: owed.state, attempts: owed.attempts + 1 },
        `alert ${alert}: ${owed.state} notification sent`,
      );
      sent.push({ alert, sent: true, state: owed.state });
    } catch (error) {
      const message = (error as Error).message;
      await db.call("export_ops_finish_alert_notification", { p_alert: alert, p_state: owed.state, p_error: message });
      logger.warn(
        { type: "alert_notification_failed", alert, state: owed.state, attempts: owed.attempts + 1, error: message },
        `alert ${alert}: ${owed.state} notification not delivered`,
      );
      sent.push({ alert, sent: false, state: owed.state, error: message });
    }
  }
  return sent;
}

export const exportMetricsAggregate = defineJob({
  id: "export-metrics-aggregate",
  description: "Rolls raw export metrics up per hour (catching up missed hours) and evaluates the alerts (failure rate, exports stopped)",
  schedule: "0 * * * *",
  maxDurationSeconds: 300,
  callsAfterDeadline: 11,
  overlap: "skip",
  optionsSchema: exportMetricsAggregateOptionsSchema,
  progress: (r) => r.hours_rolled_up,
  run: runExportMetricsAggregate,
});
