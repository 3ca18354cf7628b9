-- export-ops, current definition. Check-ins: what each run told its job's check-in target, and scheduled deliveries seen once.
-- Checked against the migrations by test/schemas.integration.test.ts (see docs/DEVELOPMENT.md).
create table public.export_ops_checkins (
  run_id uuid not null,
  event text not null check (event in ('start', 'success', 'fail')),
  job text not null,
  provider text not null,
  delivered boolean not null,
  http_status integer,
  error text,
  at timestamptz not null default now(),
  primary key (run_id, event)
);
create index export_ops_checkins_job_at on public.export_ops_checkins (job, at desc);
alter table public.export_ops_checkins enable row level security;
revoke all on table public.export_ops_checkins from public, anon, authenticated;
grant all on table public.export_ops_checkins to service_role;

create table public.export_ops_occurrences (
  job text not null,
  occurrence text not null,
  run_id uuid not null,
  delivered_at timestamptz not null default now(),
  deliveries integer not null default 1,
  scheduled_at timestamptz,
  primary key (job, occurrence)
);
alter table public.export_ops_occurrences enable row level security;
revoke all on table public.export_ops_occurrences from public, anon, authenticated;
grant all on table public.export_ops_occurrences to service_role;

-- One delivery of one check-in (a retry of the same run and event replaces it), counted in the job's totals as
-- checkins_sent or checkins_failed. The job's rows older than 35 days go at the same time.
create function public.export_ops_record_checkin(
  p_job text, p_run_id uuid, p_event text, p_provider text, p_delivered boolean, p_http_status integer default null,
  p_error text default null, p_now timestamptz default now()
)
returns void
language sql
set search_path = ''
as $$
  delete from public.export_ops_checkins where job = p_job and at < p_now - interval '35 days';
  insert into public.export_ops_checkins as c (run_id, event, job, provider, delivered, http_status, error, at)
  values (p_run_id, p_event, p_job, p_provider, p_delivered, p_http_status, p_error, p_now)
  on conflict (run_id, event) do update
    set provider = excluded.provider, delivered = excluded.delivered, http_status = excluded.http_status,
        error = excluded.error, at = excluded.at;
  select public.export_ops_count(p_job, case when p_delivered then 'checkins_sent' else 'checkins_failed' end);
$$;

-- The job's abandoned runs whose check-in target was told they started and not that they ended (at most 5, oldest
-- first): the next run tells it they failed.
create function public.export_ops_unreported_abandoned(p_job text)
returns uuid[]
language sql
stable
set search_path = ''
as $$
  select coalesce(array_agg(run_id order by started_at), '{}')
  from (
    select r.run_id, r.started_at
    from public.export_ops_runs r
    join public.export_ops_checkins s on s.run_id = r.run_id and s.event = 'start'
    where r.job = p_job and r.status = 'abandoned'
      and not exists (select 1 from public.export_ops_checkins e where e.run_id = r.run_id and e.event <> 'start' and e.delivered)
    order by r.started_at
    limit 5
  ) unreported
$$;

-- Per job, its latest check-in: {job: {event, provider, delivered, http_status, error, at, run_id}}.
create function public.export_ops_checkin_states(p_jobs text[])
returns jsonb
language sql
stable
set search_path = ''
as $$
  select coalesce(jsonb_object_agg(j.job, to_jsonb(last) - 'job'), '{}')
  from unnest(p_jobs) as j(job)
  cross join lateral (
    select c.job, c.event, c.provider, c.delivered, c.http_status, c.error, c.at, c.run_id
    from public.export_ops_checkins c where c.job = j.job order by c.at desc, c.event = 'start' limit 1
  ) last
$$;

-- A scheduled delivery's occurrence: a Vercel Schedules execution ID, or a Cron Jobs schedule and the time it fired
-- for. The first delivery claims it; a later one of the same occurrence is recorded as a `skipped` run (reason
-- `duplicate delivery`) and answered {claimed: false, first_run_id}. A dry run never claims one.
create function public.export_ops_claim_occurrence(
  p_run_id uuid, p_job text, p_trigger text, p_occurrence text, p_scheduled_at timestamptz default null, p_now timestamptz default now()
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_first uuid;
begin
  if p_occurrence is null or length(p_occurrence) not between 1 and 200 then
    raise exception 'p_occurrence must be 1 to 200 characters' using errcode = '22023';
  end if;
  delete from public.export_ops_occurrences where job = p_job and delivered_at < p_now - interval '35 days';
  insert into public.export_ops_occurrences (job, occurrence, run_id, delivered_at, scheduled_at)
  values (p_job, p_occurrence, p_run_id, p_now, p_scheduled_at)
  on conflict (job, occurrence) do nothing;
  if found then
    return jsonb_build_object('claimed', true);
  end if;
  update public.export_ops_occurrences set deliveries = deliveries + 1
  where job = p_job and occurrence = p_occurrence
  returning run_id into v_first;
  insert into public.export_ops_runs (run_id, job, trigger, started_at, finished_at, deadline_at, status, dry_run, result)
  values (p_run_id, p_job, p_trigger, p_now, p_now, p_now, 'skipped', false,
          jsonb_build_object('skipped', true, 'reason', 'duplicate delivery', 'occurrence', p_occurrence, 'first_run_id', v_first));
  perform public.export_ops_count(p_job, 'runs_skipped');
  return jsonb_build_object('claimed', false, 'first_run_id', v_first);
end
$$;

revoke all on function public.export_ops_record_checkin(text, uuid, text, text, boolean, integer, text, timestamptz) from public, anon, authenticated;
revoke all on function public.export_ops_unreported_abandoned(text) from public, anon, authenticated;
revoke all on function public.export_ops_checkin_states(text[]) from public, anon, authenticated;
revoke all on function public.export_ops_claim_occurrence(uuid, text, text, text, timestamptz, timestamptz) from public, anon, authenticated;
grant execute on function public.export_ops_record_checkin(text, uuid, text, text, boolean, integer, text, timestamptz) to service_role;
grant execute on function public.export_ops_unreported_abandoned(text) to service_role;
grant execute on function public.export_ops_checkin_states(text[]) to service_role;
grant execute on function public.export_ops_claim_occurrence(uuid, text, text, text, timestamptz, timestamptz) to service_role;
