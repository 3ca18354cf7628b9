/**
 * The wrapper every cron route uses: fail closed on a bad CRON_SECRET, check the bearer in constant time,
 * parse query options with the job's schema, run the job with a deadline, answer {success, result|error,
 * timestamp}, and log one summary line. Unknown errors become a generic 500; their detail is logged only.
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import type { z } from "zod";
import { describeIssues, getCronSecret, getEnv, type Env } from "../env";
import { UnauthorizedError, ValidationError, publicError } from "../errors";
import { deadlineFor, type JobDefinition, type JobResult } from "../jobs/job";
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
    const parameter = first?.code === "unrecognized_keys" ? first.keys.join(", ") : first?.path.join(".");
    throw new ValidationError(`Invalid query parameter: ${describeIssues(parsed.error).join("; ")}`, { parameter });
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
    const startedAt = clock.now().getTime();
    const runId = randomUUID();
    const log = (overrides.logger ?? rootLogger).child({ job: job.id, run_id: runId });
    try {
      const secret = getCronSecret();
      if (!isAuthorized(request.headers.get("authorization"), secret)) throw new UnauthorizedError();
      const options = parseQuery(job.optionsSchema, new URL(request.url).searchParams);
      const env = getEnv();
      const ports = (overrides.makePorts ?? createSupabasePorts)(env);
      const result = await job.run({ ...ports, clock, logger: log, deadline: deadlineFor(job, startedAt) }, options);
      const durationMs = clock.now().getTime() - startedAt;
      log.info({ type: "cron_job_completed", duration_ms: durationMs, result }, `${job.id} completed`);
      return respond(200, { success: true, result, timestamp: clock.now().toISOString() });
    } catch (error) {
      const { status, body } = publicError(error);
      const type = status === 401 ? "cron_unauthorized" : status === 400 ? "cron_bad_request" : "cron_job_failed";
      const level = status >= 500 ? "error" : "warn";
      log[level]({ type, status, error: body, err: status >= 500 ? error : undefined }, `${job.id}: ${body.message}`);
      return respond(status, { success: false, error: body, timestamp: clock.now().toISOString() });
    }
  };
}
