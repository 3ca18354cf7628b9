/**
 * What a job is: an id, a schedule, a query-options schema and `run(deps, options)` returning plain counts.
 * The registry (./index.ts) lists the jobs; routes, vercel.json, scripts and health all read from it.
 */
import * as z from "zod";
import type { LoadReport } from "../batches/load";
import { SETTING_BOUNDS, type BoundedSetting } from "../env";
import { REQUEST_TIMEOUT_MS, type JobDeps } from "../ports";

/** Query-string booleans: `true` or `false` only, so `?dry_run=ture` or `=1` is a 400 and not a silent guess. */
export const queryBoolean = z.enum(["true", "false"], { error: "must be true or false" }).transform((v) => v === "true");

/** The settings a run can override with a query option. */
type OptionSetting = { [K in BoundedSetting]: (typeof SETTING_BOUNDS)[K]["option"] extends string ? K : never }[BoundedSetting];

/** A job option that overrides a setting for one run: the setting's own bounds (lib/env.ts SETTING_BOUNDS). */
export function settingOption(name: OptionSetting) {
  return queryInt(SETTING_BOUNDS[name].min, SETTING_BOUNDS[name].max).optional();
}

/**
 * Query-string integers: decimal digits only, then bounds. `0x10`, `1e2`, ` 5`, `5.0` and `+5` are refused
 * (a plain number coercion would read them as 16, 100 and 5).
 */
export function queryInt(min: number, max: number) {
  return queryNumber(/^[0-9]{1,9}$/, "must be a whole number written in decimal digits", z.number().int(), min, max);
}

/**
 * Query-string ratios: a decimal number with at most two decimals (`1`, `0.5`, `2.25`), then bounds. `1e0`,
 * `.5`, `+1` and `0x1` are refused.
 */
export function queryRatio(min: number, max: number) {
  return queryNumber(
    /^[0-9]{1,3}(\.[0-9]{1,2})?$/,
    "must be a number written in decimal digits, at most two after the point",
    z.number(),
    min,
    max,
  );
}

/** A query-string number: its text must match `pattern` (else `error`), then the number its bounds. */
function queryNumber(pattern: RegExp, error: string, number: z.ZodNumber, min: number, max: number) {
  return z
    .string()
    .regex(pattern, { error })
    .transform(Number)
    .pipe(number.min(min, { error: `must be at least ${min}` }).max(max, { error: `must be at most ${max}` }));
}

/** Options every job accepts. Jobs extend this; unknown parameters are rejected (strict). */
export const baseOptionsSchema = z.strictObject({
  dry_run: queryBoolean.default(false),
});

export interface JobResult {
  has_more: boolean;
  dry_run: boolean;
  /** A bulk job's load governor: what it saw, and why it stopped the run if it did (lib/batches/load.ts). */
  load?: LoadReport;
  [key: string]: unknown;
}

/**
 * What an invocation answers when it does nothing: a leased job's while another run holds the lease (`held_by`,
 * `lease_expires_at`), or a second delivery of a scheduled occurrence (`occurrence`, `first_run_id`).
 */
export type SkippedRun = JobResult & { skipped: true } & (
    | { reason: "another run holds the lease"; held_by: string; lease_expires_at: string }
    | { reason: "duplicate delivery"; occurrence: string; first_run_id: string }
  );

export type RunOutcome = "succeeded" | "partial" | "failed";

/**
 * How a finished run is recorded: `succeeded` when all its work is done; `partial` when it made progress but left
 * work (`has_more`) or had failures; `failed` when it had failures and made no progress at all (every batch it
 * attempted failed). A run that threw is `failed` too (the runner records that).
 */
export function runOutcome(result: JobResult, progress: number): RunOutcome {
  const errors = result.errors;
  const failures = (typeof result.failed_count === "number" && result.failed_count > 0) || (Array.isArray(errors) && errors.length > 0);
  if (failures && progress === 0) return "failed";
  return failures || result.has_more ? "partial" : "succeeded";
}

export interface JobDefinition<Schema extends z.ZodType = z.ZodType, Result extends JobResult = JobResult> {
  /** kebab-case id; also the route segment `app/api/cron/<id>` and the script argument. */
  id: string;
  description: string;
  /** Cron expression in UTC, as written to vercel.json. */
  schedule: string;
  /** Seconds; the route exports the same number as `maxDuration`. */
  maxDurationSeconds: number;
  /** The most calls (SQL, Storage, webhook) a run may still make after its last look at the deadline. */
  callsAfterDeadline: number;
  /**
   * `parallel`: safe to run alongside itself by design (its SQL claims disjoint work). `skip`: a second
   * invocation while one runs is recorded and answered as skipped (a lease that a dead run's expiry frees).
   */
  overlap: "parallel" | "skip";
  optionsSchema: Schema;
  /** The work a run did (items deleted, hours rolled up, ...): a run with failures and no progress is `failed`. */
  progress(result: Result): number;
  run(deps: JobDeps, options: z.output<Schema>): Promise<Result>;
}

/** Identity helper that keeps a job's option and result types. */
export function defineJob<Schema extends z.ZodType, Result extends JobResult>(
  job: JobDefinition<Schema, Result>,
): JobDefinition<Schema, Result> {
  return job;
}

/**
 * The time a job may use: its maxDuration, or the platform's own deadline for this invocation when that is
 * sooner (Vercel reports it), less a margin that covers every call the job may still make after its last look at
 * the deadline (`callsAfterDeadline`, each up to REQUEST_TIMEOUT_MS) and the call that records its result, so the
 * platform never cuts a run off before it has said how it ended.
 */
export function deadlineFor(
  job: Pick<JobDefinition, "maxDurationSeconds" | "callsAfterDeadline">,
  startedAt: number,
  platformDeadline?: Date,
): number {
  const margin = (job.callsAfterDeadline + 1) * REQUEST_TIMEOUT_MS;
  const own = startedAt + job.maxDurationSeconds * 1000;
  const platform = platformDeadline?.getTime();
  return Math.min(own, platform !== undefined && Number.isFinite(platform) ? platform : own) - margin;
}
