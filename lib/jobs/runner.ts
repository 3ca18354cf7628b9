/**
 * Runs one job invocation, whoever triggered it (a cron route, a script, a test): gives it a run id, a child
 * logger and a deadline, and writes the one summary line (`job_completed` or `job_failed`).
 */
import { randomUUID } from "node:crypto";
import type { z } from "zod";
import type { Env } from "../env";
import { publicError } from "../errors";
import type { Logger } from "../logger";
import type { Clock, JobDeps } from "../ports";
import { deadlineFor, type JobDefinition, type JobResult } from "./job";

export type Trigger = "vercel_cron" | "manual" | "script";

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
): Promise<R> {
  const runId = context.runId ?? randomUUID();
  const startedAt = context.clock.now().getTime();
  const logger = context.logger.child({ job: job.id, run_id: runId });
  const deps: JobDeps = {
    ...context.ports,
    env: context.env,
    clock: context.clock,
    logger,
    runId,
    deadline: context.deadline ?? deadlineFor(job, startedAt),
  };
  try {
    const result = await job.run(deps, options);
    const duration_ms = context.clock.now().getTime() - startedAt;
    logger.info({ type: "job_completed", trigger: context.trigger, duration_ms, result }, `${job.id} completed`);
    return result;
  } catch (error) {
    const duration_ms = context.clock.now().getTime() - startedAt;
    logger.error({ type: "job_failed", trigger: context.trigger, duration_ms, error: publicError(error).body, err: error }, `${job.id} failed`);
    throw error;
  }
}
