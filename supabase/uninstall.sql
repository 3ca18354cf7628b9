-- export-ops: uninstall. Removes every object export-ops' migrations created, and nothing else: its functions,
-- its media type domain, its own tables (with their indexes, statistics objects, policies and triggers),
-- `export_metrics`, and the Storage buckets it created when they are empty. Grants and default privileges of the
-- host's objects were never changed, so there is nothing of the host's to restore.
--
-- `export_logs` is the host app's audit log of exports: it is kept (with its indexes and its owner-read policy,
-- so the host app and its users see it as before) unless the operator opts in before running this file:
--
--   set export_ops.uninstall_drop_export_logs = 'true';
--
-- Run it as the database owner (SQL editor, or `psql "$DATABASE_URL" -f supabase/uninstall.sql`), not as a
-- migration. It runs in one transaction: it removes everything or nothing. Running it twice is harmless. Files in
-- buckets are never deleted: a bucket export-ops created goes only while it is empty.
--
-- Then the migration history, or export-ops comes back. The Supabase CLI remembers every migration it pushed
-- (supabase_migrations.schema_migrations) and replays every file in supabase/migrations on `supabase db reset`.
-- So, in the repository whose migrations installed export-ops:
--   1. delete export-ops' migration files: supabase/migrations/*_export_ops_*.sql
--   2. mark them reverted on the project: supabase migration repair --status reverted <version> ...
--      (this file prints that command with the versions it finds in the history, when there is one)
-- With only 1, `supabase db push` stops, naming the versions it no longer finds; with only 2, the next push
-- installs export-ops again. Reinstalling later is a fresh install (writing the migrations again) that reuses a
-- kept export_logs with its rows.
begin;

-- export-ops' trigger and format key on export_logs (which may be kept)
do $$
begin
  if to_regclass('public.export_logs') is not null then
    drop trigger if exists export_ops_forget_deleted_logs on public.export_logs;
    alter table public.export_logs drop constraint if exists export_ops_logs_format_fkey;
  end if;
end
$$;

drop function if exists
  public.export_ops_ping,
  public.export_ops_record_checkin,
  public.export_ops_unreported_abandoned,
  public.export_ops_checkin_states,
  public.export_ops_claim_occurrence,
  public.export_ops_file_in_use_by,
  public.export_ops_file_cleanup_batch,
  public.export_ops_file_cleanup_preview,
  public.export_ops_retention_hours,
  public.export_ops_setting,
  public.export_ops_orphan_page,
  public.export_ops_bucket_states,
  public.export_ops_formats,
  public.export_ops_file_cleanup_quarantined,
  public.export_ops_file_cleanup_release,
  public.export_ops_record_metric,
  public.export_ops_metrics_summary,
  public.export_ops_failure_counts,
  public.export_ops_export_silence,
  public.export_ops_volume_stats,
  public.export_ops_duration_bounds,
  public.export_ops_histogram_quantile,
  public.export_ops_rollup_metrics,
  public.export_ops_rollup_summary,
  public.export_ops_evaluate_alert,
  public.export_ops_claim_alert_notification,
  public.export_ops_finish_alert_notification,
  public.export_ops_alert_status,
  public.export_ops_log_is_removable,
  public.export_ops_log_cleanup_stats,
  public.export_ops_delete_logs,
  public.export_ops_claim_log_batch,
  public.export_ops_archive_batch_rows,
  public.export_ops_archive_batch_text,
  public.export_ops_delete_archived_logs,
  public.export_ops_release_log_batch,
  public.export_ops_delete_metrics,
  public.export_ops_restore_logs,
  public.export_ops_user_files,
  public.export_ops_user_erasure_state,
  public.export_ops_archive_object_rewritten,
  public.export_ops_claim_archive_rewrite,
  public.export_ops_release_archive_rewrite,
  public.export_ops_erase_user_history,
  public.export_ops_erased,
  public.export_ops_open_session,
  public.export_ops_session_live,
  public.export_ops_end_sessions,
  public.export_ops_count,
  public.export_ops_close_abandoned_runs,
  public.export_ops_start_run,
  public.export_ops_record_refused_run,
  public.export_ops_continuation_allowed,
  public.export_ops_finish_run,
  public.export_ops_prune_runs,
  public.export_ops_run_summary,
  public.export_ops_quarantined_count,
  public.export_ops_exports_stuck,
  public.export_ops_metrics_snapshot,
  public.export_ops_log_backlog,
  public.export_ops_log_cleanup_counts,
  public.export_ops_page_jobs,
  public.export_ops_page_runs,
  public.export_ops_page_run,
  public.export_ops_page_exports,
  public.export_ops_page_alerts,
  public.export_ops_page_cleanup;

-- the media type of archive text (its function is gone)
drop domain if exists public."application/vnd.export-ops.jsonl";

-- Buckets export-ops created, while they hold no object (a bucket with files is kept and named in a notice;
-- empty it through the Storage API and delete it in the dashboard). Supabase refuses SQL deletes from its
-- storage tables unless `storage.allow_delete_query` is set for the transaction; an empty bucket loses nothing.
do $$
declare
  v_created text[];
  v_kept text[];
begin
  if to_regclass('public.export_ops_installation') is null then
    return;
  end if;
  select created_buckets into v_created from public.export_ops_installation;
  select array_agg(b.id order by b.id) into v_kept
  from storage.buckets b
  where b.id = any (v_created) and exists (select 1 from storage.objects o where o.bucket_id = b.id);
  perform set_config('storage.allow_delete_query', 'true', true);
  delete from storage.buckets b
  where b.id = any (v_created) and not exists (select 1 from storage.objects o where o.bucket_id = b.id);
  perform set_config('storage.allow_delete_query', 'false', true);
  if v_kept is not null then
    raise notice 'export-ops: kept bucket(s) % because they still hold objects', v_kept;
  end if;
end
$$;

drop table if exists
  public.export_ops_checkins,
  public.export_ops_occurrences,
  public.export_ops_alert_transitions,
  public.export_ops_file_cleanup,
  public.export_ops_orphan_cursor,
  public.export_ops_archive_batches,
  public.export_ops_archive_objects,
  public.export_ops_metric_rollups,
  public.export_ops_metric_hours,
  public.export_ops_alerts,
  public.export_ops_runs,
  public.export_ops_leases,
  public.export_ops_ops_sessions,
  public.export_ops_job_totals,
  public.export_metrics,
  public.export_ops_formats,
  public.export_ops_installation;

-- trigger functions go after the tables whose triggers use them
drop function if exists public.export_ops_record_alert_transition, public.export_ops_forget_deleted_logs;

do $$
begin
  if coalesce(current_setting('export_ops.uninstall_drop_export_logs', true), '') = 'true' then
    drop table if exists public.export_logs;
  else
    raise notice 'export-ops: kept public.export_logs (set export_ops.uninstall_drop_export_logs = ''true'' to drop it)';
  end if;
end
$$;

-- The CLI's history rows of export-ops' migrations: left to `supabase migration repair` (see the header).
do $$
declare
  v_versions text;
begin
  -- (older CLIs kept no name column: there, the versions are the ones of the deleted files)
  if not exists (select 1 from pg_attribute where attrelid = to_regclass('supabase_migrations.schema_migrations') and attname = 'name') then
    return;
  end if;
  execute $q$select string_agg(version, ' ' order by version) from supabase_migrations.schema_migrations
             where name like 'export\_ops\_%'$q$ into v_versions;
  if v_versions is not null then
    raise notice 'export-ops: now delete supabase/migrations/*_export_ops_*.sql and run: supabase migration repair --status reverted %', v_versions;
  end if;
end
$$;

commit;
