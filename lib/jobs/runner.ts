/**
 * Runs one job invocation, whoever triggered it (a cron route, a script, a test): records it in the run history
 * (taking the job's lease first when it must not overlap, and answering `skipped` when another run holds it;
 * a dry run takes no lease and claims no scheduled occurrence, so it never keeps a real run from running),
 * gives it a run id, a child logger and a deadline, and writes the one summary line (`job_completed`,
 * `job_failed` or `job_skipped`). A run that threw is recorded `failed` and logged once, by whoever answers for it:
 * the cron wrapper at the HTTP boundary (attemptJob), or executeJob for a script or a test.
 */
import { randomUUID } from "node:crypto";
import type * as z from "zod";
import type { Env } from "../env";
import { publicError } from "../errors";
import type { Logger } from "../logger";
import { checkinTarget, createCheckinSender, type CheckinSender } from "../checkins/checkins";
import type { CheckinRun } from "../checkins/providers";
import { sqlTime, type Clock, type JobDeps } from "../ports";
import { inSpan, resultAttributes } from "../tracing";
import { deadlineFor, runOutcome, type JobDefinition, type JobResult, type SkippedRun } from "./job";
import { graceMinutesFor, type Delivery } from "./schedule";

export type Trigger = "vercel_cron" | "manual" | "script" | "continuation";

export interface RunContext {
  env: Env;
  ports: Pick<JobDeps, "db" | "storage">;
  clock: Clock;
  logger: Logger;
  trigger: Trigger;
  runId?: string;
  /** Overrides the deadline derived from the job's maxDuration (scripts may allow longer). */
  deadline?: number;
  /**
   * The scheduled run this delivery is for (lib/jobs/schedule.ts Delivery), when the platform delivered it: a
   * second delivery of the same occurrence is recorded `skipped` and does nothing.
   */
  delivery?: Delivery;
}

/** A run that threw: recorded `failed` in the run history, its error not logged yet. */
export interface FailedRun {
  job: string;
  runId: string;
  trigger: Trigger;
  durationMs: number;
  error: unknown;
}

/** What a run came to: its result (or `skipped`), or the error it threw. */
export type RunAttempt<R extends JobResult> = { ok: true; result: R | SkippedRun } | { ok: false; failed: FailedRun };

/**
 * Runs a job for a caller that answers for its failure (the cron wrapper): a run that throws is recorded `failed`
 * and comes back as `failed`, unlogged, for the caller to log once with logFailedRun. What fails before the run
 * starts (the run history cannot be written) is thrown.
 *
 * The run is in a span named for its job (lib/tracing.ts; a no-op unless tracing is on) with OpenTelemetry's FaaS
 * attributes — `faas.trigger` `timer` for scheduled deliveries and their continuations, `other` for a person or a
 * script; `faas.cron`; `faas.invocation_id` the platform's execution ID where it sent one (Vercel Schedules), else
 * the run id — and the run's outcome and counts, or the error it threw.
 */
export async function attemptJob<S extends z.ZodType, R extends JobResult>(
  job: JobDefinition<S, R>,
  context: RunContext,
  options: z.output<S>,
): Promise<RunAttempt<R>> {
  const runId = context.runId ?? randomUUID();
  const attributes = {
    "faas.trigger": context.trigger === "vercel_cron" || context.trigger === "continuation" ? "timer" : "other",
    "faas.cron": job.schedule,
    "faas.invocation_id": context.delivery?.executionId ?? runId,
    "export_ops.job": job.id,
    "export_ops.trigger": context.trigger,
    ...(context.delivery ? { "export_ops.occurrence": context.delivery.occurrence, "export_ops.run_id": runId } : {}),
  };
  let failed: FailedRun | undefined;
  try {
    const result = await inSpan(job.id, attributes, async (span) => {
      const attempt = await runOnce(job, { ...context, runId }, options);
      if (!attempt.ok) {
        failed = attempt.failed;
        throw failed.error; // the span records the run's own error
      }
      span.setAttributes(resultAttributes(attempt.result));
      span.setAttribute(
        "export_ops.status",
        "skipped" in attempt.result && attempt.result.skipped ? "skipped" : runOutcome(attempt.result, job.progress(attempt.result as R)),
      );
      return attempt.result;
    });
    return { ok: true, result };
  } catch (error) {
    if (failed) return { ok: false, failed };
    throw error;
  }
}

/**
 * Runs a job for a caller with no response to answer with (a script, a test): as attemptJob, but a run that throws
 * is logged here (`job_failed`, once) and its own error thrown.
 */
export async function executeJob<S extends z.ZodType, R extends JobResult>(
  job: JobDefinition<S, R>,
  context: RunContext,
  options: z.output<S>,
): Promise<R | SkippedRun> {
  const attempt = await attemptJob(job, context, options);
  if (attempt.ok) return attempt.result;
  logFailedRun(context.logger, attempt.failed);
  throw attempt.failed.error;
}

/**
 * The one line for a run that threw, written by whoever answers for it: `job_failed` with the run's facts, the
 * error's public face (as recorded in the run history) and the error itself (its stack). The logger scrubs the
 * secrets' values from the whole line.
 */
export function logFailedRun(logger: Logger, failed: FailedRun): void {
  const { body } = publicError(failed.error);
  logger
    .child({ job: failed.job, run_id: failed.runId })
    .error(
      { type: "job_failed", trigger: failed.trigger, duration_ms: failed.durationMs, error: body, err: failed.error },
      `${failed.job} failed`,
    );
}

type Running = RunContext & { runId: string };

/** Records the run, runs the job (unless the delivery or the lease says skip) and writes its summary line. */
async function runOnce<S extends z.ZodType, R extends JobResult>(
  job: JobDefinition<S, R>,
  context: Running,
  options: z.output<S>,
): Promise<RunAttempt<R>> {
  const { runId, clock } = context;
  const startedAt = clock.now().getTime();
  const logger = context.logger.child({ job: job.id, run_id: runId });
  const dryRun = Boolean((options as { dry_run?: boolean }).dry_run);
  const skipped = (await skippedDelivery(job, context, dryRun)) ?? (await startRun(job, context, dryRun));
  if (skipped) {
    logger.info({ type: "job_skipped", trigger: context.trigger, result: skipped }, `${job.id} skipped: ${skipReason(skipped)}`);
    return { ok: true, result: skipped };
  }
  const checkins = dryRun ? undefined : checkinSenderFor(job, context, logger);
  const checkin: Omit<CheckinRun, "runId"> = {
    schedule: job.schedule,
    graceMinutes: graceMinutesFor(job.schedule, clock.now(), context.env.EXPORT_OPS_SCHEDULE_TIMEZONE),
    maxDurationSeconds: job.maxDurationSeconds,
    ...(context.delivery?.executionId ? { executionId: context.delivery.executionId } : {}),
  };
  await checkins?.reportAbandoned(checkin);
  await checkins?.send("start", { ...checkin, runId });
  const deps: JobDeps = {
    ...context.ports,
    env: context.env,
    clock,
    logger,
    runId,
    deadline: context.deadline ?? deadlineFor(job, startedAt),
  };
  const elapsed = () => clock.now().getTime() - startedAt;
  let result: R;
  try {
    result = await job.run(deps, options);
  } catch (error) {
    const durationMs = elapsed();
    await finish(context, "failed", null, publicError(error).body).catch((e: unknown) =>
      logger.error({ type: "run_history_write_failed", err: e }, `${job.id}: the failed run could not be recorded`),
    );
    await checkins?.send("fail", { ...checkin, runId, durationMs, progress: 0, failures: 1 });
    return { ok: false, failed: { job: job.id, runId, trigger: context.trigger, durationMs, error } };
  }
  const progress = job.progress(result);
  const status = runOutcome(result, progress);
  await finish(context, status, result, null);
  const duration_ms = elapsed();
  await checkins?.send(status === "failed" ? "fail" : "success", {
    ...checkin,
    runId,
    durationMs: duration_ms,
    progress,
    failures: failuresOf(result),
  });
  if (status === "failed") {
    logger.error(
      { type: "job_failed", trigger: context.trigger, status, duration_ms, result },
      `${job.id} failed: no progress, every attempt failed`,
    );
  } else {
    logger.info({ type: "job_completed", trigger: context.trigger, status, duration_ms, result }, `${job.id} completed`);
  }
  return { ok: true, result };
}

/**
 * A second delivery of a scheduled occurrence: `skipped`, once the occurrence is claimed by the first. A dry run is
 * never a delivery: it claims no occurrence, so a real run is never skipped for it.
 */
async function skippedDelivery(job: JobDefinition, context: Running, dryRun: boolean): Promise<SkippedRun | undefined> {
  const delivery = context.delivery;
  if (!delivery || dryRun) return undefined;
  const claim = await context.ports.db.call("export_ops_claim_occurrence", {
    p_run_id: context.runId,
    p_job: job.id,
    p_trigger: context.trigger,
    p_occurrence: delivery.occurrence,
    p_scheduled_at: delivery.scheduledAt?.toISOString() ?? null,
    ...sqlTime(context.clock),
  });
  if (claim.claimed) return undefined;
  return {
    skipped: true,
    reason: "duplicate delivery",
    occurrence: delivery.occurrence,
    first_run_id: claim.first_run_id ?? "",
    has_more: false,
    dry_run: dryRun,
  };
}

/** Records the run as started, taking the job's lease when it must not overlap (a dry run takes none); `skipped` while another run holds it. */
async function startRun(job: JobDefinition, context: Running, dryRun: boolean): Promise<SkippedRun | undefined> {
  const start = await context.ports.db.call("export_ops_start_run", {
    p_run_id: context.runId,
    p_job: job.id,
    p_trigger: context.trigger,
    p_dry_run: dryRun,
    p_max_seconds: job.maxDurationSeconds,
    p_lease_seconds: job.overlap === "skip" && !dryRun ? job.maxDurationSeconds * 2 : null,
    ...sqlTime(context.clock),
  });
  if (start.started) return undefined;
  return {
    skipped: true,
    reason: "another run holds the lease",
    held_by: start.held_by ?? "",
    lease_expires_at: start.lease_expires_at ?? "",
    has_more: false,
    dry_run: dryRun,
  };
}

const skipReason = (skipped: SkippedRun) =>
  skipped.reason === "duplicate delivery" ? `${skipped.occurrence} was delivered before` : "another run holds the lease";

/** What sends the job's check-ins, when a check-in target is configured for it (lib/checkins). */
function checkinSenderFor(job: JobDefinition, context: RunContext, logger: Logger): CheckinSender | undefined {
  const target = checkinTarget(context.env, job.id);
  return target && createCheckinSender(job.id, target, { db: context.ports.db, clock: context.clock, logger });
}

function failuresOf(result: JobResult): number {
  if (typeof result.failed_count === "number") return result.failed_count;
  return Array.isArray(result.errors) ? result.errors.length : 0;
}

function finish(context: Running, status: string, result: unknown, error: unknown) {
  return context.ports.db.call("export_ops_finish_run", {
    p_run_id: context.runId,
    p_status: status,
    p_result: result,
    p_error: error,
    ...sqlTime(context.clock),
  });
}
