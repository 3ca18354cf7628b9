-- export-ops, current definition. Run history, leases and totals: starting and finishing runs, abandoned runs, continuations, the
-- scrape.
-- Checked against the migrations by test/schemas.integration.test.ts (see docs/DEVELOPMENT.md).

CREATE TABLE public.export_ops_job_totals (
    job text NOT NULL,
    metric text NOT NULL,
    value bigint DEFAULT 0 NOT NULL
);

CREATE TABLE public.export_ops_leases (
    job text NOT NULL,
    run_id uuid NOT NULL,
    acquired_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

CREATE TABLE public.export_ops_runs (
    run_id uuid NOT NULL,
    job text NOT NULL,
    trigger text NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    deadline_at timestamp with time zone NOT NULL,
    status text DEFAULT 'running'::text NOT NULL,
    dry_run boolean DEFAULT false NOT NULL,
    result jsonb,
    error jsonb,
    CONSTRAINT export_ops_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'succeeded'::text, 'partial'::text, 'failed'::text, 'skipped'::text, 'abandoned'::text]))),
    CONSTRAINT export_ops_runs_trigger_check CHECK ((trigger = ANY (ARRAY['vercel_cron'::text, 'manual'::text, 'script'::text, 'continuation'::text])))
);

ALTER TABLE ONLY public.export_ops_job_totals
    ADD CONSTRAINT export_ops_job_totals_pkey PRIMARY KEY (job, metric);

ALTER TABLE ONLY public.export_ops_leases
    ADD CONSTRAINT export_ops_leases_pkey PRIMARY KEY (job);

ALTER TABLE ONLY public.export_ops_runs
    ADD CONSTRAINT export_ops_runs_pkey PRIMARY KEY (run_id);

CREATE INDEX export_ops_runs_job_started_idx ON public.export_ops_runs USING btree (job, started_at DESC);

CREATE INDEX export_ops_runs_running_idx ON public.export_ops_runs USING btree (deadline_at) WHERE (status = 'running'::text);

ALTER TABLE public.export_ops_job_totals ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.export_ops_leases ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.export_ops_runs ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION public.export_ops_close_abandoned_runs(p_now timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  with closed as (
    update public.export_ops_runs
    set status = 'abandoned', finished_at = p_now,
        error = jsonb_build_object('code', 'abandoned',
                                   'message', 'the run did not finish within its time limit: its function was stopped or crashed')
    where status = 'running' and deadline_at < p_now
    returning run_id, job, dry_run
  ), freed as (
    delete from public.export_ops_leases l using closed c where l.run_id = c.run_id
  ), counted as (
    insert into public.export_ops_job_totals as t (job, metric, value)
    select job, case when dry_run then 'dry_runs' else 'runs_abandoned' end, count(*) from closed group by 1, 2
    on conflict (job, metric) do update set value = t.value + excluded.value
  )
  select count(*)::integer from closed
$$;

CREATE FUNCTION public.export_ops_continuation_allowed(p_job text, p_max_per_day integer, p_now timestamp with time zone DEFAULT now()) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select count(*) < p_max_per_day from public.export_ops_runs
  where job = p_job and trigger = 'continuation' and started_at >= date_trunc('day', p_now at time zone 'UTC') at time zone 'UTC'
$$;

CREATE FUNCTION public.export_ops_exports_stuck(p_hours integer, p_now timestamp with time zone DEFAULT now()) RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select public.export_ops_setting('EXPORT_STUCK_HOURS', 'p_hours', p_hours);
  select count(*) from public.export_logs
  where status in ('queued', 'processing') and created_at < p_now - make_interval(hours => p_hours)
$$;

CREATE FUNCTION public.export_ops_finish_run(p_run_id uuid, p_status text, p_result jsonb DEFAULT NULL::jsonb, p_error jsonb DEFAULT NULL::jsonb, p_now timestamp with time zone DEFAULT now()) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_job text;
  v_dry_run boolean;
begin
  update public.export_ops_runs
  set finished_at = p_now, status = p_status, result = p_result, error = p_error
  where run_id = p_run_id and status = 'running'
  returning job, dry_run into v_job, v_dry_run;
  if v_job is null then return; end if;
  delete from public.export_ops_leases where job = v_job and run_id = p_run_id;
  perform public.export_ops_count(v_job, case when v_dry_run then 'dry_runs' else 'runs_' || p_status end);
  perform public.export_ops_count(v_job, r.key, (r.value #>> '{}')::bigint)
  from jsonb_each(coalesce(p_result, '{}')) r
  where not v_dry_run
    and r.key in ('deleted_count', 'logs_updated', 'orphans_deleted', 'archived_count', 'metrics_deleted', 'hours_rolled_up', 'failed_count')
    and jsonb_typeof(r.value) = 'number';
end
$$;

CREATE FUNCTION public.export_ops_metrics_snapshot(p_file_retention_hours integer, p_log_retention_days integer, p_stuck_hours integer, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select public.export_ops_setting('EXPORT_FILE_RETENTION_HOURS', 'p_file_retention_hours', p_file_retention_hours);
  select public.export_ops_setting('EXPORT_LOG_RETENTION_DAYS', 'p_log_retention_days', p_log_retention_days);
  select public.export_ops_setting('EXPORT_STUCK_HOURS', 'p_stuck_hours', p_stuck_hours);
  select jsonb_build_object(
    'exports_last_hour', coalesce((
      select jsonb_agg(jsonb_build_object('format', format, 'status', status, 'count', n))
      from (select format, status, count(*) as n from public.export_metrics
            where recorded_at >= p_now - interval '1 hour' and recorded_at < p_now group by 1, 2) e), '[]'),
    'durations_last_hour', coalesce((
      select jsonb_agg(jsonb_build_object('format', format, 'p50_ms', p50, 'p95_ms', p95))
      from (select format, percentile_cont(0.5) within group (order by duration_ms) as p50,
                   percentile_cont(0.95) within group (order by duration_ms) as p95
            from public.export_metrics
            where status = 'completed' and recorded_at >= p_now - interval '1 hour' and recorded_at < p_now
            group by format) d), '[]'),
    'last_export_at', (select max(recorded_at) from public.export_metrics),
    'exports_stuck', public.export_ops_exports_stuck(p_stuck_hours, p_now),
    'alerts', (select coalesce(jsonb_object_agg(alert, state = 'firing'), '{}') from public.export_ops_alerts),
    'file_cleanup_backlog', (select count(*) from public.export_logs l
                             where l.status = 'completed' and l.completed_at < p_now - make_interval(hours => p_file_retention_hours)
                               and not exists (select 1 from public.export_ops_file_cleanup c
                                               where c.export_id = l.export_id and c.quarantined_at is not null)),
    'file_cleanup_failing', (select count(*) from public.export_ops_file_cleanup c join public.export_logs l using (export_id)
                             where l.status = 'completed' and c.attempts > 0 and c.quarantined_at is null),
    'file_cleanup_quarantined', public.export_ops_quarantined_count(),
    'log_cleanup_backlog', (select count(*) from public.export_logs
                            where created_at < p_now - make_interval(days => p_log_retention_days)),
    -- how long the oldest log the cleanup could remove has been past its retention (0 when none)
    'log_cleanup_backlog_age_seconds', coalesce((
      select extract(epoch from p_now - make_interval(days => p_log_retention_days) - min(created_at))
      from public.export_logs
      where created_at < p_now - make_interval(days => p_log_retention_days)
        and public.export_ops_log_is_removable(status, file_path)), 0),
    'rollup_hours_pending', (select count(*) from generate_series(
                               date_trunc('hour', coalesce((select min(recorded_at) from public.export_metrics), p_now)),
                               date_trunc('hour', p_now - interval '5 minutes') - interval '1 hour', interval '1 hour') h
                             where not exists (select 1 from public.export_ops_metric_hours r where r.hour = h))
  )
$$;

CREATE FUNCTION public.export_ops_prune_runs(p_cutoff timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_deleted integer;
begin
  delete from public.export_ops_runs r
  where r.started_at < p_cutoff
    and r.status <> 'running'
    and r.run_id not in (
      select distinct on (job) run_id from public.export_ops_runs
      where status in ('succeeded', 'partial') and not dry_run order by job, started_at desc
    );
  get diagnostics v_deleted = row_count;
  return v_deleted;
end
$$;

CREATE FUNCTION public.export_ops_record_refused_run(p_run_id uuid, p_job text, p_trigger text, p_error jsonb, p_now timestamp with time zone DEFAULT now()) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform pg_advisory_xact_lock(hashtext('export_ops.record_refused_run'), hashtext(p_job));
  if exists (select 1 from public.export_ops_runs
             where job = p_job and status = 'failed' and error ->> 'code' = p_error ->> 'code'
               and started_at > p_now - interval '1 minute') then
    return false;
  end if;
  insert into public.export_ops_runs (run_id, job, trigger, started_at, finished_at, deadline_at, status, dry_run, error)
  values (p_run_id, p_job, p_trigger, p_now, p_now, p_now, 'failed', false, p_error);
  perform public.export_ops_count(p_job, 'runs_failed');
  return true;
end
$$;

CREATE FUNCTION public.export_ops_run_summary(p_jobs text[]) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select coalesce(jsonb_object_agg(j.job, jsonb_build_object(
    'last_status', last.status,
    'last_started_at', last.started_at,
    'last_finished_at', last.finished_at,
    'last_duration_ms', round(extract(epoch from last.finished_at - last.started_at) * 1000),
    'last_error', last.error,
    'last_success_at', ok.finished_at,
    'consecutive_failures', (select count(*) from public.export_ops_runs f
                             where f.job = j.job and not f.dry_run and f.status in ('failed', 'abandoned')
                               and f.started_at > coalesce(ok.started_at, '-infinity')),
    'running', (select count(*) from public.export_ops_runs s where s.job = j.job and s.status = 'running'),
    'installed_at', (select i.installed_at from public.export_ops_installation i),
    'totals', coalesce((select jsonb_object_agg(t.metric, t.value) from public.export_ops_job_totals t where t.job = j.job), '{}')
  )), '{}')
  from unnest(p_jobs) as j (job)
  left join lateral (
    select r.* from public.export_ops_runs r
    where r.job = j.job and not r.dry_run and r.status not in ('skipped', 'running')
    order by r.started_at desc limit 1
  ) last on true
  left join lateral (
    select r.started_at, r.finished_at from public.export_ops_runs r
    where r.job = j.job and not r.dry_run and r.status in ('succeeded', 'partial')
    order by r.started_at desc limit 1
  ) ok on true
$$;

CREATE FUNCTION public.export_ops_start_run(p_run_id uuid, p_job text, p_trigger text, p_dry_run boolean, p_max_seconds integer, p_lease_seconds integer DEFAULT NULL::integer, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_holder uuid;
  v_until timestamptz;
begin
  perform public.export_ops_close_abandoned_runs(p_now);
  if p_lease_seconds is not null then
    insert into public.export_ops_leases as l (job, run_id, acquired_at, expires_at)
    values (p_job, p_run_id, p_now, p_now + make_interval(secs => p_lease_seconds))
    on conflict (job) do update set run_id = excluded.run_id, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
      where l.expires_at < p_now
    returning l.run_id into v_holder;
    if v_holder is null then
      select run_id, expires_at into v_holder, v_until from public.export_ops_leases where job = p_job;
      insert into public.export_ops_runs (run_id, job, trigger, started_at, finished_at, deadline_at, status, dry_run, result)
      values (p_run_id, p_job, p_trigger, p_now, p_now, p_now, 'skipped', p_dry_run,
              jsonb_build_object('skipped', true, 'reason', 'another run holds the lease', 'held_by', v_holder, 'lease_expires_at', v_until));
      perform public.export_ops_count(p_job, case when p_dry_run then 'dry_runs' else 'runs_skipped' end);
      return jsonb_build_object('started', false, 'held_by', v_holder, 'lease_expires_at', v_until);
    end if;
  end if;
  insert into public.export_ops_runs (run_id, job, trigger, started_at, deadline_at, status, dry_run)
  values (p_run_id, p_job, p_trigger, p_now, p_now + make_interval(secs => p_max_seconds + 60), 'running', p_dry_run);
  return jsonb_build_object('started', true);
end
$$;

REVOKE ALL ON FUNCTION public.export_ops_close_abandoned_runs(p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_close_abandoned_runs(p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_continuation_allowed(p_job text, p_max_per_day integer, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_continuation_allowed(p_job text, p_max_per_day integer, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_exports_stuck(p_hours integer, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_exports_stuck(p_hours integer, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_finish_run(p_run_id uuid, p_status text, p_result jsonb, p_error jsonb, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_finish_run(p_run_id uuid, p_status text, p_result jsonb, p_error jsonb, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_metrics_snapshot(p_file_retention_hours integer, p_log_retention_days integer, p_stuck_hours integer, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_metrics_snapshot(p_file_retention_hours integer, p_log_retention_days integer, p_stuck_hours integer, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_prune_runs(p_cutoff timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_prune_runs(p_cutoff timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_record_refused_run(p_run_id uuid, p_job text, p_trigger text, p_error jsonb, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_record_refused_run(p_run_id uuid, p_job text, p_trigger text, p_error jsonb, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_run_summary(p_jobs text[]) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_run_summary(p_jobs text[]) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_start_run(p_run_id uuid, p_job text, p_trigger text, p_dry_run boolean, p_max_seconds integer, p_lease_seconds integer, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_start_run(p_run_id uuid, p_job text, p_trigger text, p_dry_run boolean, p_max_seconds integer, p_lease_seconds integer, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON TABLE public.export_ops_job_totals FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_job_totals TO service_role;

REVOKE ALL ON TABLE public.export_ops_leases FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_leases TO service_role;

REVOKE ALL ON TABLE public.export_ops_runs FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_runs TO service_role;
