/**
 * The in-app alerts' judgements, over the SQL API port only: the failure rate over a window (the export-ops
 * package's judgement, the one its ExportMetricsService.checkFailureRate gives the host), and whether exports
 * stopped arriving.
 */
import type { FailureRateConfig } from "../host/failure-rate";
import { sqlTime, type Clock, type SqlApi } from "../ports";
import type { SqlResult } from "../sql-contract";
import type { AlertPayload } from "./alert-webhook";

/** The failure rate over a window: the export-ops package's own judgement, over the SQL API port. */
export { judgeFailureRate, type FailureAlertPayload } from "../host/failure-rate";
export type MetricsConfig = FailureRateConfig;

/**
 * The `exports_stopped_alert` payload: an alert's payload with the silence's figures as SQL gives them
 * (export_ops_export_silence: `recent`, the exports recorded in the window; `busy_days`, how many of the previous 7
 * days had exports in the same hours; `last_export_at`).
 */
export interface SilencePayload
  extends AlertPayload, Pick<SqlResult<"export_ops_export_silence">, "recent" | "busy_days" | "last_export_at"> {
  type: "exports_stopped_alert";
  hours: number;
}

/** The exports-stopped alert is judged only where the same hours had exports on this many of the previous 7 days. */
export const SILENCE_BUSY_DAYS = 5;

/** "No exports recorded for N hours", judged only where the same hours are usually busy. */
export async function judgeSilence(db: SqlApi, hours: number, clock: Clock): Promise<SilencePayload> {
  const s = await db.call("export_ops_export_silence", { p_hours: hours, ...sqlTime(clock) });
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
