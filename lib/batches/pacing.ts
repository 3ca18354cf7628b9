/**
 * Pacing by a nice ratio (gh-ost's `--nice-ratio`): a run rests `ratio` times as long as it has worked, so at
 * ratio 1 it works half the time and leaves the database's cores to the host's own statements the other half;
 * 0 is full speed. Work and rest are the run's, not a worker's: every worker waits out the same rest before its
 * next batch (one worker resting while the others carried on would change little). A rest never runs past the
 * run's deadline, so a paced run still stops on time and reports what it did; what it did not reach is
 * `has_more`, for the next run. The option that sets the ratio is the jobs' (niceRatioOption, lib/jobs/pacing.ts).
 *
 * The same rests carry the load governor (./load.ts): the batches the run times (`timed`) tell it how loaded the
 * database is; a slow batch makes the next rest longer, and a run the governor stops takes no new work
 * (`stoppedForLoad`). Time and the signal are the pacer's sources, so tests give it fake ones.
 */
import type { JobDeps } from "../ports";
import { batchTimes, createGovernor, idleLoad, type LoadLimits, type LoadReport, type LoadSignal } from "./load";

export interface Pacer {
  /** Before each batch: rests what the run owes (`ratio` × its time working, less what it has rested; load's rest). */
  pause(): Promise<void>;
  /** Time rested so far, ms (a run reports it as `rested_ms`). */
  rested(): number;
  /** Runs one batch's work and times it for the load governor; `units` says how many rows (names, hours) it did. */
  timed<T>(kind: string, work: () => Promise<T>, units: (done: T) => number): Promise<T>;
  /** Why the governor stopped the run (it takes no new work), or null. */
  stoppedForLoad(): string | null;
  /** What the run's result says of load. */
  load(): LoadReport;
}

/** How a run is paced: its nice ratio, and the load governor's limits (none: the governor is off). */
export interface Pacing {
  ratio: number;
  load?: LoadLimits;
}

/** The pacer's time: a monotonic clock in ms and a timer. */
export interface PacerTime {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realTime: PacerTime = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

type Deps = Pick<JobDeps, "clock" | "deadline"> & Partial<Pick<JobDeps, "logger">>;

export function createPacer(pacing: Pacing, deps: Deps, sources: { time?: PacerTime; signal?: LoadSignal } = {}): Pacer {
  const { ratio } = pacing;
  const time = sources.time ?? realTime;
  const governor = createGovernor(pacing.load, sources.signal ?? batchTimes());
  const began = time.now();
  let rested = 0;
  let resting: Promise<void> | undefined;
  const rest = async () => {
    const nice = ratio * (time.now() - began - rested) - rested;
    const load = governor.takeOwed();
    const owed = Math.max(nice, load);
    if (owed <= 0) return;
    const ms = Math.round(Math.min(owed, deps.deadline - deps.clock.now().getTime()));
    if (ms <= 0) return;
    const forLoad = Math.max(0, ms - Math.max(0, Math.round(nice)));
    rested += ms;
    governor.rested(forLoad);
    if (forLoad > 0) deps.logger?.debug({ type: "load_rest", rest_ms: ms }, `resting ${ms} ms: the database answers slowly`);
    await time.sleep(ms);
  };
  return {
    pause() {
      if (resting) return resting;
      if ((ratio <= 0 && !governor.owes()) || governor.stopped()) return Promise.resolve();
      // workers that pause while a rest is under way wait out that rest
      resting = rest().finally(() => (resting = undefined));
      return resting;
    },
    rested: () => rested,
    async timed(kind, work, units) {
      const start = time.now();
      const done = await work();
      const stopped = governor.observe(kind, units(done), start, time.now());
      if (stopped) deps.logger?.warn({ type: "stopped_for_load", reason: stopped }, `stopping for load: ${stopped}`);
      return done;
    },
    stoppedForLoad: () => governor.stopped(),
    load: () => governor.report(),
  };
}

/** No pacing: full speed, no governor (what callers without the options get). */
export const FULL_SPEED: Pacer = {
  pause: async () => undefined,
  rested: () => 0,
  timed: (_kind, work) => work(),
  stoppedForLoad: () => null,
  load: idleLoad,
};
