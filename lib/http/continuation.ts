/**
 * Backlogs finish the same day: a cron run that stopped on its time budget with work left calls its own route
 * again after its response, with the same options and `continuation=true`; that call is recorded as a run with
 * the trigger `continuation`.
 *
 * The hand-over is short on both sides, so no invocation waits on another: the continuation's route answers
 * `202 Accepted` as soon as it has checked the bearer and the options, and runs the job after its response (Vercel's
 * `waitUntil`, bounded by its own maxDuration). The caller waits at most HANDOFF_MS for that answer, logs what it
 * got (`continuation_called` with its status, `continuation_refused` for anything but 2xx, such as Deployment
 * Protection's 401 or redirect, `continuation_unconfirmed` when no answer came in time) and does not read the body,
 * so the promise it hands to `waitUntil` settles within seconds whatever the child does.
 *
 * Why a self-call rather than more cron entries: Vercel Hobby allows one run a day per cron, so a resume schedule
 * could not finish a monthly backlog the same day; a self-call needs no external service and works on every plan.
 * Bounded: at most MAX_CONTINUATIONS_PER_DAY per job per UTC day (counted in the run history). Never two at once:
 * the log cleanup and the aggregation hold their lease, so a duplicate continuation (Vercel delivering a cron twice,
 * two runs both continuing) is recorded as `skipped`; the file cleanup is safe in parallel by design. Behind
 * Vercel Deployment Protection the call needs "Protection Bypass for Automation" (its secret is sent as
 * `x-vercel-protection-bypass`); without it the call is refused, logged, and the backlog waits for the schedule.
 * Where it calls: ./deployment.ts.
 *
 * A run the load governor stopped (`load.stopped_for_load`) is not continued: the continuation would start into the
 * same load at once, and, its batches timed against its own first ones, no longer see it. Its work waits for the
 * next scheduled run (or a call by hand once the host is quieter).
 */
import type { JobResult, SkippedRun } from "../jobs/job";
import { stoppedForLoad } from "../jobs/pacing";
import type { Logger } from "../logger";
import type { SqlApi } from "../ports";
import { selfUrl } from "./deployment";

export const CONTINUATION_PARAM = "continuation";
export const MAX_CONTINUATIONS_PER_DAY = 24;
/** How long the caller waits for the continuation's `202`. */
export const HANDOFF_MS = 5_000;

export type ContinuationState = "scheduled" | "daily_limit_reached" | "held_for_load" | null;

export async function continueLater(input: {
  job: string;
  request: Request;
  result: JobResult | SkippedRun;
  db: SqlApi;
  secret: string;
  bypass?: string;
  logger: Logger;
  waitUntil: (promise: Promise<unknown>) => void;
  /** Tests only: a shorter wait for the answer. */
  handoffMs?: number;
}): Promise<ContinuationState> {
  const { job, request, result, db, logger } = input;
  if (!result.has_more || result.dry_run || "skipped" in result) return null;
  const loaded = stoppedForLoad(result);
  if (loaded) {
    logger.info(
      { type: "continuation_held_for_load", reason: loaded },
      `${job}: work left, not continued: the run stopped for load; the next scheduled run takes it`,
    );
    return "held_for_load";
  }
  if (!(await db.call("export_ops_continuation_allowed", { p_job: job, p_max_per_day: MAX_CONTINUATIONS_PER_DAY }))) {
    logger.warn(
      { type: "continuation_limit", max_per_day: MAX_CONTINUATIONS_PER_DAY },
      `${job}: work left, but today's continuations are used up`,
    );
    return "daily_limit_reached";
  }
  const url = selfUrl(request);
  url.searchParams.set(CONTINUATION_PARAM, "true");
  const headers: Record<string, string> = { authorization: `Bearer ${input.secret}` };
  if (input.bypass) headers["x-vercel-protection-bypass"] = input.bypass;
  input.waitUntil(handOver(job, url, headers, input.handoffMs ?? HANDOFF_MS, logger));
  return "scheduled";
}

/** Sends the call and settles on its status line (or after `handoffMs`), never on its body. Never rejects. */
async function handOver(job: string, url: URL, headers: Record<string, string>, handoffMs: number, logger: Logger): Promise<void> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), handoffMs);
  try {
    const res = await fetch(url, { headers, signal: abort.signal, redirect: "manual" });
    if (res.ok) logger.info({ type: "continuation_called", status: res.status }, `${job}: continued (HTTP ${res.status})`);
    else {
      logger.warn(
        { type: "continuation_refused", status: res.status },
        `${job}: continuation refused (HTTP ${res.status}); behind Deployment Protection it needs Protection Bypass for Automation`,
      );
    }
  } catch (error) {
    if (abort.signal.aborted) {
      logger.warn(
        { type: "continuation_unconfirmed", timeout_ms: handoffMs },
        `${job}: continuation sent, no answer within ${handoffMs} ms`,
      );
    } else {
      logger.warn({ type: "continuation_failed", error: (error as Error).message }, `${job}: continuation not delivered`);
    }
  } finally {
    clearTimeout(timer);
    abort.abort(); // the body is never read: close the connection rather than wait for it
  }
}
