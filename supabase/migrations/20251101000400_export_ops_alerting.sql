-- export-ops: alerting. Owns `export_ops_alerts` (one state machine per alert: ok -> firing -> ok, with the
-- notification still owed when a webhook failed) and the functions that evaluate, notify and read it.

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

-- The state of one alert, for health.
create function public.export_ops_alert_status(p_alert text)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object('state', state, 'changed_at', changed_at, 'evaluated_at', evaluated_at)
  from public.export_ops_alerts where alert = p_alert
$$;

revoke all on function public.export_ops_evaluate_alert, public.export_ops_claim_alert_notification,
  public.export_ops_finish_alert_notification, public.export_ops_alert_status from public, anon, authenticated;
grant execute on function public.export_ops_evaluate_alert, public.export_ops_claim_alert_notification,
  public.export_ops_finish_alert_notification, public.export_ops_alert_status to service_role;
