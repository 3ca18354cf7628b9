/**
 * export-ops for the host app's own code: the metric its export endpoint records for every export, the export
 * log row it keeps, and the types of export-ops' tables. The supabase-js 2.x client is the host's (pass yours in);
 * every SQL API call goes through the one SQL API client, checked against the contract both ways.
 */
export { DatabaseError } from "./errors";
export type { SqlApi } from "./ports";
export { createSqlApi, type PostgrestErrorLike, type SupabaseLike } from "./supabase/sql-api";
export type { ExportLogInsert, ExportLogRow, ExportLogStatus, ExportMetricRow, ExportOpsTables, WithExportOps } from "./host/database";
export { exportLogs, exportPath, type ExportLogStart } from "./host/export-log";
export { judgeFailureRate, type FailureAlertPayload, type FailureRateConfig } from "./host/failure-rate";
export { jsonLogger, type Logger } from "./host/log";
export {
  countRange,
  ExportMetricError,
  MAX_ERROR_MESSAGE,
  parseMetric,
  type CountRange,
  type ExportMetric,
  type ExportMetricInput,
  type ExportStatus,
} from "./host/metric";
export { EXPORT_EXTENSION, EXPORT_FORMAT_NAME, ExportInputError, exportPathProblem } from "./host/rules";
export { createExportMetricsService, ExportMetricsService, type ExportMetricsOptions, type RecordResult } from "./host/service";
export type { DurationFigures, MetricsSummary, RollupSummary, VolumeStats } from "./host/summaries";
