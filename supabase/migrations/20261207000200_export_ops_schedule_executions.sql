-- export-ops: a Vercel Schedules delivery is keyed by its execution ID. Owns export_ops_occurrences.scheduled_at,
-- the new export_ops_claim_occurrence and export_ops_page_run's `delivery`.
--   - export_ops_occurrences.scheduled_at: the time the delivery was scheduled for (Schedules' ce-vssscheduledat or
--     ce-time; a Cron Jobs occurrence's own fire time), shown with the run.
--   - export_ops_claim_occurrence takes it, and no longer takes p_dry_run: a dry run never claims an occurrence, so
--     the duplicate it records is never one.
--   - export_ops_page_run answers the delivery a run claimed (its occurrence or execution ID, the scheduled time and
--     how many deliveries of it arrived), or null for a run no platform delivery started.

alter table public.export_ops_occurrences add column scheduled_at timestamptz;

drop function public.export_ops_claim_occurrence(uuid, text, text, text, boolean, timestamptz);

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

revoke all on function public.export_ops_claim_occurrence(uuid, text, text, text, timestamptz, timestamptz) from public, anon, authenticated;
grant execute on function public.export_ops_claim_occurrence(uuid, text, text, text, timestamptz, timestamptz) to service_role;

create or replace function public.export_ops_page_run(p_run_id uuid) returns jsonb
language sql stable
set search_path to ''
as $$
  select jsonb_build_object(
    'run_id', r.run_id, 'job', r.job, 'trigger', r.trigger, 'status', r.status, 'dry_run', r.dry_run,
    'started_at', r.started_at, 'finished_at', r.finished_at, 'deadline_at', r.deadline_at,
    'duration_ms', round(extract(epoch from r.finished_at - r.started_at) * 1000),
    'result', r.result, 'error', r.error,
    'delivery', (select jsonb_build_object('occurrence', o.occurrence, 'scheduled_at', o.scheduled_at, 'deliveries', o.deliveries)
                 from public.export_ops_occurrences o where o.job = r.job and o.run_id = r.run_id))
  from public.export_ops_runs r where r.run_id = p_run_id
$$;
