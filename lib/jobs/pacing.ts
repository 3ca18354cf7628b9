/**
 * The options that pace every bulk job: `nice_ratio`, and the load governor's `yield_to_load`, `slow_factor` and
 * `stop_factor`. The pacer they set is lib/batches/pacing.ts (its governor lib/batches/load.ts), below the jobs, so
 * that the log archive and the erasure pace their batches the same way without importing a job.
 */
import type { JobDeps } from "../ports";
import { createPacer, type Pacer } from "../batches/pacing";
import type { LoadReport } from "../batches/load";
import { queryBoolean, queryRatio } from "./job";

export { createPacer, FULL_SPEED, type Pacer } from "../batches/pacing";
export { idleLoad, type LoadReport } from "../batches/load";

/** The option every batch job takes: `?nice_ratio=1` rests as long as the run has worked. */
export const niceRatioOption = queryRatio(0, 10).default(0);

/**
 * The load governor's defaults, chosen to leave a quiet host's runs as they were: a batch twice as slow per row as
 * the run's fastest is followed by a rest; three in a row ten times as slow stop the run.
 */
export const SLOW_FACTOR = 2;
export const STOP_FACTOR = 10;

/** Every bulk job's pacing options, with their bounds: one definition, spread into each job's schema. */
export const pacingOptions = {
  nice_ratio: niceRatioOption,
  /** `false`: the run neither rests nor stops for load (its batches are still timed, and `load` reports them). */
  yield_to_load: queryBoolean.default(true),
  slow_factor: queryRatio(1.1, 20).default(SLOW_FACTOR),
  stop_factor: queryRatio(1.5, 100).default(STOP_FACTOR),
};

export interface PacingOptions {
  nice_ratio: number;
  yield_to_load: boolean;
  slow_factor: number;
  stop_factor: number;
}

/** The pacer a run's options ask for. */
export function pacerFor(options: PacingOptions, deps: Pick<JobDeps, "clock" | "deadline" | "logger">): Pacer {
  const load = { yield: options.yield_to_load, slowFactor: options.slow_factor, stopFactor: options.stop_factor };
  return createPacer({ ratio: options.nice_ratio, load }, deps);
}

/** Why a run stopped for load, from its result, or null. */
export function stoppedForLoad(result: { load?: LoadReport }): string | null {
  return result.load?.stopped_for_load ?? null;
}
