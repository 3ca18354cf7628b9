/**
 * export-ops for the host app's own code: the metric its export endpoint records for every export, the export
 * log row it keeps, and the types of export-ops' tables. No dependency of its own; the supabase-js 2.x client is
 * the host's (pass yours in).
 */
export { ExportOpsError, rpcOf, type PostgrestErrorLike, type Rpc, type SupabaseLike } from "./client.ts";
export type { ExportLogInsert, ExportLogRow, ExportLogStatus, ExportMetricRow, ExportOpsTables, WithExportOps } from "./database.ts";
export { exportLogs, exportPath, type ExportLogStart } from "./export-log.ts";
export { judgeFailureRate, type FailureAlertPayload, type FailureRateConfig } from "./failure-rate.ts";
export { jsonLogger, type Logger } from "./log.ts";
export { countRange, ExportMetricError, MAX_ERROR_MESSAGE, parseMetric, type CountRange, type ExportMetric, type ExportMetricInput, type ExportStatus } from "./metric.ts";
export { EXPORT_EXTENSION, EXPORT_FORMAT_NAME, ExportInputError, exportPathProblem } from "./rules.ts";
export { createExportMetricsService, ExportMetricsService, type ExportMetricsOptions, type RecordResult } from "./service.ts";
export type { DurationFigures, MetricsSummary, RollupSummary, VolumeStats } from "./summaries.ts";
