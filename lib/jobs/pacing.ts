/**
 * The batch jobs' `nice_ratio` option. The pacer it sets is lib/batches/pacing.ts, below the jobs, so that the log
 * archive and the erasure pace their batches the same way without importing a job.
 */
import { queryRatio } from "./job";

export { createPacer, FULL_SPEED, type Pacer } from "../batches/pacing";

/** The option every batch job takes: `?nice_ratio=1` rests as long as the run has worked. */
export const niceRatioOption = queryRatio(0, 10).default(0);
