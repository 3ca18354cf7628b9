/**
 * Runs one job invocation, whoever triggered it (a cron route, a script, a test): records it in the run history
 * (taking the job's lease first when it must not overlap, and answering `skipped` when another run holds it),
 * gives it a run id, a child logger and a deadline, and writes the one summary line (`job_completed`,
 * `job_failed` or `job_skipped`).
 */
import { randomUUID } from "node:crypto";
import type { z } from "zod";
import type { Env } from "../env";
import { loggedErrors, publicError } from "../errors";
import type { Logger } from "../logger";
import { sqlTime, type Clock, type JobDeps } from "../ports";
import { deadlineFor, runOutcome, type JobDefinition, type JobResult, type SkippedRun } from "./job";

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
}

export async function executeJob<S extends z.ZodType, R extends JobResult>(
  job: JobDefinition<S, R>,
  context: RunContext,
  options: z.output<S>,
): Promise<R | SkippedRun> {
  const runId = context.runId ?? randomUUID();
  const startedAt = context.clock.now().getTime();
  const logger = context.logger.child({ job: job.id, run_id: runId });
  const dryRun = Boolean((options as { dry_run?: boolean }).dry_run);
  const { db } = context.ports;
  const start = await db.call("export_ops_start_run", {
    p_run_id: runId,
    p_job: job.id,
    p_trigger: context.trigger,
    p_dry_run: dryRun,
    p_max_seconds: job.maxDurationSeconds,
    p_lease_seconds: job.overlap === "skip" ? job.maxDurationSeconds * 2 : null,
    ...sqlTime(context.clock),
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
    if (error && typeof error === "object") loggedErrors.add(error);
    throw error;
  }
  const status = runOutcome(result, job.progress(result));
  await finish(db, runId, status, result, null, context.clock);
  const duration_ms = context.clock.now().getTime() - startedAt;
  if (status === "failed") {
    logger.error({ type: "job_failed", trigger: context.trigger, status, duration_ms, result }, `${job.id} failed: no progress, every attempt failed`);
  } else {
    logger.info({ type: "job_completed", trigger: context.trigger, status, duration_ms, result }, `${job.id} completed`);
  }
  return result;
}

function finish(db: RunContext["ports"]["db"], runId: string, status: string, result: unknown, error: unknown, clock: Clock) {
  return db.call("export_ops_finish_run", { p_run_id: runId, p_status: status, p_result: result, p_error: error, ...sqlTime(clock) });
}
