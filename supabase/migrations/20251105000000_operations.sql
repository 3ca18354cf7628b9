-- Operability: run history (every invocation of every job), per-job leases for jobs that must not overlap,
-- running totals for Prometheus counters, and the reads behind /api/health/detailed and /api/metrics.

-- Monotonic totals per job (runs by status, files deleted, logs archived, ...): Prometheus counters must never go
-- down, and cron_runs is pruned, so the sums are kept here as runs finish.
create table public.job_totals (
  job text not null,
  metric text not null,
  value bigint not null default 0,
  primary key (job, metric)
);
alter table public.job_totals enable row level security;
revoke all on public.job_totals from public, anon, authenticated;
grant all on public.job_totals to service_role;

-- Starts a run: records it as `running`, or — when the job is leased (p_lease_seconds) and another live run
-- holds the lease — records it as `skipped` and says who holds it. The lease row is taken with
-- `on conflict ... where expired`, so of two simultaneous starts exactly one wins.
create function public.start_job_run(
  p_run_id uuid,
  p_job text,
  p_trigger text,
  p_dry_run boolean,
  p_lease_seconds integer default null,
  p_now timestamptz default now()
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_holder uuid;
  v_until timestamptz;
begin
  if p_lease_seconds is not null then
    insert into public.job_leases as l (job, run_id, acquired_at, expires_at)
    values (p_job, p_run_id, p_now, p_now + make_interval(secs => p_lease_seconds))
    on conflict (job) do update set run_id = excluded.run_id, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
      where l.expires_at < p_now
    returning l.run_id into v_holder;
    if v_holder is null then
      select run_id, expires_at into v_holder, v_until from public.job_leases where job = p_job;
      insert into public.cron_runs (run_id, job, trigger, started_at, finished_at, status, dry_run, result)
      values (p_run_id, p_job, p_trigger, p_now, p_now, 'skipped', p_dry_run,
              jsonb_build_object('skipped', true, 'reason', 'another run holds the lease', 'held_by', v_holder, 'lease_expires_at', v_until));
      insert into public.job_totals (job, metric, value) values (p_job, 'runs_skipped', 1)
      on conflict (job, metric) do update set value = public.job_totals.value + 1;
      return jsonb_build_object('started', false, 'held_by', v_holder, 'lease_expires_at', v_until);
    end if;
  end if;
  insert into public.cron_runs (run_id, job, trigger, started_at, status, dry_run)
  values (p_run_id, p_job, p_trigger, p_now, 'running', p_dry_run);
  return jsonb_build_object('started', true);
end
$$;

-- Finishes a run: its status, result and error; frees its lease; adds its counts to the totals (dry runs count
-- as runs, but their would-be deletions do not).
create function public.finish_job_run(p_run_id uuid, p_status text, p_result jsonb default null, p_error jsonb default null, p_now timestamptz default now())
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_job text;
  v_dry_run boolean;
begin
  update public.cron_runs
  set finished_at = p_now, status = p_status, result = p_result, error = p_error
  where run_id = p_run_id and status = 'running'
  returning job, dry_run into v_job, v_dry_run;
  if v_job is null then return; end if;
  delete from public.job_leases where job = v_job and run_id = p_run_id;
  insert into public.job_totals (job, metric, value)
  select v_job, 'runs_' || p_status, 1
  union all
  select v_job, r.key, (r.value #>> '{}')::bigint
  from jsonb_each(coalesce(p_result, '{}')) r
  where not v_dry_run
    and r.key in ('deleted_count', 'logs_updated', 'orphans_deleted', 'archived_count', 'metrics_deleted', 'hours_rolled_up', 'failed_count')
    and jsonb_typeof(r.value) = 'number'
  on conflict (job, metric) do update set value = public.job_totals.value + excluded.value;
end
$$;

-- Run history is kept bounded: runs older than p_cutoff go, except each job's latest success (health needs it).
create function public.prune_job_runs(p_cutoff timestamptz)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_deleted integer;
begin
  delete from public.cron_runs r
  where r.started_at < p_cutoff
    and r.run_id not in (
      select distinct on (job) run_id from public.cron_runs where status = 'succeeded' order by job, started_at desc
    );
  get diagnostics v_deleted = row_count;
  return v_deleted;
end
$$;

-- Per job: the latest run, the latest success, and whether a run is going on now.
create function public.job_run_summary(p_jobs text[])
returns jsonb
language sql
stable
set search_path = ''
as $$
  select coalesce(jsonb_object_agg(j.job, jsonb_build_object(
    'last_status', last.status,
    'last_started_at', last.started_at,
    'last_finished_at', last.finished_at,
    'last_duration_ms', round(extract(epoch from last.finished_at - last.started_at) * 1000),
    'last_error', last.error,
    'last_success_at', (select max(coalesce(s.finished_at, s.started_at)) from public.cron_runs s
                        where s.job = j.job and s.status in ('succeeded', 'partial') and not s.dry_run),
    'running', (select count(*) from public.cron_runs s where s.job = j.job and s.status = 'running'
                  and s.started_at > now() - interval '1 hour'),
    'totals', coalesce((select jsonb_object_agg(t.metric, t.value) from public.job_totals t where t.job = j.job), '{}')
  )), '{}')
  from unnest(p_jobs) as j (job)
  left join lateral (
    select r.* from public.cron_runs r where r.job = j.job and r.status <> 'skipped' order by r.started_at desc limit 1
  ) last on true
$$;

-- Everything /api/metrics exposes besides the jobs, in one call: the last hour's exports by format and status
-- and their p50/p95 durations, the alert's state, and the cleanup backlogs.
create function public.ops_metrics(p_file_retention_hours integer, p_log_retention_days integer, p_now timestamptz default now())
returns jsonb
language sql
stable
set search_path = ''
as $$
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
    'alert_firing', coalesce((select state = 'firing' from public.alert_state where alert = 'export_failure_rate'), false),
    'file_cleanup_backlog', (select count(*) from public.export_logs
                             where status = 'completed' and completed_at < p_now - make_interval(hours => p_file_retention_hours)),
    'file_cleanup_failing', (select count(*) from public.export_logs where status = 'completed' and cleanup_attempts > 0),
    'log_cleanup_backlog', (select count(*) from public.export_logs
                            where created_at < p_now - make_interval(days => p_log_retention_days)),
    'rollup_hours_pending', (select count(*) from generate_series(
                               date_trunc('hour', coalesce((select min(recorded_at) from public.export_metrics), p_now)),
                               date_trunc('hour', p_now) - interval '1 hour', interval '1 hour') h
                             where not exists (select 1 from public.export_metrics_hours r where r.hour = h))
  )
$$;

revoke execute on all functions in schema public from public, anon, authenticated;
grant execute on all functions in schema public to service_role;

-- The state of one alert, for health.
create function public.alert_status(p_alert text)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object('state', state, 'changed_at', changed_at, 'evaluated_at', evaluated_at)
  from public.alert_state where alert = p_alert
$$;

revoke execute on all functions in schema public from public, anon, authenticated;
grant execute on all functions in schema public to service_role;
