-- export-ops: alerting. Owns `export_ops_alerts` (one state machine per alert: ok -> firing -> ok, with the
-- notification still owed when a webhook failed), the reads each alert is judged on (failure rate, exports
-- stopped), and the functions that evaluate, notify and read the state.

create table public.export_ops_alerts (
  alert text primary key,
  state text not null default 'ok' check (state in ('ok', 'firing')),
  changed_at timestamptz not null default now(),
  evaluated_at timestamptz,
  last_payload jsonb,
  notified_state text check (notified_state in ('ok', 'firing')),
  notify_attempts integer not null default 0,
  notify_error text,
  notify_claimed_until timestamptz
);
alter table public.export_ops_alerts enable row level security;
revoke all on table public.export_ops_alerts from public, anon, authenticated;
grant all on table public.export_ops_alerts to service_role;

-- Failure counts for the failure-rate alert, over the last p_minutes by the database clock, or — when p_alert was
-- last evaluated longer ago than that (a daily schedule on Vercel Hobby) — over everything since that evaluation,
-- so no period goes unjudged; at most the last 7 days.
create function public.export_ops_failure_counts(p_minutes integer, p_alert text default null, p_now timestamptz default now())
returns jsonb
language sql
stable
set search_path = ''
as $$
  with w as (
    select greatest(least(p_now - make_interval(mins => p_minutes),
                          coalesce((select a.evaluated_at from public.export_ops_alerts a where a.alert = p_alert), p_now)),
                    p_now - interval '7 days') as since
  )
  select jsonb_build_object('total', count(m.id), 'failed', count(m.id) filter (where m.status = 'failed'),
                            'window_start', w.since, 'window_end', p_now)
  from w left join public.export_metrics m on m.recorded_at >= w.since and m.recorded_at < p_now
  group by w.since
$$;

-- The exports-stopped alert: exports recorded in the last p_hours, on how many of the previous 7 days the same
-- hours had exports (the alert is judged only for a product that is usually busy then), and the last export.
create function public.export_ops_export_silence(p_hours integer, p_now timestamptz default now())
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'recent', (select count(*) from public.export_metrics m
               where m.recorded_at >= p_now - make_interval(hours => p_hours) and m.recorded_at < p_now),
    'busy_days', (select count(*) from generate_series(1, 7) d
                  where exists (select 1 from public.export_metrics m
                                where m.recorded_at >= p_now - make_interval(days => d, hours => p_hours)
                                  and m.recorded_at < p_now - make_interval(days => d))),
    'last_export_at', (select max(m.recorded_at) from public.export_metrics m),
    'window_start', p_now - make_interval(hours => p_hours),
    'window_end', p_now)
$$;

-- The failure-rate alert as a state machine. p_firing: true/false from the latest evaluation, null when there
-- were too few exports to judge (the state is then kept). Returns the transition (`fired`, `resolved` or null);
-- rows are locked, so overlapping runs see one transition between them.

create function public.export_ops_evaluate_alert(p_alert text, p_firing boolean, p_payload jsonb, p_now timestamptz default now())
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_previous text;
  v_state text;
begin
  insert into public.export_ops_alerts (alert, state, changed_at, notified_state) values (p_alert, 'ok', p_now, 'ok')
  on conflict (alert) do nothing;
  select state into v_previous from public.export_ops_alerts where alert = p_alert for update;
  v_state := case when p_firing is null then v_previous when p_firing then 'firing' else 'ok' end;
  update public.export_ops_alerts
  set state = v_state,
      evaluated_at = p_now,
      changed_at = case when v_state <> v_previous then p_now else changed_at end,
      last_payload = case when v_state <> v_previous then p_payload else last_payload end
  where alert = p_alert;
  return jsonb_build_object(
    'previous', v_previous,
    'state', v_state,
    'transition', case when v_state = v_previous then null when v_state = 'firing' then 'fired' else 'resolved' end);
end
$$;

-- Takes the notification still owed for an alert (its state differs from the last one notified), leasing it so
-- an overlapping run does not send it too. Returns null when nothing is owed or another run holds it.
create function public.export_ops_claim_alert_notification(p_alert text, p_lease_seconds integer default 60, p_now timestamptz default now())
returns jsonb
language sql
set search_path = ''
as $$
  update public.export_ops_alerts
  set notify_claimed_until = p_now + make_interval(secs => p_lease_seconds)
  where alert = p_alert
    and notified_state is distinct from state
    and (notify_claimed_until is null or notify_claimed_until < p_now)
  returning jsonb_build_object('state', state, 'changed_at', changed_at, 'payload', last_payload, 'attempts', notify_attempts)
$$;

-- Records the outcome of a notification: sent (p_error null) or failed (retried by the next run).
create function public.export_ops_finish_alert_notification(p_alert text, p_state text, p_error text default null)
returns void
language sql
set search_path = ''
as $$
  update public.export_ops_alerts
  set notified_state = case when p_error is null then p_state else notified_state end,
      notify_attempts = case when p_error is null then 0 else notify_attempts + 1 end,
      notify_error = left(p_error, 500),
      notify_claimed_until = null
  where alert = p_alert
$$;

-- Every alert's state, for health and the ops page: {alert: {state, changed_at, evaluated_at}}.
create function public.export_ops_alert_status()
returns jsonb
language sql
stable
set search_path = ''
as $$
  select coalesce(jsonb_object_agg(alert, jsonb_build_object('state', state, 'changed_at', changed_at, 'evaluated_at', evaluated_at)), '{}')
  from public.export_ops_alerts
$$;

revoke all on function public.export_ops_failure_counts, public.export_ops_export_silence,
  public.export_ops_evaluate_alert, public.export_ops_claim_alert_notification,
  public.export_ops_finish_alert_notification, public.export_ops_alert_status from public, anon, authenticated;
grant execute on function public.export_ops_failure_counts, public.export_ops_export_silence,
  public.export_ops_evaluate_alert, public.export_ops_claim_alert_notification,
  public.export_ops_finish_alert_notification, public.export_ops_alert_status to service_role;
