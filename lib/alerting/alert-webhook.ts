/**
 * The in-app alerts and their notifications: one Slack-compatible POST (`{"text": ...}` plus the structured
 * alert) per transition. Delivery failures throw; the aggregation job records them and retries on its next run.
 */
import type { AlertPayload } from "../alert-payload";
import { fetchSecretUrl } from "../tracing";

export const WEBHOOK_TIMEOUT_MS = 5000;

/** Every alert the hourly aggregation evaluates (each a state machine in export_ops_alerts). */
export const ALERTS = ["export_failure_rate", "exports_stopped"] as const;
export type AlertName = (typeof ALERTS)[number];

export type AlertState = "ok" | "firing";

/** What every alert's evaluation carries (lib/alert-payload.ts). */
export type { AlertPayload };

const DEFAULT_TEXT: Record<AlertName, { firing: string; ok: string }> = {
  export_failure_rate: { firing: "Export failure rate exceeds threshold", ok: "export failure rate is back within threshold" },
  exports_stopped: { firing: "No exports recorded", ok: "exports are being recorded again" },
};

export function alertText(alert: AlertName, state: AlertState, payload: AlertPayload | null): string {
  const figures = payload ? ` (${payload.figures} between ${payload.window_start} and ${payload.window_end})` : "";
  return state === "firing"
    ? `:rotating_light: [${payload?.severity ?? "high"}] ${payload?.message ?? DEFAULT_TEXT[alert].firing}${figures}`
    : `:white_check_mark: Resolved: ${payload?.message ?? DEFAULT_TEXT[alert].ok}${figures}`;
}

/**
 * Errors name what went wrong, never the URL (a webhook URL is a secret, so the request is never traced either:
 * lib/tracing.ts fetchSecretUrl). A redirect is not followed: it would post the alert wherever the answer points, so
 * a 3xx is a failed delivery that says so.
 */
export async function sendAlertWebhook(
  url: string,
  alert: AlertName,
  state: AlertState,
  payload: AlertPayload | null,
  timeoutMs = WEBHOOK_TIMEOUT_MS,
): Promise<void> {
  let res: Response;
  try {
    res = await fetchSecretUrl(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: alertText(alert, state, payload), export_ops: { ...payload, alert, state } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
  } catch (error) {
    const name = (error as Error).name;
    throw new Error(name === "TimeoutError" ? `webhook timed out after ${timeoutMs} ms` : `webhook request failed (${name})`);
  }
  if (res.status >= 300 && res.status < 400) {
    throw new Error(`webhook answered HTTP ${res.status}, a redirect, which is not followed: set ALERT_WEBHOOK_URL to where it points`);
  }
  if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
}
