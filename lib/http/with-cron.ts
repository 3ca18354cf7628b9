/**
 * The wrapper every cron route uses: the CRON_SECRET bearer guard (./with-bearer.ts: fail closed, constant-time,
 * typed errors to statuses), query options parsed with the job's schema, the job run by lib/jobs/runner.ts, and
 * {success, result, timestamp} on success.
 */
import { randomUUID } from "node:crypto";
import { getDeadline } from "@vercel/functions";
import type { z } from "zod";
import { describeIssues, getCronSecret, getEnv, type Env } from "../env";
import { ValidationError } from "../errors";
import { deadlineFor, type JobDefinition, type JobResult } from "../jobs/job";
import { executeJob, type Trigger } from "../jobs/runner";
import { logger as rootLogger, type Logger } from "../logger";
import { systemClock, type Clock, type JobDeps } from "../ports";
import { createSupabasePorts } from "../supabase";
import { guarded, respond } from "./with-bearer";

export interface CronOverrides {
  /** Builds the job's database and storage ports; defaults to the configured Supabase project. */
  makePorts?: (env: Env) => Pick<JobDeps, "db" | "storage">;
  clock?: Clock;
  logger?: Logger;
}

/** Vercel Cron sends its own user agent and the schedule that fired; anything else is a person or a script. */
export function triggerOf(request: Request): Trigger {
  const fromVercel = request.headers.get("user-agent")?.includes("vercel-cron/") && request.headers.has("x-vercel-cron-schedule");
  return fromVercel ? "vercel_cron" : "manual";
}

/** Query string → job options. Repeated or unknown parameters and bad values are a 400 naming them. */
export function parseQuery<S extends z.ZodType>(schema: S, params: URLSearchParams): z.output<S> {
  const raw: Record<string, string> = {};
  for (const [key, value] of params) {
    if (key in raw) throw new ValidationError(`Query parameter ${key} is given more than once`, { parameter: key });
    raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    if (first?.code === "unrecognized_keys") {
      throw new ValidationError(`Unknown query parameter: ${first.keys.join(", ")}`, { parameter: first.keys.join(", ") });
    }
    throw new ValidationError(`Invalid query parameter: ${describeIssues(parsed.error).join("; ")}`, { parameter: first?.path.join(".") });
  }
  return parsed.data;
}

/** Wraps a job as a GET route handler. */
export function withCron<S extends z.ZodType, R extends JobResult>(job: JobDefinition<S, R>, overrides: CronOverrides = {}) {
  return async function handler(request: Request): Promise<Response> {
    const clock = overrides.clock ?? systemClock;
    const runId = randomUUID();
    const logger = overrides.logger ?? rootLogger;
    const guard = { secret: getCronSecret, name: job.id, clock, logger, bindings: { job: job.id, run_id: runId } };
    return guarded(request, guard, async () => {
      const options = parseQuery(job.optionsSchema, new URL(request.url).searchParams);
      const env = getEnv();
      const ports = (overrides.makePorts ?? createSupabasePorts)(env);
      const deadline = deadlineFor(job, clock.now().getTime(), getDeadline());
      const result = await executeJob(job, { env, ports, clock, logger, trigger: triggerOf(request), runId, deadline }, options);
      return respond(200, { success: true, result, timestamp: clock.now().toISOString() });
    });
  };
}
