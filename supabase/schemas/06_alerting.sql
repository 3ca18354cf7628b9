-- export-ops, current definition. Alert state, its transitions, and the notifications owed for them.
-- Checked against the migrations by test/schemas.integration.test.ts (see docs/DEVELOPMENT.md).

CREATE TABLE public.export_ops_alert_transitions (
    id bigint NOT NULL,
    alert text NOT NULL,
    state text NOT NULL,
    at timestamp with time zone NOT NULL,
    payload jsonb,
    CONSTRAINT export_ops_alert_transitions_state_check CHECK ((state = ANY (ARRAY['ok'::text, 'firing'::text])))
);

CREATE TABLE public.export_ops_alerts (
    alert text NOT NULL,
    state text DEFAULT 'ok'::text NOT NULL,
    changed_at timestamp with time zone DEFAULT now() NOT NULL,
    evaluated_at timestamp with time zone,
    last_payload jsonb,
    notified_state text,
    notify_attempts integer DEFAULT 0 NOT NULL,
    notify_error text,
    notify_claimed_until timestamp with time zone,
    CONSTRAINT export_ops_alerts_notified_state_check CHECK ((notified_state = ANY (ARRAY['ok'::text, 'firing'::text]))),
    CONSTRAINT export_ops_alerts_state_check CHECK ((state = ANY (ARRAY['ok'::text, 'firing'::text])))
);

ALTER TABLE public.export_ops_alert_transitions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.export_ops_alert_transitions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY public.export_ops_alert_transitions
    ADD CONSTRAINT export_ops_alert_transitions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.export_ops_alerts
    ADD CONSTRAINT export_ops_alerts_pkey PRIMARY KEY (alert);

CREATE INDEX export_ops_alert_transitions_at_idx ON public.export_ops_alert_transitions USING btree (at DESC);

ALTER TABLE public.export_ops_alert_transitions ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.export_ops_alerts ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION public.export_ops_alert_status() RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select coalesce(jsonb_object_agg(alert, jsonb_build_object('state', state, 'changed_at', changed_at, 'evaluated_at', evaluated_at)), '{}')
  from public.export_ops_alerts
$$;

CREATE FUNCTION public.export_ops_claim_alert_notification(p_alert text, p_lease_seconds integer DEFAULT 60, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  update public.export_ops_alerts
  set notify_claimed_until = p_now + make_interval(secs => p_lease_seconds)
  where alert = p_alert
    and notified_state is distinct from state
    and (notify_claimed_until is null or notify_claimed_until < p_now)
  returning jsonb_build_object('state', state, 'changed_at', changed_at, 'payload', last_payload, 'attempts', notify_attempts)
$$;

CREATE FUNCTION public.export_ops_evaluate_alert(p_alert text, p_firing boolean, p_payload jsonb, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION public.export_ops_finish_alert_notification(p_alert text, p_state text, p_error text DEFAULT NULL::text) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  update public.export_ops_alerts
  set notified_state = case when p_error is null then p_state else notified_state end,
      notify_attempts = case when p_error is null then 0 else notify_attempts + 1 end,
      notify_error = left(p_error, 500),
      notify_claimed_until = null
  where alert = p_alert
$$;

CREATE FUNCTION public.export_ops_record_alert_transition() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  insert into public.export_ops_alert_transitions (alert, state, at, payload) values (new.alert, new.state, new.changed_at, new.last_payload);
  delete from public.export_ops_alert_transitions t
  where t.alert = new.alert
    and t.id <= (select id from public.export_ops_alert_transitions where alert = new.alert order by id desc offset 200 limit 1);
  return null;
end
$$;

CREATE TRIGGER export_ops_alert_transition AFTER UPDATE OF state ON public.export_ops_alerts FOR EACH ROW WHEN ((old.state IS DISTINCT FROM new.state)) EXECUTE FUNCTION public.export_ops_record_alert_transition();

REVOKE ALL ON FUNCTION public.export_ops_alert_status() FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_alert_status() TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_claim_alert_notification(p_alert text, p_lease_seconds integer, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_claim_alert_notification(p_alert text, p_lease_seconds integer, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_evaluate_alert(p_alert text, p_firing boolean, p_payload jsonb, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_evaluate_alert(p_alert text, p_firing boolean, p_payload jsonb, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_finish_alert_notification(p_alert text, p_state text, p_error text) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_finish_alert_notification(p_alert text, p_state text, p_error text) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_record_alert_transition() FROM PUBLIC, anon, authenticated, service_role;


REVOKE ALL ON TABLE public.export_ops_alert_transitions FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_alert_transitions TO service_role;

REVOKE ALL ON SEQUENCE public.export_ops_alert_transitions_id_seq FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON SEQUENCE public.export_ops_alert_transitions_id_seq TO service_role;

REVOKE ALL ON TABLE public.export_ops_alerts FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_alerts TO service_role;
