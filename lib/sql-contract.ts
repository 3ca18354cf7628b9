/**
 * The contract between TypeScript and SQL: every SQL function export-ops calls (supabase/migrations), with a zod
 * schema of its named arguments and one of its result. The SqlApi port and the host library's result types are
 * typed from this list, the SQL API client (lib/supabase/sql-api.ts, used by the jobs and the host library alike)
 * validates every call's arguments and result against it (a malformed result is a DatabaseError naming the function
 * and the field), and test/sql-contract.integration.test.ts checks it against `pg_proc`: every listed function
 * exists with these argument names, and every export-ops function is listed (or named below as internal to SQL).
 * The host library carries this file into a host's export endpoint: it imports zod as a namespace (which bundlers
 * tree-shake; `import { z }` brings all of zod, its locales included) and nothing of the app's.
 */
import * as z from "zod";
import { SETTING_BOUNDS } from "./setting-bounds";
import type { AlertPayload } from "./alert-payload";

const time = z.string();
const uuid = z.string();
/** `p_now`: the time SQL takes as "now"; tests only (production leaves time to the database). */
const now = { p_now: time.optional() };
const count = z.number().int();
/**
 * An argument that carries a setting: the setting's bounds (./setting-bounds.ts), which SQL checks too, first thing
 * in every function that takes one (export_ops_setting). The setting's name is the schema's metadata.
 */
const setting = (name: keyof typeof SETTING_BOUNDS) =>
  count.min(SETTING_BOUNDS[name].min).max(SETTING_BOUNDS[name].max).meta({ setting: name });
const retentionHours = setting("EXPORT_FILE_RETENTION_HOURS");
const stuckHours = setting("EXPORT_STUCK_HOURS");
const jsonObject = z.record(z.string(), z.unknown());

/** A job's latest check-in delivery (export_ops_checkin_states). */
export const checkinState = z.object({
  event: z.enum(["start", "success", "fail"]),
  provider: z.string(),
  delivered: z.boolean(),
  http_status: count.nullable(),
  error: z.string().nullable(),
  at: time,
  run_id: uuid,
});
const fn = <A extends z.ZodRawShape, R extends z.ZodType>(args: A, result: R) => ({ args: z.strictObject(args), result });
/** The media type of a batch's archive text (a domain of that name in SQL): PostgREST sends it as it is, unescaped. */
const ARCHIVE_TEXT_MEDIA_TYPE = "application/vnd.export-ops.jsonl";

const runSummary = z.looseObject({
  last_status: z.enum(["succeeded", "partial", "failed", "abandoned"]).nullable(),
  last_started_at: time.nullable(),
  last_finished_at: time.nullable(),
  last_duration_ms: z.number().nullable(),
  last_error: z.object({ code: z.string(), message: z.string() }).nullable(),
  last_success_at: time.nullable(),
  consecutive_failures: count,
  running: count,
  installed_at: time.nullable(),
  totals: z.record(z.string(), z.number()),
});

const claimedExport = z.looseObject({
  export_id: uuid,
  user_id: uuid,
  format: z.string(),
  file_path: z.string().nullable(),
  cleanup_attempts: count,
});
const alertTransition = z.object({
  previous: z.enum(["ok", "firing"]),
  state: z.enum(["ok", "firing"]),
  transition: z.enum(["fired", "resolved"]).nullable(),
});
/** An alert's payload as the app wrote it (json in, json out). */
const alertPayload = z.custom<AlertPayload>((v) => typeof v === "object" && v !== null && !Array.isArray(v), {
  error: "must be an object",
});
const alertStatus = z.record(z.string(), z.object({ state: z.enum(["ok", "firing"]), changed_at: time, evaluated_at: time.nullable() }));
const pageRun = z.object({
  run_id: uuid,
  job: z.string(),
  trigger: z.string(),
  status: z.enum(["running", "succeeded", "partial", "failed", "skipped", "abandoned"]),
  dry_run: z.boolean(),
  started_at: time,
  duration_ms: z.number().nullable(),
  has_more: z.boolean(),
  counts: z.record(z.string(), z.number()),
  error: z.object({ code: z.string().optional(), message: z.string().optional() }).loose().nullable(),
});
const durations = z.record(
  z.string(),
  z.object({ count: z.number(), avg_ms: z.number().nullable(), p50_ms: z.number().nullable(), p95_ms: z.number().nullable() }),
);

export const sqlFunctions = {
  // schema
  export_ops_ping: fn({}, z.object({ now: time, role: z.string(), server_version: z.string() })),
  // file cleanup
  export_ops_file_cleanup_batch: fn(
    {
      p_run_id: uuid,
      p_retention_hours: retentionHours,
      p_limit: count,
      p_expired: z.array(uuid).optional(),
      p_failed: z.array(z.object({ export_id: uuid, error: z.string() })).optional(),
      p_quarantined: z.array(z.object({ export_id: uuid, reason: z.string() })).optional(),
      p_max_attempts: setting("EXPORT_CLEANUP_MAX_ATTEMPTS").optional(),
      p_lease_seconds: count.optional(),
      ...now,
    },
    // more: rows still wait for a claim (a short batch is not the end while other runs hold rows)
    z.object({ expired: count, failed: count, quarantined: count, kept_in_use: count, more: z.boolean(), claimed: z.array(claimedExport) }),
  ),
  export_ops_file_cleanup_preview: fn(
    { p_retention_hours: retentionHours, p_sample_size: count.optional(), ...now },
    z.object({ total: count, kept_in_use: count, sample: z.array(claimedExport.partial({ cleanup_attempts: true })) }),
  ),
  export_ops_orphan_page: fn(
    {
      p_bucket: z.string(),
      p_retention_hours: retentionHours,
      p_stuck_hours: stuckHours,
      p_scan: count.optional(),
      p_advance: z.boolean().optional(),
      p_from: z.string().optional(),
      ...now,
    },
    // each orphan with the user and format of the export export-ops knew it by; `next`: where a next page starts
    z.object({
      orphans: z.array(z.object({ name: z.string(), user_id: uuid, format: z.string() })),
      scanned: count,
      from: z.string(),
      next: z.string(),
      wrapped: z.boolean(),
    }),
  ),
  // each export format and its file extensions (export_ops_formats), the first canonical
  export_ops_formats: fn({}, z.record(z.string(), z.array(z.string()).min(1))),
  export_ops_bucket_states: fn(
    { p_buckets: z.array(z.string()) },
    z.object({
      installed_at: time.nullable(),
      buckets: z.record(z.string(), z.object({ exists: z.boolean(), public: z.boolean(), created_by_export_ops: z.boolean() })),
    }),
  ),
  export_ops_file_cleanup_quarantined: fn(
    { p_limit: count.optional() },
    z.object({ total: count, rows: z.array(z.looseObject({ export_id: uuid, quarantine_reason: z.string().nullable() })) }),
  ),
  export_ops_file_cleanup_release: fn({ p_export_id: uuid }, z.boolean()),
  // metrics
  export_ops_record_metric: fn(
    {
      p_export_id: uuid,
      p_user_id: uuid,
      p_format: z.string(),
      p_status: z.string(),
      p_conversation_count: count,
      p_count_range: z.string(),
      p_duration_ms: count,
      p_file_size_bytes: count.nullable().optional(),
      p_error_type: z.string().nullable().optional(),
      p_error_message: z.string().nullable().optional(),
    },
    z.object({ inserted: z.boolean(), recorded_at: time }),
  ),
  export_ops_metrics_summary: fn(
    { p_from: time, p_to: time, p_top_users: count.optional() },
    z.object({
      from: time,
      to: time,
      total_exports: count,
      successful_exports: count,
      failed_exports: count,
      success_rate: z.number().nullable(),
      duration_by_format: durations,
      duration_by_count_range: durations,
      file_size_by_format: z.record(z.string(), z.object({ avg_bytes: z.number(), max_bytes: z.number() })),
      volume_by_hour: z.array(z.object({ hour: time, total: count, failed: count })),
      volume_by_day: z.array(z.object({ day: z.string(), total: count, failed: count })),
      format_distribution: z.record(z.string(), z.object({ count, share: z.number() })),
      top_users: z.array(z.object({ user_id: uuid, exports: count })),
      failures_by_error_type: z.record(z.string(), count),
    }),
  ),
  export_ops_volume_stats: fn(
    { p_days: count, ...now },
    z.object({ days: count, total: count, avg_per_day: z.number(), per_day: z.array(z.object({ day: z.string(), exports: count })) }),
  ),
  // rollups
  export_ops_rollup_metrics: fn(
    { p_max_hours: count, p_dry_run: z.boolean().optional(), ...now },
    z.object({
      hours: z.array(
        z.union([
          time,
          z.object({
            hour: time,
            total_exports: count,
            successful_exports: count,
            failed_exports: count,
            success_rate: z.number().nullable(),
            avg_duration_by_format: z.record(z.string(), z.number()),
          }),
        ]),
      ),
      remaining: count,
      dry_run: z.boolean().optional(),
    }),
  ),
  export_ops_rollup_summary: fn(
    { p_from: time, p_to: time },
    z.object({ from: time, to: time, hours: count, total_exports: count, failed_exports: count, duration_by_format: durations }),
  ),
  // alerting
  export_ops_failure_counts: fn(
    { p_minutes: count, p_alert: z.string().nullable().optional(), ...now },
    z.object({ total: count, failed: count, window_start: time, window_end: time }),
  ),
  export_ops_export_silence: fn(
    { p_hours: setting("EXPORT_SILENCE_ALERT_HOURS"), ...now },
    z.object({ recent: count, busy_days: count, last_export_at: time.nullable(), window_start: time, window_end: time }),
  ),
  export_ops_evaluate_alert: fn(
    { p_alert: z.string(), p_firing: z.boolean().nullable(), p_payload: alertPayload, ...now },
    alertTransition,
  ),
  export_ops_claim_alert_notification: fn(
    { p_alert: z.string(), p_lease_seconds: count.optional(), ...now },
    z.object({ state: z.enum(["ok", "firing"]), changed_at: time, payload: alertPayload.nullable(), attempts: count }).nullable(),
  ),
  export_ops_finish_alert_notification: fn(
    { p_alert: z.string(), p_state: z.string(), p_error: z.string().nullable().optional() },
    z.null(),
  ),
  export_ops_alert_status: fn({}, alertStatus),
  // log cleanup and archive
  export_ops_log_cleanup_stats: fn(
    { p_log_cutoff: time, p_metric_cutoff: time },
    z.object({
      log_cutoff: time,
      metric_cutoff: time,
      logs_eligible: count,
      logs_kept_with_files: count,
      oldest_log: time.nullable(),
      newest_log: time.nullable(),
      logs_bytes: z.number(),
      metrics_eligible: count,
      oldest_metric: time.nullable(),
      newest_metric: time.nullable(),
      metrics_bytes: z.number(),
    }),
  ),
  export_ops_log_cleanup_counts: fn(
    { p_log_cutoff: time },
    z.object({ log_cutoff: time, logs_eligible: count, logs_kept_with_files: count }),
  ),
  export_ops_delete_logs: fn(
    {
      p_limit: count,
      p_cutoff: time.nullable().optional(),
      p_user_id: uuid.nullable().optional(),
      p_after: time.nullable().optional(),
      ...now,
    },
    z.object({ deleted: count, reached: time.nullable() }),
  ),
  export_ops_claim_log_batch: fn(
    {
      p_bucket: z.string(),
      p_limit: count,
      p_cutoff: time.nullable().optional(),
      p_user_id: uuid.nullable().optional(),
      p_lease_seconds: count.optional(),
      p_after: time.nullable().optional(),
      ...now,
    },
    // the next batch starts from its newest log's time
    z.object({
      batch: z.string().nullable(),
      object: z.string().nullable(),
      count,
      last_created_at: time.nullable(),
      reclaimed: z.boolean(),
    }),
  ),
  // JSON Lines, oldest first, exactly as its archive object holds them: asked for as text, not JSON, and handed
  // over as it arrives (the body of the response)
  export_ops_archive_batch_text: {
    ...fn(
      { p_batch: z.string() },
      z.custom<ReadableStream<Uint8Array>>((value) => value instanceof ReadableStream, "must be a stream"),
    ),
    media: ARCHIVE_TEXT_MEDIA_TYPE,
  },
  // only once the batch's archive object was read back and holds exactly its rows
  export_ops_delete_archived_logs: fn({ p_batch: z.string() }, count),
  export_ops_release_log_batch: fn({ p_batch: z.string() }, z.null()),
  export_ops_delete_metrics: fn({ p_limit: count, p_cutoff: time.nullable().optional(), p_user_id: uuid.nullable().optional() }, count),
  export_ops_restore_logs: fn({ p_rows: z.array(jsonObject) }, count),
  // erasure
  // known: export-ops' to delete; otherwise the host app's own object in the user's folder, left alone
  export_ops_user_files: fn({ p_user_id: uuid, p_bucket: z.string() }, z.array(z.object({ name: z.string(), known: z.boolean() }))),
  export_ops_user_erasure_state: fn(
    { p_user_id: uuid, ...now },
    z.object({
      logs_left: count,
      metrics_left: count,
      logs_in_flight: count,
      archive_objects: z.array(
        z.object({ bucket: z.string(), name: z.string(), state: z.enum(["writing", "written"]), in_flight: z.boolean() }),
      ),
    }),
  ),
  export_ops_claim_archive_rewrite: fn(
    { p_bucket: z.string(), p_name: z.string(), p_run_id: uuid, p_seconds: count, ...now },
    z.object({
      claimed: z.boolean(),
      gone: z.boolean(),
      version: count.optional(),
      left_by: uuid.nullable().optional(),
      held_until: time.optional(),
    }),
  ),
  export_ops_release_archive_rewrite: fn({ p_bucket: z.string(), p_name: z.string(), p_run_id: uuid }, z.null()),
  export_ops_erase_user_history: fn(
    { p_user_id: uuid, p_dry_run: z.boolean().optional(), ...now },
    z.object({
      runs: count,
      checkins: count,
      alerts: count,
      alert_transitions: count,
      file_cleanup: count,
      archive_batches: count,
      orphan_cursors: count,
    }),
  ),
  export_ops_archive_object_rewritten: fn(
    { p_bucket: z.string(), p_name: z.string(), p_user_id: uuid, p_rows: count, p_run_id: uuid, p_version: count },
    z.boolean(),
  ),
  // run history
  export_ops_close_abandoned_runs: fn({ ...now }, count),
  export_ops_start_run: fn(
    {
      p_run_id: uuid,
      p_job: z.string(),
      p_trigger: z.string(),
      p_dry_run: z.boolean(),
      p_max_seconds: count,
      p_lease_seconds: count.nullable().optional(),
      ...now,
    },
    z.object({ started: z.boolean(), held_by: uuid.optional(), lease_expires_at: time.optional() }),
  ),
  export_ops_finish_run: fn(
    { p_run_id: uuid, p_status: z.string(), p_result: z.unknown().optional(), p_error: z.unknown().optional(), ...now },
    z.null(),
  ),
  export_ops_record_refused_run: fn({ p_run_id: uuid, p_job: z.string(), p_trigger: z.string(), p_error: jsonObject, ...now }, z.boolean()),
  // check-ins (lib/checkins) and scheduled deliveries
  export_ops_record_checkin: fn(
    {
      p_job: z.string(),
      p_run_id: uuid,
      p_event: z.string(), // start | success | fail (the table checks it)
      p_provider: z.string(),
      p_delivered: z.boolean(),
      p_http_status: count.nullable().optional(),
      p_error: z.string().nullable().optional(),
      ...now,
    },
    z.null(),
  ),
  export_ops_unreported_abandoned: fn({ p_job: z.string() }, z.array(uuid)),
  export_ops_checkin_states: fn({ p_jobs: z.array(z.string()) }, z.record(z.string(), checkinState)),
  export_ops_claim_occurrence: fn(
    {
      p_run_id: uuid,
      p_job: z.string(),
      p_trigger: z.string(),
      p_occurrence: z.string().min(1).max(200),
      p_scheduled_at: time.nullable().optional(),
      ...now,
    },
    z.object({ claimed: z.boolean(), first_run_id: uuid.optional() }),
  ),
  // the ops page's sessions
  export_ops_open_session: fn({ p_session_id: uuid, p_expires_at: time, ...now }, z.null()),
  export_ops_session_live: fn({ p_session_id: uuid, ...now }, z.boolean()),
  export_ops_end_sessions: fn({ p_session_id: uuid.nullable().optional() }, count),
  export_ops_continuation_allowed: fn({ p_job: z.string(), p_max_per_day: count, ...now }, z.boolean()),
  export_ops_prune_runs: fn({ p_cutoff: time }, count),
  export_ops_run_summary: fn({ p_jobs: z.array(z.string()) }, z.record(z.string(), runSummary)),
  export_ops_quarantined_count: fn({}, count),
  export_ops_exports_stuck: fn({ p_hours: stuckHours, ...now }, count),
  export_ops_metrics_snapshot: fn(
    {
      p_file_retention_hours: retentionHours,
      p_log_retention_days: setting("EXPORT_LOG_RETENTION_DAYS"),
      p_stuck_hours: stuckHours,
      ...now,
    },
    z.object({
      exports_last_hour: z.array(z.object({ format: z.string(), status: z.string(), count })),
      durations_last_hour: z.array(z.object({ format: z.string(), p50_ms: z.number(), p95_ms: z.number() })),
      last_export_at: time.nullable(),
      exports_stuck: count,
      alerts: z.record(z.string(), z.boolean()),
      file_cleanup_backlog: count,
      file_cleanup_failing: count,
      file_cleanup_quarantined: count,
      log_cleanup_backlog: count,
      log_cleanup_backlog_age_seconds: z.number(),
      rollup_hours_pending: count,
    }),
  ),
  // ops page: one read per panel, each bounded (counts stop at p_cap, lists take a limit)
  export_ops_page_jobs: fn(
    {
      p_jobs: z.array(z.string()),
      p_file_retention_hours: retentionHours,
      p_log_retention_days: setting("EXPORT_LOG_RETENTION_DAYS"),
      p_cap: count.optional(),
      ...now,
    },
    z.record(
      z.string(),
      runSummary.extend({ last_run_id: uuid.nullable(), last_trigger: z.string().nullable(), has_more: z.boolean(), backlog: count }),
    ),
  ),
  export_ops_page_runs: fn({ p_limit: count.optional() }, z.array(pageRun)),
  export_ops_page_run: fn(
    { p_run_id: uuid },
    pageRun
      .omit({ counts: true, has_more: true })
      .extend({
        finished_at: time.nullable(),
        deadline_at: time,
        result: z.unknown(),
        // the scheduled delivery the run claimed: a Cron Jobs occurrence or a Schedules execution ID
        delivery: z.object({ occurrence: z.string(), scheduled_at: time.nullable(), deliveries: count }).nullable(),
      })
      .nullable(),
  ),
  export_ops_page_exports: fn(
    { ...now },
    z.object({
      per_hour: z.array(z.object({ hour: time, completed: count.nullable(), failed: count.nullable() })),
      per_day: z.array(z.object({ day: z.string(), completed: count, failed: count, hours: count })),
      success_rate_24h: z.number().nullable(),
      success_rate_30d: z.number().nullable(),
      total_24h: count,
      total_30d: count,
      p95_by_format: z.array(z.object({ format: z.string(), completed: count, p95_ms: z.number().nullable() })),
      failures_by_error_type: z.array(z.object({ error_type: z.string(), count })),
    }),
  ),
  export_ops_page_alerts: fn(
    { p_limit: count.optional() },
    z.object({
      alerts: alertStatus,
      transitions: z.array(z.object({ alert: z.string(), state: z.enum(["ok", "firing"]), at: time, message: z.string().nullable() })),
    }),
  ),
  export_ops_page_cleanup: fn(
    { p_bucket: z.string(), p_log_retention_days: setting("EXPORT_LOG_RETENTION_DAYS"), p_cap: count.optional(), ...now },
    z.object({
      files_deleted_per_day: z.array(z.object({ day: z.string(), files: count, orphans: count })),
      quarantined: count,
      log_backlog: count,
      log_backlog_age_seconds: z.number(),
      archive_objects_30d: count,
      archive_objects_total: count,
      archived_rows_30d: count,
      storage_objects: count,
      storage_bytes: z.number(),
    }),
  ),
} as const;

/** export-ops functions that only other SQL functions call (never through PostgREST). */
export const internalSqlFunctions = [
  "export_ops_count",
  "export_ops_duration_bounds",
  "export_ops_histogram_quantile",
  "export_ops_log_is_removable",
  "export_ops_file_in_use_by",
  "export_ops_log_backlog",
  "export_ops_record_alert_transition",
  "export_ops_forget_deleted_logs",
  "export_ops_retention_hours",
  "export_ops_setting",
  "export_ops_erased",
] as const;

type Functions = typeof sqlFunctions;
export type SqlFunction = keyof Functions;
export type SqlArgs<F extends SqlFunction> = z.input<Functions[F]["args"]>;
export type SqlResult<F extends SqlFunction> = z.output<Functions[F]["result"]>;
