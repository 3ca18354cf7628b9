/**
 * The wrapper every cron route uses: the CRON_SECRET bearer guard (./with-bearer.ts: fail closed, constant-time,
 * typed errors to statuses), query options parsed with the job's schema, the job run by lib/jobs/runner.ts, and
 * {success, result, timestamp} on success. A call refused because CRON_SECRET itself is unusable is recorded as a
 * `failed` run (`config_error`) when the database can be reached, so health, metrics and alerts show a
 * misconfigured deployment; a call with a wrong bearer is only logged. A run that stopped on its time budget
 * with work left calls its own route again after the response (./continuation.ts), so a backlog finishes the
 * same day instead of at the next schedule. Every error is logged once, here at the HTTP boundary: a run that threw
 * as `job_failed` (the runner recorded it and hands it back unlogged), anything else as the guard logs it.
 */
import { randomUUID } from "node:crypto";
import { getDeadline, waitUntil } from "@vercel/functions";
import type * as z from "zod";
import { describeIssues, getCronSecret, getEnv, type Env } from "../env";
import { ConfigError, ValidationError, publicError } from "../errors";
import { deadlineFor, type JobDefinition, type JobResult } from "../jobs/job";
import { attemptJob, logFailedRun, type Trigger } from "../jobs/runner";
import { executionOccurrence, firedAt, occurrenceOf, type Delivery } from "../jobs/schedule";
import { logger as rootLogger, type Logger } from "../logger";
import { sqlTime, systemClock, type Clock, type JobDeps } from "../ports";
import { createSupabasePorts } from "../supabase";
import { CONTINUATION_PARAM, continueLater } from "./continuation";
import { errorResponse, guarded, respond } from "./with-bearer";

export interface CronOverrides {
  /** Builds the job's database and storage ports; defaults to the configured Supabase project. */
  makePorts?: (env: Env) => Pick<JobDeps, "db" | "storage">;
  clock?: Clock;
  logger?: Logger;
  /** Tests only: the run's deadline from its start (instead of maxDuration less the margin). */
  deadline?: (startedAt: number) => number;
  /** Keeps the function alive for work after the response; Vercel's `waitUntil` by default. */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/**
 * Vercel Cron sends its own user agent and the schedule that fired, and a Vercel Schedules path target the same
 * plus the schedule's CloudEvent (`ce-type: com.vercel.schedule.*`); a continuation says so in its query (it
 * carries the bearer like any call, so the query is believed only once the bearer was checked); anything else is a
 * person or a script.
 */
export function triggerOf(request: Request, authenticated = true): Trigger {
  if (authenticated && new URL(request.url).searchParams.get(CONTINUATION_PARAM) === "true") return "continuation";
  const headers = request.headers;
  const scheduled = headers.has("x-vercel-cron-schedule") || headers.get("ce-type")?.startsWith("com.vercel.schedule.");
  return headers.get("user-agent")?.includes("vercel-cron/") && scheduled ? "vercel_cron" : "manual";
}

/** An execution ID as Vercel Schedules sends it (`<schedule id>:<epoch ms>`): printable, short enough to key on. */
const EXECUTION_ID = /^[\x21-\x7e]{1,180}$/;

const timeHeader = (request: Request, name: string): Date | undefined => {
  const value = request.headers.get(name)?.trim();
  const at = value ? new Date(/^\d+$/.test(value) ? Number(value) : value) : undefined;
  return at && Number.isFinite(at.getTime()) ? at : undefined;
};

/**
 * The scheduled run a platform delivery is for, so that a second delivery of it does nothing. Vercel Schedules
 * sends the execution's CloudEvent headers: `ce-id` is the execution ID, the same on every delivery of it, and
 * `ce-vssscheduledat` (else `ce-time`) the time it was scheduled for. Vercel Cron Jobs send only the schedule that
 * fired (`x-vercel-cron-schedule`): the occurrence is that schedule's latest fire time (lib/jobs/schedule.ts).
 * Other triggers have none.
 */
export function deliveryOf(request: Request, trigger: Trigger, jobSchedule: string, now: Date, tz = "UTC"): Delivery | undefined {
  if (trigger !== "vercel_cron") return undefined;
  const executionId = request.headers.get("ce-id")?.trim();
  if (executionId && EXECUTION_ID.test(executionId)) {
    return {
      occurrence: executionOccurrence(executionId),
      executionId,
      scheduledAt: timeHeader(request, "ce-vssscheduledat") ?? timeHeader(request, "ce-time"),
    };
  }
  const fired = request.headers.get("x-vercel-cron-schedule")?.trim();
  for (const schedule of [fired, jobSchedule]) {
    try {
      if (schedule) return { occurrence: occurrenceOf(schedule, now, tz), scheduledAt: firedAt(schedule, now, tz) };
    } catch {
      // not a cron expression: the registry's
    }
  }
  return undefined;
}

/**
 * Query string → job options. Repeated or unknown parameters and bad values are a 400 naming them;
 * `continuation` (the trigger, not an option) may only be `true`.
 */
export function parseQuery<S extends z.ZodType>(schema: S, params: URLSearchParams): z.output<S> {
  const seen = new Set<string>();
  const entries: [string, string][] = [];
  for (const [key, value] of params) {
    if (seen.has(key)) throw new ValidationError(`Query parameter ${key} is given more than once`, { parameter: key });
    seen.add(key);
    if (key !== CONTINUATION_PARAM) entries.push([key, value]);
    else if (value !== "true") throw new ValidationError(`Invalid query parameter: ${key} must be true when given`, { parameter: key });
  }
  // own properties only, whatever the names (`constructor`, `__proto__`): the schema sees exactly what was sent
  const parsed = schema.safeParse(Object.fromEntries(entries));
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    if (first?.code === "unrecognized_keys") {
      throw new ValidationError(`Unknown query parameter: ${first.keys.join(", ")}`, { parameter: first.keys.join(", ") });
    }
    throw new ValidationError(`Invalid query parameter: ${describeIssues(parsed.error).join("; ")}`, { parameter: first?.path.join(".") });
  }
  return parsed.data;
}

/** Wraps a job as a GET route handler; the handler says which job it runs (`handler.job`). */
export function withCron<S extends z.ZodType, R extends JobResult>(job: JobDefinition<S, R>, overrides: CronOverrides = {}) {
  return Object.assign(handler, { job });
  async function handler(request: Request): Promise<Response> {
    const clock = overrides.clock ?? systemClock;
    const runId = randomUUID();
    const logger = overrides.logger ?? rootLogger;
    const guard = { secret: getCronSecret, name: job.id, clock, logger, bindings: { job: job.id, run_id: runId } };
    await recordIfMisconfigured(job.id, runId, request, overrides, logger);
    return guarded(request, guard, async () => {
      const options = parseQuery(job.optionsSchema, new URL(request.url).searchParams);
      const env = getEnv();
      const ports = (overrides.makePorts ?? createSupabasePorts)(env);
      const keepAlive = overrides.waitUntil ?? waitUntil;
      const call: CronCall = { request, env, ports, clock, logger, runId, trigger: triggerOf(request), keepAlive };
      if (call.trigger === "continuation") {
        // the caller only waits for this answer: the run goes on after it (./continuation.ts)
        keepAlive(
          runAndContinue(job, call, options, overrides).catch((error: unknown) => logContinuationFailure(error, job.id, runId, logger)),
        );
        return respond(202, { success: true, accepted: true, run_id: runId, timestamp: clock.now().toISOString() });
      }
      const done = await runAndContinue(job, call, options, overrides);
      if (!done.ok) return errorResponse(done.error, clock);
      return respond(200, { success: true, result: done.result, continuation: done.continuation, timestamp: clock.now().toISOString() });
    });
  }
}

/** One authenticated call of a cron route, as far as its run needs. */
interface CronCall {
  request: Request;
  env: Env;
  ports: Pick<JobDeps, "db" | "storage">;
  clock: Clock;
  logger: Logger;
  runId: string;
  trigger: Trigger;
  /** Keeps the function alive for work after the response. */
  keepAlive: (promise: Promise<unknown>) => void;
}

/**
 * Runs the job, then calls the route again when it stopped with work left. A run that threw is logged here, once,
 * and handed back for the answer; what fails outside the run (the run history unreachable) is thrown.
 */
async function runAndContinue<S extends z.ZodType, R extends JobResult>(
  job: JobDefinition<S, R>,
  call: CronCall,
  options: z.output<S>,
  overrides: CronOverrides,
) {
  const { request, env, ports, clock, logger, runId, trigger, keepAlive } = call;
  const startedAt = clock.now().getTime();
  const deadline = overrides.deadline ? overrides.deadline(startedAt) : deadlineFor(job, startedAt, getDeadline());
  const delivery = deliveryOf(request, trigger, job.schedule, clock.now(), env.EXPORT_OPS_SCHEDULE_TIMEZONE);
  const attempt = await attemptJob(job, { env, ports, clock, logger, trigger, runId, deadline, delivery }, options);
  if (!attempt.ok) {
    logFailedRun(logger, attempt.failed);
    return { ok: false as const, error: attempt.failed.error };
  }
  const continuation = await continueLater({
    job: job.id,
    request,
    result: attempt.result,
    db: ports.db,
    secret: getCronSecret(),
    bypass: env.VERCEL_AUTOMATION_BYPASS_SECRET,
    logger: logger.child({ job: job.id, run_id: runId }),
    waitUntil: keepAlive,
  });
  return { ok: true as const, result: attempt.result, continuation };
}

/** A continuation's failure after its 202 outside the run itself (a run that threw was logged as `job_failed`). */
function logContinuationFailure(error: unknown, jobId: string, runId: string, logger: Logger): void {
  const { body } = publicError(error);
  logger.error(
    { type: "request_failed", route: jobId, run_id: runId, error: body, err: error },
    `${jobId}: the continuation failed: ${body.message}`,
  );
}

/** Records a refused run when CRON_SECRET is unusable and the rest of the environment reaches the database. */
async function recordIfMisconfigured(
  jobId: string,
  runId: string,
  request: Request,
  overrides: CronOverrides,
  logger: Logger,
): Promise<void> {
  let refusal: ConfigError;
  try {
    getCronSecret();
    return;
  } catch (error) {
    refusal = error as ConfigError;
  }
  try {
    const env = getEnv();
    const { db } = (overrides.makePorts ?? createSupabasePorts)(env);
    await db.call("export_ops_record_refused_run", {
      p_run_id: runId,
      p_job: jobId,
      p_trigger: triggerOf(request, false), // unauthenticated: never counted as a continuation
      p_error: publicError(refusal).body,
      ...sqlTime(overrides.clock ?? systemClock),
    });
  } catch (error) {
    logger.warn(
      { type: "run_history_write_failed", job: jobId, run_id: runId, err: error },
      `${jobId}: the refused call could not be recorded`,
    );
  }
}
