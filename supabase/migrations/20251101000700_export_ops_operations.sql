-- export-ops: operations. Owns the run history `export_ops_runs` (every invocation of every job), per-job
-- leases `export_ops_leases` for jobs that must not overlap, running totals `export_ops_job_totals` for
-- Prometheus counters, and the reads behind /api/health/detailed and /api/metrics.

-- Every invocation of every job: the dead man's switch and the run history behind health and /api/metrics.
create table public.export_ops_runs (
  run_id uuid primary key,
  job text not null,
  trigger text not null check (trigger in ('vercel_cron', 'manual', 'script')),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed', 'partial', 'skipped')),
  dry_run boolean not null default false,
  result jsonb,
  error jsonb
);
create index export_ops_runs_job_started_idx on public.export_ops_runs (job, started_at desc);

-- One lease per job that must not overlap; a dead run's lease simply expires.
create table public.export_ops_leases (
  job text primary key,
  run_id uuid not null,
  acquired_at timestamptz not null default now(),
  expires_at timestamptz not null
);

-- Monotonic totals per job (runs by status, files deleted, logs archived, ...): Prometheus counters must never go
-- down, and the run history is pruned, so the sums are kept here as runs finish.
create table public.export_ops_job_totals (
  job text not null,
  metric text not null,
  value bigint not null default 0,
  primary key (job, metric)
);

alter table public.export_ops_runs enable row level security;
alter table public.export_ops_leases enable row level security;
alter table public.export_ops_job_totals enable row level security;
revoke all on table public.export_ops_runs, public.export_ops_leases, public.export_ops_job_totals from public, anon, authenticated;
grant all on table public.export_ops_runs, public.export_ops_leases, public.export_ops_job_totals to service_role;

-- Starts a run: records it as `running`, or — when the job is leased (p_lease_seconds) and another live run
-- holds the lease — records it as `skipped` and says who holds it. The lease row is taken with
-- `on conflict ... where expired`, so of two simultaneous starts exactly one wins.
create function public.export_ops_start_run(
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
    insert into public.export_ops_leases as l (job, run_id, acquired_at, expires_at)
    values (p_job, p_run_id, p_now, p_now + make_interval(secs => p_lease_seconds))
    on conflict (job) do update set run_id = excluded.run_id, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
      where l.expires_at < p_now
    returning l.run_id into v_holder;
    if v_holder is null then
      select run_id, expires_at into v_holder, v_until from public.export_ops_leases where job = p_job;
      insert into public.export_ops_runs (run_id, job, trigger, started_at, finished_at, status, dry_run, result)
      values (p_run_id, p_job, p_trigger, p_now, p_now, 'skipped', p_dry_run,
              jsonb_build_object('skipped', true, 'reason', 'another run holds the lease', 'held_by', v_holder, 'lease_expires_at', v_until));
      insert into public.export_ops_job_totals (job, metric, value) values (p_job, 'runs_skipped', 1)
      on conflict (job, metric) do update set value = public.export_ops_job_totals.value + 1;
      return jsonb_build_object('started', false, 'held_by', v_holder, 'lease_expires_at', v_until);
    end if;
  end if;
  insert into public.export_ops_runs (run_id, job, trigger, started_at, status, dry_run)
  values (p_run_id, p_job, p_trigger, p_now, 'running', p_dry_run);
  return jsonb_build_object('started', true);
end
$$;

-- Finishes a run: its status, result and error; frees its lease; adds its counts to the totals (dry runs count
-- as runs, but their would-be deletions do not).
create function public.export_ops_finish_run(p_run_id uuid, p_status text, p_result jsonb default null, p_error jsonb default null, p_now timestamptz default now())
returns void
language plpgsql
set search_path = ''
as $$
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
  insert into public.export_ops_job_totals (job, metric, value)
  select v_job, 'runs_' || p_status, 1
  union all
  select v_job, r.key, (r.value #>> '{}')::bigint
  from jsonb_each(coalesce(p_result, '{}')) r
  where not v_dry_run
    and r.key in ('deleted_count', 'logs_updated', 'orphans_deleted', 'archived_count', 'metrics_deleted', 'hours_rolled_up', 'failed_count')
    and jsonb_typeof(r.value) = 'number'
  on conflict (job, metric) do update set value = public.export_ops_job_totals.value + excluded.value;
end
$$;

-- Run history is kept bounded: runs older than p_cutoff go, except each job's latest success (health needs it).
create function public.export_ops_prune_runs(p_cutoff timestamptz)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_deleted integer;
begin
  delete from public.export_ops_runs r
  where r.started_at < p_cutoff
    and r.run_id not in (
      select distinct on (job) run_id from public.export_ops_runs where status = 'succeeded' order by job, started_at desc
    );
  get diagnostics v_deleted = row_count;
  return v_deleted;
end
$$;

-- Per job: the latest run, the latest success, and whether a run is going on now.
create function public.export_ops_run_summary(p_jobs text[])
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
    'last_success_at', (select max(coalesce(s.finished_at, s.started_at)) from public.export_ops_runs s
                        where s.job = j.job and s.status in ('succeeded', 'partial') and not s.dry_run),
    'running', (select count(*) from public.export_ops_runs s where s.job = j.job and s.status = 'running'
                  and s.started_at > now() - interval '1 hour'),
    'totals', coalesce((select jsonb_object_agg(t.metric, t.value) from public.export_ops_job_totals t where t.job = j.job), '{}')
  )), '{}')
  from unnest(p_jobs) as j (job)
  left join lateral (
    select r.* from public.export_ops_runs r where r.job = j.job and r.status <> 'skipped' order by r.started_at desc limit 1
  ) last on true
$$;

-- Everything /api/metrics exposes besides the jobs, in one call: the last hour's exports by format and status
-- and their p50/p95 durations, the alert's state, and the cleanup backlogs.
create function public.export_ops_metrics_snapshot(p_file_retention_hours integer, p_log_retention_days integer, p_now timestamptz default now())
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
    'alert_firing', coalesce((select state = 'firing' from public.export_ops_alerts where alert = 'export_failure_rate'), false),
    'file_cleanup_backlog', (select count(*) from public.export_logs
                             where status = 'completed' and completed_at < p_now - make_interval(hours => p_file_retention_hours)),
    'file_cleanup_failing', (select count(*) from public.export_ops_file_cleanup c join public.export_logs l using (export_id)
                             where l.status = 'completed' and c.attempts > 0),
    'log_cleanup_backlog', (select count(*) from public.export_logs
                            where created_at < p_now - make_interval(days => p_log_retention_days)),
    'rollup_hours_pending', (select count(*) from generate_series(
                               date_trunc('hour', coalesce((select min(recorded_at) from public.export_metrics), p_now)),
                               date_trunc('hour', p_now) - interval '1 hour', interval '1 hour') h
                             where not exists (select 1 from public.export_ops_metric_hours r where r.hour = h))
  )
$$;

revoke all on function public.export_ops_start_run, public.export_ops_finish_run, public.export_ops_prune_runs,
  public.export_ops_run_summary, public.export_ops_metrics_snapshot from public, anon, authenticated;
grant execute on function public.export_ops_start_run, public.export_ops_finish_run, public.export_ops_prune_runs,
  public.export_ops_run_summary, public.export_ops_metrics_snapshot to service_role;
