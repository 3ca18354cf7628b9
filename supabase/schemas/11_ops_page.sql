-- export-ops, current definition. The ops page: one bounded read per panel, and its sessions.
-- Checked against the migrations by test/schemas.integration.test.ts (see docs/DEVELOPMENT.md).

CREATE TABLE public.export_ops_ops_sessions (
    session_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

ALTER TABLE ONLY public.export_ops_ops_sessions
    ADD CONSTRAINT export_ops_ops_sessions_pkey PRIMARY KEY (session_id);

ALTER TABLE public.export_ops_ops_sessions ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION public.export_ops_end_sessions(p_session_id uuid DEFAULT NULL::uuid) RETURNS integer
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  with gone as (
    delete from public.export_ops_ops_sessions where p_session_id is null or session_id = p_session_id returning 1
  )
  select count(*)::integer from gone
$$;

CREATE FUNCTION public.export_ops_open_session(p_session_id uuid, p_expires_at timestamp with time zone, p_now timestamp with time zone DEFAULT now()) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  delete from public.export_ops_ops_sessions where expires_at <= p_now;
  insert into public.export_ops_ops_sessions (session_id, created_at, expires_at) values (p_session_id, p_now, p_expires_at);
$$;

CREATE FUNCTION public.export_ops_page_alerts(p_limit integer DEFAULT 20) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select jsonb_build_object(
    'alerts', public.export_ops_alert_status(),
    'transitions', coalesce((select jsonb_agg(jsonb_build_object('alert', alert, 'state', state, 'at', at,
                                                                 'message', payload ->> 'message') order by at desc, id desc)
                             from (select * from public.export_ops_alert_transitions order by at desc, id desc
                                   limit least(greatest(p_limit, 1), 200)) t), '[]'))
$$;

CREATE FUNCTION public.export_ops_page_cleanup(p_bucket text, p_log_retention_days integer, p_cap integer DEFAULT 100000, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select public.export_ops_setting('EXPORT_LOG_RETENTION_DAYS', 'p_log_retention_days', p_log_retention_days);
  with deleted as (
    select d.day, coalesce(sum((r.result ->> 'deleted_count')::bigint), 0) as files,
           coalesce(sum((r.result ->> 'orphans_deleted')::bigint), 0) as orphans
    from generate_series(date_trunc('day', p_now) - interval '29 days', date_trunc('day', p_now), interval '1 day') d (day)
    left join public.export_ops_runs r
      on r.job = 'export-file-cleanup' and not r.dry_run and r.status in ('succeeded', 'partial', 'failed')
     and r.started_at >= d.day and r.started_at < d.day + interval '1 day'
    group by d.day
  ), cutoff as (select p_now - make_interval(days => p_log_retention_days) as at)
  select jsonb_build_object(
    'files_deleted_per_day', (select jsonb_agg(jsonb_build_object('day', to_char(day, 'YYYY-MM-DD'), 'files', files, 'orphans', orphans) order by day) from deleted),
    'quarantined', public.export_ops_quarantined_count(),
    'log_backlog', public.export_ops_log_backlog(p_log_retention_days, p_cap, p_now),
    'log_backlog_age_seconds', coalesce((select extract(epoch from cutoff.at - min(l.created_at))
                                         from public.export_logs l, cutoff
                                         where l.created_at < cutoff.at and (l.status <> 'completed' or l.file_path is null)
                                         group by cutoff.at), 0),
    'archive_objects_30d', (select count(*) from public.export_ops_archive_objects where state = 'written' and written_at >= p_now - interval '30 days'),
    'archive_objects_total', (select count(*) from public.export_ops_archive_objects where state = 'written'),
    'archived_rows_30d', (select coalesce(sum(row_count), 0) from public.export_ops_archive_objects where state = 'written' and written_at >= p_now - interval '30 days'),
    'storage_objects', (select count(*) from storage.objects where bucket_id = p_bucket),
    'storage_bytes', (select coalesce(sum((metadata ->> 'size')::bigint), 0) from storage.objects where bucket_id = p_bucket)
  )
$$;

CREATE FUNCTION public.export_ops_page_exports(p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  with bounds as (
    select date_trunc('hour', p_now) as this_hour, date_trunc('day', p_now) as today
  ), hours as (
    select h.hour, m.completed, m.failed
    from bounds, generate_series(bounds.this_hour - interval '47 hours', bounds.this_hour, interval '1 hour') h (hour)
    left join public.export_ops_metric_hours m on m.hour = h.hour
  ), days as (
    select d.day, sum(m.completed) as completed, sum(m.failed) as failed, count(m.hour) as hours
    from bounds, generate_series(bounds.today - interval '29 days', bounds.today, interval '1 day') d (day)
    left join public.export_ops_metric_hours m on m.hour >= d.day and m.hour < d.day + interval '1 day'
    group by d.day
  ), r as (
    select * from public.export_ops_metric_rollups, bounds where hour >= bounds.today - interval '29 days'
  ), by_bucket as (
    select r.format, i, sum(r.duration_histogram[i])::integer as s
    from r, generate_series(1, array_length(public.export_ops_duration_bounds(), 1) + 1) i
    group by r.format, i
  ), by_format as (
    select format, sum(completed) as completed, max(duration_max_ms) as duration_max,
           (select array_agg(b.s order by b.i) from by_bucket b where b.format = r.format) as histogram
    from r group by format
  ), totals as (
    select coalesce(sum(total) filter (where m.hour >= p_now - interval '24 hours'), 0) as total_24h,
           coalesce(sum(completed) filter (where m.hour >= p_now - interval '24 hours'), 0) as completed_24h,
           coalesce(sum(total), 0) as total_30d, coalesce(sum(completed), 0) as completed_30d
    from public.export_ops_metric_hours m, bounds where m.hour >= bounds.today - interval '29 days'
  )
  select jsonb_build_object(
    'per_hour', (select jsonb_agg(jsonb_build_object('hour', hour, 'completed', completed, 'failed', failed) order by hour) from hours),
    'per_day', (select jsonb_agg(jsonb_build_object('day', to_char(day, 'YYYY-MM-DD'), 'completed', coalesce(completed, 0),
                                                    'failed', coalesce(failed, 0), 'hours', hours) order by day) from days),
    'success_rate_24h', (select round(completed_24h::numeric / nullif(total_24h, 0), 4) from totals),
    'success_rate_30d', (select round(completed_30d::numeric / nullif(total_30d, 0), 4) from totals),
    'total_24h', (select total_24h from totals),
    'total_30d', (select total_30d from totals),
    'p95_by_format', coalesce((select jsonb_agg(jsonb_build_object('format', format, 'completed', completed,
                                 'p95_ms', round(public.export_ops_histogram_quantile(histogram, 0.95, duration_max)::numeric, 1)) order by format)
                               from by_format where completed > 0), '[]'),
    'failures_by_error_type', coalesce((select jsonb_agg(jsonb_build_object('error_type', key, 'count', n) order by n desc, key)
                                        from (select key, sum(value::bigint) as n from r, jsonb_each_text(r.failures_by_error_type) group by key) f), '[]')
  )
$$;

CREATE FUNCTION public.export_ops_page_jobs(p_jobs text[], p_file_retention_hours integer, p_log_retention_days integer, p_cap integer DEFAULT 100000, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select public.export_ops_setting('EXPORT_FILE_RETENTION_HOURS', 'p_file_retention_hours', p_file_retention_hours);
  select public.export_ops_setting('EXPORT_LOG_RETENTION_DAYS', 'p_log_retention_days', p_log_retention_days);
  with summary as (select public.export_ops_run_summary(p_jobs) as s),
  backlog as (
    select jsonb_build_object(
      'export-file-cleanup', (select count(*) from (
        select 1 from public.export_logs l
        where l.status = 'completed' and l.completed_at < p_now - make_interval(hours => p_file_retention_hours)
          and not exists (select 1 from public.export_ops_file_cleanup c where c.export_id = l.export_id and c.quarantined_at is not null)
        limit p_cap) x),
      'export-log-cleanup', public.export_ops_log_backlog(p_log_retention_days, p_cap, p_now),
      'export-metrics-aggregate', (select count(*) from generate_series(
          date_trunc('hour', coalesce((select min(recorded_at) from public.export_metrics), p_now)),
          date_trunc('hour', p_now - interval '5 minutes') - interval '1 hour', interval '1 hour') h
        where not exists (select 1 from public.export_ops_metric_hours r where r.hour = h))
    ) as b
  )
  select coalesce(jsonb_object_agg(j.job, (select s from summary) -> j.job || jsonb_build_object(
    'last_run_id', last.run_id,
    'last_trigger', last.trigger,
    'has_more', coalesce((last.result ->> 'has_more')::boolean, false),
    'backlog', (select b from backlog) -> j.job
  )), '{}')
  from unnest(p_jobs) as j (job)
  left join lateral (
    select r.run_id, r.trigger, r.result from public.export_ops_runs r
    where r.job = j.job and not r.dry_run and r.status not in ('skipped', 'running')
    order by r.started_at desc limit 1
  ) last on true
$$;

CREATE FUNCTION public.export_ops_page_run(p_run_id uuid) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select jsonb_build_object(
    'run_id', r.run_id, 'job', r.job, 'trigger', r.trigger, 'status', r.status, 'dry_run', r.dry_run,
    'started_at', r.started_at, 'finished_at', r.finished_at, 'deadline_at', r.deadline_at,
    'duration_ms', round(extract(epoch from r.finished_at - r.started_at) * 1000),
    'result', r.result, 'error', r.error,
    'delivery', (select jsonb_build_object('occurrence', o.occurrence, 'scheduled_at', o.scheduled_at, 'deliveries', o.deliveries)
                 from public.export_ops_occurrences o where o.job = r.job and o.run_id = r.run_id))
  from public.export_ops_runs r where r.run_id = p_run_id
$$;

CREATE FUNCTION public.export_ops_page_runs(p_limit integer DEFAULT 25) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select coalesce(jsonb_agg(jsonb_build_object(
    'run_id', r.run_id,
    'job', r.job,
    'trigger', r.trigger,
    'status', r.status,
    'dry_run', r.dry_run,
    'started_at', r.started_at,
    'duration_ms', round(extract(epoch from r.finished_at - r.started_at) * 1000),
    'has_more', coalesce((r.result ->> 'has_more')::boolean, false),
    'counts', coalesce((select jsonb_object_agg(key, value) from jsonb_each(case when jsonb_typeof(r.result) = 'object' then r.result end)
                        where jsonb_typeof(value) = 'number' and key <> 'duration_ms'), '{}'),
    'error', r.error
  ) order by r.started_at desc), '[]')
  from (select * from public.export_ops_runs order by started_at desc limit least(greatest(p_limit, 1), 200)) r
$$;

CREATE FUNCTION public.export_ops_session_live(p_session_id uuid, p_now timestamp with time zone DEFAULT now()) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select exists (select 1 from public.export_ops_ops_sessions where session_id = p_session_id and expires_at > p_now)
$$;

REVOKE ALL ON FUNCTION public.export_ops_end_sessions(p_session_id uuid) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_end_sessions(p_session_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_open_session(p_session_id uuid, p_expires_at timestamp with time zone, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_open_session(p_session_id uuid, p_expires_at timestamp with time zone, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_page_alerts(p_limit integer) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_page_alerts(p_limit integer) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_page_cleanup(p_bucket text, p_log_retention_days integer, p_cap integer, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_page_cleanup(p_bucket text, p_log_retention_days integer, p_cap integer, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_page_exports(p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_page_exports(p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_page_jobs(p_jobs text[], p_file_retention_hours integer, p_log_retention_days integer, p_cap integer, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_page_jobs(p_jobs text[], p_file_retention_hours integer, p_log_retention_days integer, p_cap integer, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_page_run(p_run_id uuid) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_page_run(p_run_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_page_runs(p_limit integer) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_page_runs(p_limit integer) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_session_live(p_session_id uuid, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_session_live(p_session_id uuid, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON TABLE public.export_ops_ops_sessions FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_ops_sessions TO service_role;
