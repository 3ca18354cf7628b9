/**
 * What the library's summaries return: the shapes of export-ops' SQL API (its SQL functions' results, checked at
 * run time in the export-ops app by lib/sql-contract.ts; a type test there keeps these the same).
 */

export interface DurationFigures {
  count: number;
  avg_ms: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
}

/** Everything a dashboard wants about a period, from the raw metrics. */
export interface MetricsSummary {
  from: string;
  to: string;
  total_exports: number;
  successful_exports: number;
  failed_exports: number;
  success_rate: number | null;
  duration_by_format: Record<string, DurationFigures>;
  duration_by_count_range: Record<string, DurationFigures>;
  file_size_by_format: Record<string, { avg_bytes: number; max_bytes: number }>;
  volume_by_hour: { hour: string; total: number; failed: number }[];
  volume_by_day: { day: string; total: number; failed: number }[];
  format_distribution: Record<string, { count: number; share: number }>;
  top_users: { user_id: string; exports: number }[];
  failures_by_error_type: Record<string, number>;
}

/** Totals and duration percentiles of a period from the hourly rollups alone. */
export interface RollupSummary {
  from: string;
  to: string;
  hours: number;
  total_exports: number;
  failed_exports: number;
  duration_by_format: Record<string, DurationFigures>;
}

/** Exports per day over the last `days` days, today included. */
export interface VolumeStats {
  days: number;
  total: number;
  avg_per_day: number;
  per_day: { day: string; exports: number }[];
}
