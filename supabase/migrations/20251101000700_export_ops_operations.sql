-- export-ops: operations. Owns the run history `export_ops_runs` (every invocation of every job), per-job
-- leases `export_ops_leases` for jobs that must not overlap, running totals `export_ops_job_totals` for
-- Prometheus counters, and the reads behind /api/health/detailed and /api/metrics.

-- Every invocation of every job: the dead man's switch and the run history behind health and /api/metrics.
-- Outcomes: `succeeded` (all work done), `partial` (progress made, with failures or work left), `failed` (an
-- error, or no progress while every attempted batch failed), `skipped` (another run held the lease), and
-- `abandoned` (still `running` past `deadline_at`: its function was stopped or crashed). Dry runs are kept and
-- flagged, and never count as a job's last run or last success. Times are the database's.
create table public.export_ops_runs (
  run_id uuid primary key,
  job text not null,
  trigger text not null check (trigger in ('vercel_cron', 'manual', 'script', 'continuation')),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  deadline_at timestamptz not null,
  status text not null default 'running' check (status in ('running', 'succeeded', 'partial', 'failed', 'skipped', 'abandoned')),
  dry_run boolean not null default false,
  result jsonb,
  error jsonb
);
create index export_ops_runs_job_started_idx on public.export_ops_runs (job, started_at desc);
create index export_ops_runs_running_idx on public.export_ops_runs (deadline_at) where status = 'running';

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

-- Adds to a job's running totals.
create function public.export_ops_count(p_job text, p_metric text, p_value bigint default 1)
returns void
language sql
set search_path = ''
as $$
  insert into public.export_ops_job_totals (job, metric, value) values (p_job, p_metric, p_value)
  on conflict (job, metric) do update set value = public.export_ops_job_totals.value + excluded.value
$$;

-- Closes every run still `running` past its deadline (its function's maxDuration plus a margin, set when it
-- started) as `abandoned`, frees its lease and counts it. Called by every run start and every health or metrics
-- read, so a run killed mid-way is closed within one invocation of any job or one scrape. Returns how many.
create function public.export_ops_close_abandoned_runs(p_now timestamptz default now())
returns integer
language sql
set search_path = ''
as $$
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

-- Starts a run: records it as `running` with its deadline (p_max_seconds plus a minute), or — when the job is
-- leased (p_lease_seconds) and another live run holds the lease — records it as `skipped` and says who holds it.
-- The lease row is taken with `on conflict ... where expired`, so of two simultaneous starts exactly one wins.
create function public.export_ops_start_run(
  p_run_id uuid,
  p_job text,
  p_trigger text,
  p_dry_run boolean,
  p_max_seconds integer,
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

-- Finishes a run: its status, result and error; frees its lease; adds its counts to the totals (a dry run is
-- counted as a dry run, and its would-be deletions not at all).
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
  perform public.export_ops_count(v_job, case when v_dry_run then 'dry_runs' else 'runs_' || p_status end);
  perform public.export_ops_count(v_job, r.key, (r.value #>> '{}')::bigint)
  from jsonb_each(coalesce(p_result, '{}')) r
  where not v_dry_run
    and r.key in ('deleted_count', 'logs_updated', 'orphans_deleted', 'archived_count', 'metrics_deleted', 'hours_rolled_up', 'failed_count')
    and jsonb_typeof(r.value) = 'number';
end
$$;

-- A cron call refused because CRON_SECRET is unset or a placeholder: recorded as a `failed` run (so health,
-- metrics and alerts show it), at most once a minute per job, so calls to a misconfigured deployment cannot flood
-- the table. Returns whether it was recorded.
create function public.export_ops_record_refused_run(p_run_id uuid, p_job text, p_trigger text, p_error jsonb, p_now timestamptz default now())
returns boolean
language plpgsql
set search_path = ''
as $$
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

-- Whether a job may continue its backlog once more today (continuations counted per UTC day, so a backlog
-- finishes the same day but a job that always has work left cannot call itself without end).
create function public.export_ops_continuation_allowed(p_job text, p_max_per_day integer, p_now timestamptz default now())
returns boolean
language sql
stable
set search_path = ''
as $$
  select count(*) < p_max_per_day from public.export_ops_runs
  where job = p_job and trigger = 'continuation' and started_at >= date_trunc('day', p_now at time zone 'UTC') at time zone 'UTC'
$$;

-- Run history is kept bounded: runs older than p_cutoff go, except each job's latest real success (health needs it).
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
    and r.status <> 'running'
    and r.run_id not in (
      select distinct on (job) run_id from public.export_ops_runs
      where status in ('succeeded', 'partial') and not dry_run order by job, started_at desc
    );
  get diagnostics v_deleted = row_count;
  return v_deleted;
end
$$;

-- Per job, from real runs only (dry runs and skipped invocations left out): the latest finished run, the latest
-- success (`succeeded` or `partial`: progress was made), the failed or abandoned runs since it, runs going on now,
-- and the running totals; plus when export-ops was installed, which is where staleness counts from until a job's
-- first success.
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

-- Exports the file cleanup quarantined (an unsafe path, or Storage failing attempt after attempt).
create function public.export_ops_quarantined_count()
returns bigint
language sql
stable
set search_path = ''
as $$ select count(*) from public.export_ops_file_cleanup where quarantined_at is not null $$;

-- Exports still `queued` or `processing` after p_hours: the host's export died without saying so.
create function public.export_ops_exports_stuck(p_hours integer, p_now timestamptz default now())
returns bigint
language sql
stable
set search_path = ''
as $$
  select count(*) from public.export_logs
  where status in ('queued', 'processing') and created_at < p_now - make_interval(hours => p_hours)
$$;

-- Everything /api/metrics exposes besides the jobs, in one call: the last hour's exports by format and status
-- and their p50/p95 durations, the last export's time, exports stuck in progress, the alerts' states, and the
-- cleanup and rollup backlogs (with the age of the oldest log the log cleanup should have removed).
create function public.export_ops_metrics_snapshot(
  p_file_retention_hours integer,
  p_log_retention_days integer,
  p_stuck_hours integer,
  p_now timestamptz default now()
)
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

revoke all on function public.export_ops_count, public.export_ops_close_abandoned_runs, public.export_ops_start_run,
  public.export_ops_finish_run, public.export_ops_record_refused_run, public.export_ops_continuation_allowed,
  public.export_ops_prune_runs, public.export_ops_run_summary, public.export_ops_quarantined_count,
  public.export_ops_exports_stuck, public.export_ops_metrics_snapshot from public, anon, authenticated;
grant execute on function public.export_ops_count, public.export_ops_close_abandoned_runs, public.export_ops_start_run,
  public.export_ops_finish_run, public.export_ops_record_refused_run, public.export_ops_continuation_allowed,
  public.export_ops_prune_runs, public.export_ops_run_summary, public.export_ops_quarantined_count,
  public.export_ops_exports_stuck, public.export_ops_metrics_snapshot to service_role;
