/**
 * Backlogs finish the same day: a cron run that stopped on its time budget with work left calls its own route
 * again after its response (Vercel's `waitUntil` keeps the function alive for the request), with the same
 * options and `continuation=true`, which records the next run with the trigger `continuation`.
 *
 * Why a self-call rather than more cron entries: Vercel Hobby allows one run a day per cron, so a resume schedule
 * could not finish a monthly backlog the same day; a self-call needs no external service and works on every plan.
 * Bounded: at most MAX_CONTINUATIONS_PER_DAY per job per UTC day (counted in the run history). Never two at once:
 * the log cleanup and the aggregation hold their lease, so a duplicate continuation (Vercel delivering a cron twice,
 * two runs both continuing) is recorded as `skipped`; the file cleanup is safe in parallel by design. Behind
 * Vercel Deployment Protection the call needs "Protection Bypass for Automation" (its secret is sent as
 * `x-vercel-protection-bypass`); without it the call is refused, logged, and the backlog waits for the schedule.
 */
import type { JobResult, SkippedRun } from "../jobs/job";
import type { Logger } from "../logger";
import type { SqlApi } from "../ports";

export const CONTINUATION_PARAM = "continuation";
export const MAX_CONTINUATIONS_PER_DAY = 24;

export type ContinuationState = "scheduled" | "daily_limit_reached" | null;

export async function continueLater(input: {
  job: string;
  request: Request;
  result: JobResult | SkippedRun;
  db: SqlApi;
  secret: string;
  bypass?: string;
  logger: Logger;
  waitUntil: (promise: Promise<unknown>) => void;
}): Promise<ContinuationState> {
  const { job, request, result, db, logger } = input;
  if (!result.has_more || result.dry_run || "skipped" in result) return null;
  if (!(await db.call("export_ops_continuation_allowed", { p_job: job, p_max_per_day: MAX_CONTINUATIONS_PER_DAY }))) {
    logger.warn({ type: "continuation_limit", max_per_day: MAX_CONTINUATIONS_PER_DAY }, `${job}: work left, but today's continuations are used up`);
    return "daily_limit_reached";
  }
  const url = new URL(request.url);
  url.searchParams.set(CONTINUATION_PARAM, "true");
  const headers: Record<string, string> = { authorization: `Bearer ${input.secret}` };
  if (input.bypass) headers["x-vercel-protection-bypass"] = input.bypass;
  const call = fetch(url, { headers })
    .then(async (res) => {
      await res.body?.cancel();
      logger.info({ type: "continuation_called", status: res.status }, `${job}: continued (HTTP ${res.status})`);
    })
    .catch((error: unknown) => logger.warn({ type: "continuation_failed", error: (error as Error).message }, `${job}: continuation not delivered`));
  input.waitUntil(call);
  return "scheduled";
}
