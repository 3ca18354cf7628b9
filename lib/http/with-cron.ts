/**
 * The wrapper every cron route uses: fail closed on a bad CRON_SECRET, check the bearer in constant time,
 * parse query options with the job's schema, run the job (lib/jobs/runner.ts), and answer
 * {success, result, timestamp} or {success: false, error: {code, message}, timestamp}. Unknown errors become a
 * generic 500; their detail is logged only.
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { getDeadline } from "@vercel/functions";
import type { z } from "zod";
import { describeIssues, getCronSecret, getEnv, type Env } from "../env";
import { UnauthorizedError, ValidationError, publicError } from "../errors";
import { deadlineFor, type JobDefinition, type JobResult } from "../jobs/job";
import { executeJob, type Trigger } from "../jobs/runner";
import { logger as rootLogger, type Logger } from "../logger";
import { systemClock, type Clock, type JobDeps } from "../ports";
import { createSupabasePorts } from "../supabase";

export interface CronOverrides {
  /** Builds the job's database and storage ports; defaults to the configured Supabase project. */
  makePorts?: (env: Env) => Pick<JobDeps, "db" | "storage">;
  clock?: Clock;
  logger?: Logger;
}

const sha256 = (value: string) => createHash("sha256").update(value).digest();

/** Exact `Bearer <secret>`; hashing both sides first makes the comparison constant-time whatever the length. */
export function isAuthorized(header: string | null, secret: string): boolean {
  return header !== null && timingSafeEqual(sha256(header), sha256(`Bearer ${secret}`));
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

function respond(status: number, body: Record<string, unknown>): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store" } });
}

/** Wraps a job as a GET route handler. */
export function withCron<S extends z.ZodType, R extends JobResult>(job: JobDefinition<S, R>, overrides: CronOverrides = {}) {
  return async function handler(request: Request): Promise<Response> {
    const clock = overrides.clock ?? systemClock;
    const runId = randomUUID();
    const logger = overrides.logger ?? rootLogger;
    try {
      const secret = getCronSecret();
      if (!isAuthorized(request.headers.get("authorization"), secret)) throw new UnauthorizedError();
      const options = parseQuery(job.optionsSchema, new URL(request.url).searchParams);
      const env = getEnv();
      const ports = (overrides.makePorts ?? createSupabasePorts)(env);
      const deadline = deadlineFor(job, clock.now().getTime(), getDeadline());
      const result = await executeJob(job, { env, ports, clock, logger, trigger: triggerOf(request), runId, deadline }, options);
      return respond(200, { success: true, result, timestamp: clock.now().toISOString() });
    } catch (error) {
      const { status, body } = publicError(error);
      // Failures inside the job were already logged by the runner; log what was refused before it ran.
      if (status === 401 || status === 400 || body.code === "config_error") {
        const type = status === 401 ? "cron_unauthorized" : status === 400 ? "cron_bad_request" : "cron_config_error";
        logger[status >= 500 ? "error" : "warn"]({ type, job: job.id, run_id: runId, status, error: body }, `${job.id}: ${body.message}`);
      }
      return respond(status, { success: false, error: body, timestamp: clock.now().toISOString() });
    }
  };
}
