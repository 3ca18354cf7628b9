/**
 * The requests each check-in provider expects for a run's start and end, from its own docs. Pure: URL in, requests
 * out; ./checkins.ts sends them.
 *
 * - Healthchecks.io (https://healthchecks.io/docs/http_api/, "Start", "Success", "Fail" and "rid"): GET
 *   `<url>/start`, `<url>` and `<url>/fail`, each with `?rid=<run id>` so overlapping runs are told apart. `<url>` is
 *   `https://hc-ping.com/<uuid>` or `https://hc-ping.com/<ping-key>/<slug>` (add `?create=1` to create on first ping).
 * - Cronitor (https://cronitor.io/docs/telemetry-api): GET `<url>?state=run|complete|fail&series=<run id>`, the end
 *   with `metric=duration:<seconds>`, `metric=count:<items>` and `metric=error_count:<failures>`. `<url>` is
 *   `https://cronitor.link/p/<api-key>/<monitor-key>`.
 * - Sentry Crons (https://docs.sentry.io/product/crons/getting-started/http/, "Check-Ins", "Overlapping Jobs" and
 *   "Creating or updating a monitor through a check-in"): `<url>` is
 *   `https://<org ingest host>/api/<project>/cron/<monitor-slug>/<public key>/`. The start is a POST of
 *   `{check_in_id, status: "in_progress", monitor_config}`, so the monitor creates (and updates) itself from the job
 *   registry: its schedule, `checkin_margin` (the job's grace, minutes) and `max_runtime` (its maxDuration, minutes);
 *   the end a GET `?check_in_id=<run id>&status=ok|error`.
 * - `heartbeat` (Better Stack heartbeats and any "GET when it worked" monitor): GET `<url>` on success only; a
 *   missing beat is the alarm.
 */
import type { CheckinProvider } from "../env";

export type CheckinEvent = "start" | "success" | "fail";
export type Provider = Exclude<CheckinProvider, "auto">;

export interface CheckinRun {
  runId: string;
  /**
   * The platform's execution ID (Vercel Schedules' `ce-id`), when it sent one: Cronitor's `series` takes it, so the
   * monitor's runs read as the platform's; Healthchecks' `rid` and Sentry's `check_in_id` must be UUIDs and keep
   * the run id.
   */
  executionId?: string;
  /** The job's cron expression (UTC) and the minutes a run may be late or last, for Sentry's monitor_config. */
  schedule: string;
  graceMinutes: number;
  maxDurationSeconds: number;
  /** On the end only. */
  durationMs?: number;
  progress?: number;
  failures?: number;
}

export interface CheckinRequest {
  method: "GET" | "POST";
  url: string;
  body?: string;
}

/** The provider a URL belongs to, from its host or path, when the setting says `auto`. */
export function providerOf(url: string, setting: CheckinProvider): Provider {
  if (setting !== "auto") return setting;
  const { hostname, pathname } = new URL(url);
  if (hostname === "hc-ping.com" || hostname.endsWith(".hc-ping.com")) return "healthchecks";
  if (hostname === "cronitor.link" || hostname.endsWith(".cronitor.link")) return "cronitor";
  if (/\/api\/\d+\/cron\/[^/]+\/[^/]+\/?$/.test(pathname)) return "sentry";
  return "heartbeat";
}

function withPath(url: string, suffix: string): URL {
  const u = new URL(url);
  if (suffix) u.pathname = `${u.pathname.replace(/\/$/, "")}/${suffix}`;
  return u;
}

function withQuery(url: string | URL, params: [string, string][]): string {
  const u = new URL(url);
  for (const [key, value] of params) u.searchParams.append(key, value);
  return u.toString();
}

/** The request for one event, or null when the provider is not told of it (a heartbeat's start and failure). */
export function checkinRequest(provider: Provider, url: string, event: CheckinEvent, run: CheckinRun): CheckinRequest | null {
  switch (provider) {
    case "healthchecks":
      return { method: "GET", url: withQuery(withPath(url, event === "success" ? "" : event), [["rid", run.runId]]) };
    case "cronitor": {
      const state = { start: "run", success: "complete", fail: "fail" }[event];
      const metrics: [string, string][] =
        event === "start"
          ? []
          : [
              ["metric", `duration:${((run.durationMs ?? 0) / 1000).toFixed(3)}`],
              ["metric", `count:${run.progress ?? 0}`],
              ["metric", `error_count:${run.failures ?? 0}`],
            ];
      return { method: "GET", url: withQuery(url, [["state", state], ["series", run.executionId ?? run.runId], ...metrics]) };
    }
    case "sentry":
      if (event === "start") {
        const monitor_config = {
          schedule: { type: "crontab", value: run.schedule },
          checkin_margin: run.graceMinutes,
          max_runtime: Math.ceil(run.maxDurationSeconds / 60),
          timezone: "UTC",
        };
        return { method: "POST", url, body: JSON.stringify({ check_in_id: run.runId, status: "in_progress", monitor_config }) };
      }
      return {
        method: "GET",
        url: withQuery(url, [
          ["check_in_id", run.runId],
          ["status", event === "success" ? "ok" : "error"],
        ]),
      };
    case "heartbeat":
      return event === "success" ? { method: "GET", url } : null;
  }
}
