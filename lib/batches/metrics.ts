/**
 * Deleting raw export metrics in batches: those past retention (the monthly log cleanup) or one user's (the
 * erasure). One statement per batch, each short; the rollups stay.
 */
import type { JobDeps } from "../ports";

/** Raw metric rows deleted per SQL call. */
export const METRICS_BATCH = 10_000;

/** Metrics recorded before `cutoff` (and already rolled up: the SQL function keeps the rest), or one user's. */
export type MetricsScope = { cutoff: Date; userId?: undefined } | { userId: string; cutoff?: undefined };

export interface MetricsDeletion {
  deleted: number;
  /** False when the deadline came with a full batch just deleted: there may be more, for the next run. */
  finished: boolean;
}

/** Deletes the raw metrics in scope, batch by batch, until a batch comes back short; after the first, only before the deadline. */
export async function deleteMetricsInBatches(
  deps: Pick<JobDeps, "db" | "clock" | "deadline">,
  scope: MetricsScope,
  batchSize = METRICS_BATCH,
): Promise<MetricsDeletion> {
  const args = scope.userId !== undefined ? { p_user_id: scope.userId } : { p_cutoff: scope.cutoff.toISOString() };
  let total = 0;
  let deleted: number;
  do {
    deleted = await deps.db.call("export_ops_delete_metrics", { ...args, p_limit: batchSize });
    total += deleted;
  } while (deleted === batchSize && deps.clock.now().getTime() < deps.deadline);
  return { deleted: total, finished: deleted < batchSize };
}
