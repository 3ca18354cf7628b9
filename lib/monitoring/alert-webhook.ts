/**
 * Alert notifications: one Slack-compatible POST (`{"text": ...}` plus the structured alert) per transition.
 * Delivery failures throw; the aggregation job records them and retries on its next run.
 */
import type { FailureAlertPayload } from "./export-metrics";

export const WEBHOOK_TIMEOUT_MS = 5000;

export type AlertState = "ok" | "firing";

export function alertText(state: AlertState, payload: FailureAlertPayload | null): string {
  const figures = payload ? ` (${payload.failed_count} of ${payload.total_count} exports failed between ${payload.window_start} and ${payload.window_end})` : "";
  return state === "firing"
    ? `:rotating_light: [${payload?.severity ?? "high"}] ${payload?.message ?? "Export failure rate exceeds threshold"}${figures}`
    : `:white_check_mark: Resolved: ${payload?.message ?? "export failure rate is back within threshold"}${figures}`;
}

/** Errors name what went wrong, never the URL (a webhook URL is a secret). */
export async function sendAlertWebhook(url: string, state: AlertState, payload: FailureAlertPayload | null, timeoutMs = WEBHOOK_TIMEOUT_MS): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: alertText(state, payload), export_ops: { alert: "export_failure_rate", state, ...payload } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
  } catch (error) {
    const name = (error as Error).name;
    throw new Error(name === "TimeoutError" ? `webhook timed out after ${timeoutMs} ms` : `webhook request failed (${name})`);
  }
  if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
}
