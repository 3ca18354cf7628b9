/**
 * ExportMetricsService: what the host's export endpoint calls once an export finished or failed — one metric per
 * export and status, stored through export-ops' SQL API, and one `export_metric` log line — plus summaries of any
 * period for its own dashboards. Every figure is computed in SQL; nothing loads rows into Node.
 */
import { DatabaseError } from "../errors";
import type { SqlApi } from "../ports";
import { createSqlApi, type SupabaseLike } from "../supabase/sql-api";
import { judgeFailureRate, type FailureAlertPayload, type FailureRateConfig } from "./failure-rate";
import { jsonLogger, type Logger } from "./log";
import { parseMetric, type ExportMetric, type ExportMetricInput } from "./metric";
import type { MetricsSummary, RollupSummary, VolumeStats } from "./summaries";

export interface RecordResult {
  /** Stored now, or already stored by an earlier call for the same export and status. */
  recorded: boolean;
  duplicate: boolean;
  metric: ExportMetric;
  /** Set when the database refused or failed the write; the caller's export is not affected. */
  error?: { code: string; message: string };
}

export interface ExportMetricsOptions {
  logger?: Logger;
  /** Keeps the function alive for a background write: Vercel's `waitUntil`, Next's `after`, or your platform's. */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** The failure-rate alert's threshold (fraction, default 0.1) and minimum sample (default 20). */
  threshold?: number;
  minSample?: number;
}

/** Vercel's request context, as @vercel/functions reads it: its `waitUntil` when there is one. */
function platformWaitUntil(promise: Promise<unknown>): void {
  const context = (globalThis as Record<symbol, { get?: () => { waitUntil?: (p: Promise<unknown>) => void } } | undefined>)[
    Symbol.for("@vercel/request-context")
  ];
  context?.get?.()?.waitUntil?.(promise);
}

export class ExportMetricsService {
  private readonly logger: Logger;
  private readonly waitUntil: (promise: Promise<unknown>) => void;
  private readonly config: FailureRateConfig;

  /** `db`: the SQL API client (createSqlApi); a host app makes the service with createExportMetricsService. */
  constructor(
    private readonly db: SqlApi,
    options: ExportMetricsOptions = {},
  ) {
    this.logger = options.logger ?? jsonLogger;
    this.waitUntil = options.waitUntil ?? platformWaitUntil;
    this.config = { threshold: options.threshold ?? 0.1, minSample: options.minSample ?? 20 };
  }

  /**
   * Records one export's metric and writes one `export_metric` log line. Invalid input throws an
   * ExportMetricError naming the field (nothing is stored); a database failure never throws: it is logged as
   * `export_metric_write_failed` and returned, so it cannot fail the caller's export.
   */
  async logExportMetric(input: ExportMetricInput): Promise<RecordResult> {
    return this.store(parseMetric(input));
  }

  /**
   * The same, without making the caller wait: validates now (bad input still throws), then stores the metric
   * after the response has been sent, keeping the function alive for it (`waitUntil`).
   */
  logExportMetricInBackground(input: ExportMetricInput): void {
    this.waitUntil(this.store(parseMetric(input)));
  }

  private async store(metric: ExportMetric): Promise<RecordResult> {
    try {
      const stored = await this.db.call("export_ops_record_metric", {
        p_export_id: metric.export_id,
        p_user_id: metric.user_id,
        p_format: metric.format,
        p_status: metric.status,
        p_conversation_count: metric.conversation_count,
        p_count_range: metric.count_range,
        p_duration_ms: metric.duration_ms,
        p_file_size_bytes: metric.file_size_bytes,
        p_error_type: metric.error_type ?? null,
        p_error_message: metric.error_message ?? null,
      });
      if (stored.inserted) this.logger.info({ type: "export_metric", ...metric, timestamp: stored.recorded_at }, "export metric recorded");
      else
        this.logger.debug(
          { type: "export_metric_duplicate", export_id: metric.export_id, status: metric.status },
          "export metric already recorded",
        );
      return { recorded: true, duplicate: !stored.inserted, metric };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const dbCode = error instanceof DatabaseError ? error.dbCode : undefined;
      // The metric still reaches the log drain, so log-based dashboards keep counting it.
      this.logger.info({ type: "export_metric", ...metric, timestamp: new Date().toISOString() }, "export metric (not stored)");
      this.logger.error(
        {
          type: "export_metric_write_failed",
          export_id: metric.export_id,
          status: metric.status,
          error: { code: "database_error", message, db_code: dbCode },
        },
        "export metric not stored",
      );
      return { recorded: false, duplicate: false, metric, error: { code: "database_error", message } };
    }
  }

  /** Totals, rates, duration and size figures, volumes, distribution, top users and failures for [from, to). */
  aggregate(period: { from: Date; to: Date; topUsers?: number }): Promise<MetricsSummary> {
    return this.db.call("export_ops_metrics_summary", {
      p_from: period.from.toISOString(),
      p_to: period.to.toISOString(),
      p_top_users: period.topUsers ?? 10,
    });
  }

  /** The same duration figures read from hourly rollups only (percentiles from the duration histograms). */
  aggregateFromRollups(period: { from: Date; to: Date }): Promise<RollupSummary> {
    return this.db.call("export_ops_rollup_summary", { p_from: period.from.toISOString(), p_to: period.to.toISOString() });
  }

  /** The failure-rate judgement over the last `minutes` (60): the one the hourly job makes before it alerts. */
  checkFailureRate(window: { minutes?: number; sinceLastEvaluationOf?: string; now?: Date } = {}): Promise<FailureAlertPayload> {
    return judgeFailureRate(this.db, this.config, window);
  }

  /** Exports over the last `days` days (today included): total, average per day, and each day. */
  volumeStats(days: number, now?: Date): Promise<VolumeStats> {
    return this.db.call("export_ops_volume_stats", { p_days: days, ...(now ? { p_now: now.toISOString() } : {}) });
  }
}

/**
 * For a host app: the service over its own service-role supabase-js client, through the SQL API client (every
 * argument and result checked against the contract; a failed call, or a malformed result, is a DatabaseError).
 */
export function createExportMetricsService(supabase: SupabaseLike, options: ExportMetricsOptions = {}): ExportMetricsService {
  return new ExportMetricsService(createSqlApi(supabase), options);
}
