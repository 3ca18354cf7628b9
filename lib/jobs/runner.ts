/**
 * Runs one job invocation, whoever triggered it (a cron route, a script, a test): records it in the run history
 * (taking the job's lease first when it must not overlap, and answering `skipped` when another run holds it;
 * a dry run takes no lease and claims no scheduled occurrence, so it never keeps a real run from running),
 * gives it a run id, a child logger and a deadline, and writes the one summary line (`job_completed`,
 * `job_failed` or `job_skipped`).
 */
import { randomUUID } from "node:crypto";
import type * as z from "zod";
import type { Env } from "../env";
import { loggedErrors, publicError } from "../errors";
import type { Logger } from "../logger";
import { checkinTarget, createWatcher, type Watcher } from "../checkins/checkins";
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

/**
 * One run, in a span named for its job (lib/tracing.ts; a no-op unless tracing is on) with OpenTelemetry's FaaS
 * attributes — `faas.trigger` `timer` for scheduled deliveries and their continuations, `other` for a person or a
 * script; `faas.cron`; `faas.invocation_id` the platform's execution ID where it sent one (Vercel Schedules), else
 * the run id — and the run's outcome and counts.
 */
export async function executeJob<S extends z.ZodType, R extends JobResult>(
  job: JobDefinition<S, R>,
  context: RunContext,
  options: z.output<S>,
): Promise<R | SkippedRun> {
  const runId = context.runId ?? randomUUID();
  const attributes = {
    "faas.trigger": context.trigger === "vercel_cron" || context.trigger === "continuation" ? "timer" : "other",
    "faas.cron": job.schedule,
    "faas.invocation_id": context.delivery?.executionId ?? runId,
    "export_ops.job": job.id,
    "export_ops.trigger": context.trigger,
    ...(context.delivery ? { "export_ops.occurrence": context.delivery.occurrence, "export_ops.run_id": runId } : {}),
  };
  return inSpan(job.id, attributes, async (span) => {
    const result = await runOnce(job, { ...context, runId }, options);
    span.setAttributes(resultAttributes(result));
    span.setAttribute("export_ops.status", "skipped" in result && result.skipped ? "skipped" : runOutcome(result, job.progress(result as R)));
    return result;
  });
}

async function runOnce<S extends z.ZodType, R extends JobResult>(
  job: JobDefinition<S, R>,
  context: RunContext & { runId: string },
  options: z.output<S>,
): Promise<R | SkippedRun> {
  const runId = context.runId;
  const startedAt = context.clock.now().getTime();
  const logger = context.logger.child({ job: job.id, run_id: runId });
  const dryRun = Boolean((options as { dry_run?: boolean }).dry_run);
  const { db } = context.ports;
  const time = sqlTime(context.clock);
  // a dry run is never a delivery: it claims no occurrence and takes no lease, so a real run is never skipped for it
  const delivery = context.delivery;
  if (delivery && !dryRun) {
    const claim = await db.call("export_ops_claim_occurrence", {
      p_run_id: runId,
      p_job: job.id,
      p_trigger: context.trigger,
      p_occurrence: delivery.occurrence,
      p_scheduled_at: delivery.scheduledAt?.toISOString() ?? null,
      ...time,
    });
    if (!claim.claimed) {
      const skipped: SkippedRun = {
        skipped: true,
        reason: "duplicate delivery",
        occurrence: delivery.occurrence,
        first_run_id: claim.first_run_id ?? "",
        has_more: false,
        dry_run: dryRun,
      };
      logger.info({ type: "job_skipped", trigger: context.trigger, result: skipped }, `${job.id} skipped: ${delivery.occurrence} was delivered before`);
      return skipped;
    }
  }
  const start = await db.call("export_ops_start_run", {
    p_run_id: runId,
    p_job: job.id,
    p_trigger: context.trigger,
    p_dry_run: dryRun,
    p_max_seconds: job.maxDurationSeconds,
    p_lease_seconds: job.overlap === "skip" && !dryRun ? job.maxDurationSeconds * 2 : null,
    ...time,
  });
  if (!start.started) {
    const skipped: SkippedRun = {
      skipped: true,
      reason: "another run holds the lease",
      held_by: start.held_by ?? "",
      lease_expires_at: start.lease_expires_at ?? "",
      has_more: false,
      dry_run: dryRun,
    };
    logger.info({ type: "job_skipped", trigger: context.trigger, result: skipped }, `${job.id} skipped: another run holds the lease`);
    return skipped;
  }
  const watcher = dryRun ? undefined : watcherFor(job, context, logger);
  const checkin: Omit<CheckinRun, "runId"> = {
    schedule: job.schedule,
    graceMinutes: graceMinutesFor(job.schedule, context.clock.now(), context.env.EXPORT_OPS_SCHEDULE_TIMEZONE),
    maxDurationSeconds: job.maxDurationSeconds,
    ...(context.delivery?.executionId ? { executionId: context.delivery.executionId } : {}),
  };
  await watcher?.reportAbandoned(checkin);
  await watcher?.send("start", { ...checkin, runId });
  const deps: JobDeps = {
    ...context.ports,
    env: context.env,
    clock: context.clock,
    logger,
    runId,
    deadline: context.deadline ?? deadlineFor(job, startedAt),
  };
  let result: R;
  try {
    result = await job.run(deps, options);
  } catch (error) {
    const duration_ms = context.clock.now().getTime() - startedAt;
    const body = publicError(error).body;
    logger.error({ type: "job_failed", trigger: context.trigger, duration_ms, error: body, err: error }, `${job.id} failed`);
    await finish(db, runId, "failed", null, body, context.clock).catch((e: unknown) => logger.error({ type: "run_history_write_failed", err: e }, `${job.id}: the failed run could not be recorded`));
    await watcher?.send("fail", { ...checkin, runId, durationMs: duration_ms, progress: 0, failures: 1 });
    if (error && typeof error === "object") loggedErrors.add(error);
    throw error;
  }
  const progress = job.progress(result);
  const status = runOutcome(result, progress);
  await finish(db, runId, status, result, null, context.clock);
  const duration_ms = context.clock.now().getTime() - startedAt;
  await watcher?.send(status === "failed" ? "fail" : "success", { ...checkin, runId, durationMs: duration_ms, progress, failures: failuresOf(result) });
  if (status === "failed") {
    logger.error({ type: "job_failed", trigger: context.trigger, status, duration_ms, result }, `${job.id} failed: no progress, every attempt failed`);
  } else {
    logger.info({ type: "job_completed", trigger: context.trigger, status, duration_ms, result }, `${job.id} completed`);
  }
  return result;
}

/** The job's outside watcher, when one is configured for it (lib/checkins). */
function watcherFor(job: JobDefinition, context: RunContext, logger: Logger): Watcher | undefined {
  const target = checkinTarget(context.env, job.id);
  return target && createWatcher(job.id, target, { db: context.ports.db, clock: context.clock, logger });
}

function failuresOf(result: JobResult): number {
  if (typeof result.failed_count === "number") return result.failed_count;
  return Array.isArray(result.errors) ? result.errors.length : 0;
}

function finish(db: RunContext["ports"]["db"], runId: string, status: string, result: unknown, error: unknown, clock: Clock) {
  return db.call("export_ops_finish_run", { p_run_id: runId, p_status: status, p_result: result, p_error: error, ...sqlTime(clock) });
}
