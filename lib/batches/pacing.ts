/**
 * Pacing by a nice ratio (gh-ost's `--nice-ratio`): a run rests `ratio` times as long as it has worked, so at
 * ratio 1 it works half the time and leaves the database's cores to the host's own statements the other half;
 * 0 is full speed. Work and rest are the run's, not a worker's: every worker waits out the same rest before its
 * next batch (one worker resting while the others carried on would change little). A rest never runs past the
 * run's deadline, so a paced run still stops on time and reports what it did; what it did not reach is
 * `has_more`, for the next run. The option that sets the ratio is the jobs' (niceRatioOption, lib/jobs/pacing.ts).
 */
import type { JobDeps } from "../ports";

export interface Pacer {
  /** Before each batch: rests what the run owes (`ratio` × its time working, less what it has rested). */
  pause(): Promise<void>;
  /** Time rested so far, ms (a run reports it as `rested_ms`). */
  rested(): number;
}

export function createPacer(ratio: number, deps: Pick<JobDeps, "clock" | "deadline">): Pacer {
  const began = performance.now();
  let rested = 0;
  let resting: Promise<void> | undefined;
  const rest = async () => {
    const owed = ratio * (performance.now() - began - rested) - rested;
    const ms = Math.round(Math.min(owed, deps.deadline - deps.clock.now().getTime()));
    if (ms <= 0) return;
    rested += ms;
    await new Promise((resolve) => setTimeout(resolve, ms));
  };
  return {
    pause() {
      if (ratio <= 0) return Promise.resolve();
      // workers that pause while a rest is under way wait out that rest
      resting ??= rest().finally(() => (resting = undefined));
      return resting;
    },
    rested: () => rested,
  };
}

/** No pacing: full speed (what callers without the option get). */
export const FULL_SPEED: Pacer = { pause: async () => undefined, rested: () => 0 };
