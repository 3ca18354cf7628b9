/**
 * ExportMetricsService: the library a host app calls from its export endpoint (one metric per finished or
 * failed export, in the background with `waitUntil`), with summaries of any period for its own dashboards. The
 * only module that imports @vercel/functions; the jobs never import it (they judge alerts with ./alerts). Every
 * figure is computed in SQL; nothing loads rows into Node.
 */
import { waitUntil } from "@vercel/functions";
import { z } from "zod";
import { ValidationError, publicError } from "../errors";
import { logger as rootLogger, type Logger } from "../logger";
import type { SqlApi } from "../ports";
import type { SqlResult } from "../sql-api";
import { createSqlApi, type ServiceClient } from "../supabase";
import { judgeFailureRate, type FailureAlertPayload, type MetricsConfig } from "./alerts";

export type { FailureAlertPayload, MetricsConfig } from "./alerts";

/**
 * A format's name as export_ops_formats takes it. Which formats exist is the database's to say (the seed's four,
 * plus what the host adds there): recording a metric of a format it does not list is refused with a message
 * naming the format and how to add it.
 */
export const EXPORT_FORMAT_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** Error messages are stored and logged up to this many characters; longer ones are cut and marked. */
export const MAX_ERROR_MESSAGE = 2000;
const TRUNCATED = " …[truncated]";

/** Conversation-count ranges: small < 100 ≤ medium < 1000 ≤ large. */
export function countRange(conversations: number): "small" | "medium" | "large" {
  return conversations < 100 ? "small" : conversations < 1000 ? "medium" : "large";
}

export const exportMetricSchema = z
  .object({
    export_id: z.guid({ error: "must be a UUID" }),
    user_id: z.guid({ error: "must be a UUID" }),
    format: z.string({ error: "must be a format name" }).regex(EXPORT_FORMAT_NAME, { error: "must be a format name (a-z, 0-9, '_', '-'), such as jsonl" }),
    status: z.enum(["completed", "failed"], { error: "must be completed or failed" }),
    conversation_count: z.number({ error: "must be a number" }).int().min(0).max(10_000_000),
    duration_ms: z.number({ error: "must be a number" }).int().min(0, { error: "must not be negative" }).max(24 * 3600 * 1000),
    file_size_bytes: z.number({ error: "must be a number or null" }).int().min(0).nullable().default(null),
    error_type: z.string().trim().min(1).max(200).optional(),
    error_message: z
      .string()
      .optional()
      .transform((m) => (m && m.length > MAX_ERROR_MESSAGE ? m.slice(0, MAX_ERROR_MESSAGE - TRUNCATED.length) + TRUNCATED : m)),
  })
  .refine((m) => m.status !== "failed" || m.error_type, { error: "is required for a failed export", path: ["error_type"] });

export type ExportMetricInput = z.input<typeof exportMetricSchema>;
export type ExportMetric = z.output<typeof exportMetricSchema> & { count_range: ReturnType<typeof countRange> };

export interface RecordResult {
  /** Stored now, or already stored by an earlier call for the same export and status. */
  recorded: boolean;
  duplicate: boolean;
  metric: ExportMetric;
  /** Set when the database write failed; the caller's export is not affected. */
  error?: { code: string; message: string };
}




/** Validates a metric; a ValidationError names the first bad field. */
export function parseMetric(input: ExportMetricInput): ExportMetric {
  const parsed = exportMetricSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join(".") || "(metric)";
    throw new ValidationError(`Invalid export metric: ${field} ${issue.message}`, { field });
  }
  return { ...parsed.data, count_range: countRange(parsed.data.conversation_count) };
}

export class ExportMetricsService {
  constructor(
    private readonly db: SqlApi,
    private readonly logger: Logger = rootLogger,
    private readonly config: MetricsConfig = { threshold: 0.1, minSample: 20 },
  ) {}

  /**
   * Records one export's metric and writes one `export_metric` log line. Invalid input throws a
   * ValidationError naming the field (nothing is stored); a database failure never throws: it is logged as
   * `export_metric_write_failed` and returned, so it cannot fail the caller's export.
   */
  async logExportMetric(input: ExportMetricInput): Promise<RecordResult> {
    return this.store(parseMetric(input));
  }

  /**
   * The same, without making the caller wait: validates now (bad input still throws), then stores the metric
   * after the response has been sent, keeping the Vercel function alive for it (`waitUntil`).
   */
  logExportMetricInBackground(input: ExportMetricInput): void {
    waitUntil(this.store(parseMetric(input)));
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
      if (stored.inserted) this.logger.info({ type: "export_metric", ...metric, timestamp: stored.recorded_at });
      else this.logger.debug({ type: "export_metric_duplicate", export_id: metric.export_id, status: metric.status });
      return { recorded: true, duplicate: !stored.inserted, metric };
    } catch (error) {
      const { body } = publicError(error);
      // The metric still reaches the log drain, so log-based dashboards keep counting it.
      this.logger.info({ type: "export_metric", ...metric, timestamp: new Date().toISOString() });
      this.logger.error({ type: "export_metric_write_failed", export_id: metric.export_id, status: metric.status, error: body, err: error });
      return { recorded: false, duplicate: false, metric, error: { code: body.code, message: body.message } };
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

  /**
   * Judges the failure rate over the last `minutes` (see judgeFailureRate in ./alerts): the same judgement the
   * hourly job makes, for a host app or an operator's check.
   */
  checkFailureRate(window: { minutes?: number; sinceLastEvaluationOf?: string; now?: Date } = {}): Promise<FailureAlertPayload> {
    return judgeFailureRate(this.db, this.config, window);
  }

  /** Exports over the last `days` days (today included): total, average per day, and each day. */
  volumeStats(days: number, now?: Date): Promise<{ days: number; total: number; avg_per_day: number; per_day: { day: string; exports: number }[] }> {
    return this.db.call("export_ops_volume_stats", { p_days: days, ...(now ? { p_now: now.toISOString() } : {}) });
  }
}

/** Everything a dashboard wants about a period, from the raw metrics (the shape is the SQL API's: lib/sql-api.ts). */
export type MetricsSummary = SqlResult<"export_ops_metrics_summary">;
/** Totals and duration percentiles of a period from the hourly rollups alone. */
export type RollupSummary = SqlResult<"export_ops_rollup_summary">;


/** For a host app: the service over its own service-role Supabase client. */
export function createExportMetricsService(
  supabase: ServiceClient,
  options: { logger?: Logger; threshold?: number; minSample?: number } = {},
): ExportMetricsService {
  return new ExportMetricsService(createSqlApi(supabase), options.logger, {
    threshold: options.threshold ?? 0.1,
    minSample: options.minSample ?? 20,
  });
}
