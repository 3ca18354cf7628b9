/**
 * The load governor every bulk job's pacer carries (./pacing.ts). Its signal is the run's own work: each batch (one
 * statement or Storage request) is timed, per row, against the run's fastest (the second fastest of the kind's recent
 * batches: one freak fast batch is not the measure), as
 * pt-archiver's `--sleep-coef` and gh-ost's own latency checks judge the database by what their own statements take.
 * What makes those batches slower — the host's statements on the same cores, WAL writes, locks, a busy Storage — is
 * what the host feels too; it needs no privilege and no SQL of its own.
 *
 * A batch `slowFactor` times as slow as that baseline or more is followed by a rest of (factor − 1) × its time
 * (the factor capped at `stopFactor`): the run then works 1/factor of the time, and speeds up again as soon as its
 * batches do. STOP_AFTER batches of one kind in a row at `stopFactor` or more stop the run: it takes no
 * new work, finishes what it holds, and says why (`stopped_for_load`) with `has_more`.
 *
 * What it cannot see: load already there when the run began (its first batches are its baseline), and load that
 * does not slow the run's own statements.
 */

/** How a run yields to load: the jobs' `yield_to_load`, `slow_factor` and `stop_factor` options. */
export interface LoadLimits {
  /** false: batches are still timed and reported, but the run never rests or stops for load. */
  yield: boolean;
  /** A batch this many times as slow (per row) as the run's fastest is followed by a rest. */
  slowFactor: number;
  /** STOP_AFTER batches of one kind in a row this many times as slow stop the run. */
  stopFactor: number;
}

/** One batch of a run's work: its kind (one statement or request), the rows (names, hours) it did and its time. */
export interface TimedBatch {
  kind: string;
  units: number;
  ms: number;
}

/** What tells the governor how loaded the database is, batch by batch. */
export interface LoadSignal {
  /** How many times as slow as unloaded the batch was (1: as fast); undefined while that is not known. */
  judge(batch: TimedBatch): number | undefined;
}

/** What a run's result says of load (its `load` field). */
export interface LoadReport {
  /** Batches compared with the run's fastest (the first few of each kind, and very short ones, are not). */
  batches_judged: number;
  /** Of those, the ones at `slow_factor` or more. */
  slow_batches: number;
  /** The slowest batch, as a multiple of the run's fastest; null when none was judged. */
  slowest_factor: number | null;
  /** Of the run's `rested_ms`, the rests taken for load (beyond what `nice_ratio` asked). */
  rested_ms: number;
  /** Why the run stopped for load (it left the rest, `has_more`, for the next run), or null. */
  stopped_for_load: string | null;
}

/** A batch shorter than this says little about load (a request's own overhead is most of it): never judged. */
export const MIN_TIMED_MS = 20;
/** Batches of a kind timed before the next one is judged: the baseline is the second fastest of them. */
export const BASELINE_BATCHES = 3;
/** Batches of one kind in a row (each begun after the last one ended) at `stopFactor` or more that stop the run. */
export const STOP_AFTER = 3;
/** The recent batches of a kind the baseline is taken from. */
const RECENT_BATCHES = 500;

/** The report of a run that did no timed work (a dry run, the erasure). */
export function idleLoad(): LoadReport {
  return { batches_judged: 0, slow_batches: 0, slowest_factor: null, rested_ms: 0, stopped_for_load: null };
}

/**
 * The run's own batch times: each batch's time per row against the second fastest (one freak fast batch is not the
 * baseline) of the kind's recent batches, once BASELINE_BATCHES of them were timed.
 */
export function batchTimes(): LoadSignal {
  const perRow = new Map<string, number[]>();
  return {
    judge({ kind, units, ms }) {
      if (units <= 0 || ms < MIN_TIMED_MS) return undefined;
      const seen = perRow.get(kind) ?? [];
      perRow.set(kind, seen);
      const baseline = seen.length >= BASELINE_BATCHES ? [...seen].sort((a, b) => a - b)[1] : undefined;
      seen.push(ms / units);
      if (seen.length > RECENT_BATCHES) seen.shift();
      return baseline ? ms / units / baseline : undefined;
    },
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The governor: judges each timed batch, says what rest load asks for and whether the run must stop. */
export function createGovernor(limits: LoadLimits | undefined, signal: LoadSignal) {
  const report = idleLoad();
  /** Per kind: slow batches in a row at stopFactor or more, the least of their factors, and when the last ended. */
  const streaks = new Map<string, { count: number; least: number; until: number }>();
  /** The rest the slow batches since the last rest ask for: the longest one's, as concurrent batches share a rest. */
  let owed = 0;

  const streakOf = (kind: string, factor: number, start: number, end: number, stopFactor: number) => {
    const streak = streaks.get(kind) ?? { count: 0, least: Infinity, until: -Infinity };
    streaks.set(kind, streak);
    if (factor < stopFactor) Object.assign(streak, { count: 0, least: Infinity });
    // batches in flight together count once: a stall that slows them all is one slow moment, not several
    else if (start >= streak.until) Object.assign(streak, { count: streak.count + 1, least: Math.min(streak.least, factor), until: end });
    return streak;
  };

  return {
    /**
     * A batch of `kind` that did `units` from `start` to `end` (ms, the pacer's time); resolves to the reason when this
     * batch stopped the run.
     */
    observe(kind: string, units: number, start: number, end: number): string | undefined {
      const factor = signal.judge({ kind, units, ms: end - start });
      if (factor === undefined || !limits) return undefined;
      report.batches_judged += 1;
      report.slowest_factor = round2(Math.max(report.slowest_factor ?? 0, factor));
      if (factor >= limits.slowFactor) {
        report.slow_batches += 1;
        if (limits.yield) owed = Math.max(owed, (Math.min(factor, limits.stopFactor) - 1) * (end - start));
      }
      const streak = streakOf(kind, factor, start, end, limits.stopFactor);
      if (!limits.yield || report.stopped_for_load || streak.count < STOP_AFTER) return undefined;
      report.stopped_for_load =
        `${streak.count} ${kind} batches in a row took ${round2(streak.least)} times or more the time per row of the ` +
        `run's fastest (stop_factor ${limits.stopFactor})`;
      return report.stopped_for_load;
    },
    /** Whether a rest for load is owed. */
    owes: () => owed > 0,
    /** The rest owed for load, ms; nothing is owed after. */
    takeOwed(): number {
      const ms = owed;
      owed = 0;
      return ms;
    },
    /** A rest taken for load. */
    rested(ms: number) {
      report.rested_ms += ms;
    },
    stopped: () => report.stopped_for_load,
    report: (): LoadReport => ({ ...report }),
  };
}

export type Governor = ReturnType<typeof createGovernor>;
