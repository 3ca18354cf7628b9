/**
 * Deleting raw export metrics in batches: those past retention (the monthly log cleanup) or one user's (the
 * erasure). One statement per batch, each short; the rollups stay.
 */
import type { JobDeps } from "../ports";
import { FULL_SPEED, type Pacer } from "./pacing";

/** Raw metric rows deleted per SQL call. */
export const METRICS_BATCH = 10_000;

/** Metrics recorded before `cutoff` (and already rolled up: the SQL function keeps the rest), or one user's. */
export type MetricsScope = { cutoff: Date; userId?: undefined } | { userId: string; cutoff?: undefined };

export interface MetricsDeletion {
  deleted: number;
  /** False when the deadline (or a stop for load) came with a full batch just deleted: there may be more, for the next run. */
  finished: boolean;
}

/**
 * Deletes the raw metrics in scope, batch by batch, until a batch comes back short; after the first, only before the
 * deadline, and while the pacer's load governor has not stopped the run.
 */
export async function deleteMetricsInBatches(
  deps: Pick<JobDeps, "db" | "clock" | "deadline">,
  scope: MetricsScope,
  { batchSize = METRICS_BATCH, pacer = FULL_SPEED }: { batchSize?: number; pacer?: Pacer } = {},
): Promise<MetricsDeletion> {
  const args = scope.userId !== undefined ? { p_user_id: scope.userId } : { p_cutoff: scope.cutoff.toISOString() };
  let total = 0;
  let deleted: number;
  do {
    await pacer.pause();
    deleted = await pacer.timed(
      "metrics delete",
      () => deps.db.call("export_ops_delete_metrics", { ...args, p_limit: batchSize }),
      (n) => n,
    );
    total += deleted;
  } while (deleted === batchSize && !pacer.stoppedForLoad() && deps.clock.now().getTime() < deps.deadline);
  return { deleted: total, finished: deleted < batchSize };
}
