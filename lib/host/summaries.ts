/**
 * What the library's summaries return: the results of export-ops' SQL functions as the SQL API contract
 * (lib/sql-contract.ts) defines them, and checks them on every call.
 */
import type { SqlResult } from "../sql-contract";

/** Everything a dashboard wants about a period, from the raw metrics. */
export type MetricsSummary = SqlResult<"export_ops_metrics_summary">;

/** Totals and duration percentiles of a period from the hourly rollups alone. */
export type RollupSummary = SqlResult<"export_ops_rollup_summary">;

/** Exports per day over the last `days` days, today included. */
export type VolumeStats = SqlResult<"export_ops_volume_stats">;

/** One format's (or count range's) duration figures in a summary. */
export type DurationFigures = MetricsSummary["duration_by_format"][string];
