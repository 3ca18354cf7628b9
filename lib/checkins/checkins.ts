/**
 * Check-ins: each real run tells the job's check-in target (Healthchecks.io, Cronitor, Sentry Crons, a heartbeat
 * URL) that it started and how it ended, so that a cron that stops firing — crons disabled, the project paused, a broken
 * deployment — is noticed by something that does not run inside it.
 *
 * - Which runs: every run that starts and is not a dry run. `succeeded` and `partial` report success (a partial run
 *   did its budget's work and the rest follows; per-item failures are export-ops' own alerts, not a missed run),
 *   `failed` and a thrown run report fail, and the next run of the job reports fail for runs abandoned after their
 *   start was told (their check-in target saw a start and no end). A `skipped` run (the lease is held, or a duplicate
 *   delivery) sends nothing: it did not run, and the run that holds the work reports its own.
 * - Never in the way: each request has CHECKIN_TIMEOUT_MS and follows no redirect (a 3xx is not delivered); a
 *   failed or slow delivery is logged (`checkin_failed`), counted (`checkins_failed` in the job's totals) and
 *   recorded for health and the ops page, and changes nothing in the run. The URL is a secret (its path holds the
 *   key): lines and records name only the provider and the host, and the request is never traced (lib/tracing.ts
 *   fetchSecretUrl).
 */
import type { Env } from "../env";
import type { Logger } from "../logger";
import { sqlTime, type Clock, type SqlApi } from "../ports";
import { fetchSecretUrl } from "../tracing";
import { checkinRequest, providerOf, type CheckinEvent, type CheckinRun, type Provider } from "./providers";

export const CHECKIN_TIMEOUT_MS = 3000;

/**
 * A job's check-in target, as health and the ops page show it: the provider and the URL's host, never the rest of
 * the URL (its path and query hold the key).
 */
export interface CheckinTarget {
  provider: Provider;
  host: string;
}

/** A check-in target with its URL: a secret, for sending check-ins only. */
export interface SecretCheckinTarget extends CheckinTarget {
  url: string;
}

/** The env var naming one job's own check-in URL: EXPORT_OPS_CHECKIN_URL_<JOB ID in upper snake case>. */
export function checkinUrlVar(jobId: string): keyof Env {
  return `EXPORT_OPS_CHECKIN_URL_${jobId.toUpperCase().replace(/-/g, "_")}` as keyof Env;
}

/** The job's check-in target: its own URL, else the template's with `{job}` filled in; none when neither is set. */
export function checkinTarget(env: Env, jobId: string): SecretCheckinTarget | undefined {
  const own = env[checkinUrlVar(jobId)];
  const url = typeof own === "string" ? own : env.EXPORT_OPS_CHECKIN_URL?.replaceAll("{job}", encodeURIComponent(jobId));
  return url ? { provider: providerOf(url, env.EXPORT_OPS_CHECKIN_PROVIDER), host: new URL(url).host, url } : undefined;
}

export interface CheckinDeps {
  db: SqlApi;
  clock: Clock;
  logger: Logger;
}

/** Sends one job's check-ins to its target. */
export interface CheckinSender {
  target: SecretCheckinTarget;
  /** Sends one event (false when it was not delivered); never throws nor takes longer than CHECKIN_TIMEOUT_MS. */
  send(event: CheckinEvent, run: CheckinRun): Promise<boolean>;
  /** Tells the target that the job's abandoned runs it saw start have failed (up to the first delivery that fails). */
  reportAbandoned(run: Omit<CheckinRun, "runId">): Promise<void>;
}

interface Delivery {
  delivered: boolean;
  httpStatus: number | null;
  error: string | null;
}

/** One request, with its outcome in words that hold no part of the URL. */
async function deliver(request: NonNullable<ReturnType<typeof checkinRequest>>): Promise<Delivery> {
  try {
    // untraced and never redirected (lib/tracing.ts): the URL holds the check-in target's key
    const res = await fetchSecretUrl(request.url, {
      method: request.method,
      headers: request.body ? { "content-type": "application/json" } : undefined,
      body: request.body,
      signal: AbortSignal.timeout(CHECKIN_TIMEOUT_MS),
    });
    await res.body?.cancel().catch(() => undefined);
    if (res.ok) return { delivered: true, httpStatus: res.status, error: null };
    const redirect = res.status >= 300 && res.status < 400 ? ", a redirect, which is not followed" : "";
    return { delivered: false, httpStatus: res.status, error: `HTTP ${res.status}${redirect}` };
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    const code = (error as { cause?: { code?: unknown } }).cause?.code;
    const why =
      name === "TimeoutError" ? `no answer within ${CHECKIN_TIMEOUT_MS} ms` : `request failed (${typeof code === "string" ? code : name})`;
    return { delivered: false, httpStatus: null, error: why };
  }
}

export function createCheckinSender(jobId: string, target: SecretCheckinTarget, deps: CheckinDeps): CheckinSender {
  const { host } = target;
  const send = async (event: CheckinEvent, run: CheckinRun) => {
    const request = checkinRequest(target.provider, target.url, event, run);
    if (!request) return true;
    const started = deps.clock.now().getTime();
    const outcome = await deliver(request);
    const line = {
      job: jobId,
      run_id: run.runId,
      provider: target.provider,
      host,
      event,
      http_status: outcome.httpStatus,
      duration_ms: deps.clock.now().getTime() - started,
    };
    if (outcome.delivered) deps.logger.info({ type: "checkin_sent", ...line }, `${jobId}: told ${target.provider} "${event}"`);
    else
      deps.logger.warn(
        { type: "checkin_failed", ...line, error: outcome.error },
        `${jobId}: ${target.provider} check-in "${event}" not delivered: ${outcome.error}`,
      );
    try {
      await deps.db.call("export_ops_record_checkin", {
        p_job: jobId,
        p_run_id: run.runId,
        p_event: event,
        p_provider: target.provider,
        p_delivered: outcome.delivered,
        p_http_status: outcome.httpStatus,
        p_error: outcome.error,
        ...sqlTime(deps.clock),
      });
    } catch (error) {
      deps.logger.warn(
        { type: "run_history_write_failed", job: jobId, run_id: run.runId, err: error },
        `${jobId}: the check-in could not be recorded`,
      );
    }
    return outcome.delivered;
  };
  return {
    target,
    send,
    async reportAbandoned(run) {
      let abandoned: string[];
      try {
        abandoned = await deps.db.call("export_ops_unreported_abandoned", { p_job: jobId });
      } catch (error) {
        deps.logger.warn(
          { type: "run_history_write_failed", job: jobId, err: error },
          `${jobId}: abandoned runs could not be read for the check-in`,
        );
        return;
      }
      for (const runId of abandoned) if (!(await send("fail", { ...run, runId }))) return;
    },
  };
}

/** Each job's check-in target without its URL (null: none configured), for health and the ops page. */
export function describeCheckinTargets(env: Env, jobIds: readonly string[]): Record<string, CheckinTarget | null> {
  return Object.fromEntries(
    jobIds.map((id) => {
      const target = checkinTarget(env, id);
      return [id, target ? { provider: target.provider, host: target.host } : null];
    }),
  );
}
