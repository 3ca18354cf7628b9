/**
 * The file cleanup's worker pool: `concurrency` workers, of which the first goes alone until it calls `probed()`
 * (its first batch shows how fast Storage is) or ends; then the others start. Calls made through `serially` run
 * one at a time, in the order they were asked for (a run's own SQL calls never contend with each other), while
 * whatever the workers do between them overlaps. The first failure, thrown by a worker or by a serial call, stops
 * the pool: no queued serial call starts after it, `serially` answers undefined from then on, and `run` rejects
 * with that error once every worker has returned.
 */
export interface WorkerPool {
  /** Runs `call` after every call queued before it; undefined when the pool has failed (the call is not made). */
  serially<T>(call: () => Promise<T>): Promise<T | undefined>;
  /** Whether a worker or a serial call has failed. */
  failed(): boolean;
  run(concurrency: number, worker: (n: number, probed: () => void) => Promise<void>): Promise<void>;
}

export function createWorkerPool(): WorkerPool {
  let failure: { error: unknown } | undefined;
  let turn: Promise<unknown> = Promise.resolve();
  return {
    serially<T>(call: () => Promise<T>): Promise<T | undefined> {
      // a failed call is recorded before the next queued call may start, so that call is never made
      const next = turn
        .then(() => (failure ? undefined : call()))
        .catch((error: unknown) => {
          failure ??= { error };
          return undefined;
        });
      turn = next;
      return next;
    },
    failed: () => failure !== undefined,
    async run(concurrency, worker) {
      let probed: () => void = () => {};
      const probe = new Promise<void>((resolve) => (probed = resolve));
      const start = async (n: number) => {
        if (n > 0) await probe;
        await worker(n, probed);
      };
      await Promise.all(
        Array.from(
          { length: concurrency },
          (_, n) =>
            start(n)
              .catch((error: unknown) => void (failure ??= { error }))
              .finally(() => n === 0 && probed()), // however the first worker ends, the others go on
        ),
      );
      if (failure) throw failure.error;
    },
  };
}
