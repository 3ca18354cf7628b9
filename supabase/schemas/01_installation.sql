-- export-ops, current definition. The installation record (when export-ops was installed, which buckets it created), the health ping, the
-- bounded count helper, what the jobs need to know of a bucket before they use it, and the settings' bounds.
-- Checked against the migrations by test/schemas.integration.test.ts (see docs/DEVELOPMENT.md).

CREATE TABLE public.export_ops_installation (
    singleton boolean DEFAULT true NOT NULL,
    installed_at timestamp with time zone DEFAULT now() NOT NULL,
    created_buckets text[] DEFAULT '{}'::text[] NOT NULL,
    CONSTRAINT export_ops_installation_singleton_check CHECK (singleton)
);

ALTER TABLE ONLY public.export_ops_installation
    ADD CONSTRAINT export_ops_installation_pkey PRIMARY KEY (singleton);

ALTER TABLE public.export_ops_installation ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION public.export_ops_bucket_states(p_buckets text[]) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select jsonb_build_object(
    'installed_at', i.installed_at,
    'buckets', coalesce((
      select jsonb_object_agg(n.name, jsonb_build_object(
        'exists', b.id is not null,
        'public', coalesce(b.public, false),
        'created_by_export_ops', n.name = any (i.created_buckets)))
      from unnest(p_buckets) as n (name)
      left join storage.buckets b on b.id = n.name), '{}'::jsonb))
  from public.export_ops_installation i
$$;

CREATE FUNCTION public.export_ops_count(p_job text, p_metric text, p_value bigint DEFAULT 1) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  insert into public.export_ops_job_totals (job, metric, value) values (p_job, p_metric, p_value)
  on conflict (job, metric) do update set value = public.export_ops_job_totals.value + excluded.value
$$;

CREATE FUNCTION public.export_ops_ping() RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select jsonb_build_object('now', now(), 'role', current_user, 'server_version', current_setting('server_version'))
$$;

CREATE FUNCTION public.export_ops_setting(p_setting text, p_argument text, p_value integer) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
declare
  -- lib/setting-bounds.ts' bounds, each with its upper bound in words (test/setting-bounds.integration.test.ts holds
  -- them equal); every function that takes a setting checks it here, first
  v_bound constant jsonb := '{
    "EXPORT_FILE_RETENTION_HOURS": [1, 8760, "a year"],
    "EXPORT_LOG_RETENTION_DAYS": [1, 3650, "10 years"],
    "EXPORT_METRICS_RETENTION_DAYS": [1, 3650, "10 years"],
    "EXPORT_CLEANUP_MAX_ATTEMPTS": [1, 100, "attempts"],
    "FAILURE_RATE_MIN_SAMPLE": [1, 1000000, "exports"],
    "EXPORT_SILENCE_ALERT_HOURS": [1, 168, "a week"],
    "EXPORT_STUCK_HOURS": [1, 720, "30 days"]
  }'::jsonb -> p_setting;
begin
  if v_bound is null then
    raise exception 'no setting named %', p_setting using errcode = '22023';
  end if;
  if p_value is null or p_value not between (v_bound ->> 0)::integer and (v_bound ->> 1)::integer then
    raise exception '% must be between % and % (%), got %', p_argument, v_bound ->> 0, v_bound ->> 1, v_bound ->> 2, p_value
      using errcode = '22023';
  end if;
  return p_value;
end
$$;

REVOKE ALL ON FUNCTION public.export_ops_bucket_states(p_buckets text[]) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_bucket_states(p_buckets text[]) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_count(p_job text, p_metric text, p_value bigint) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_count(p_job text, p_metric text, p_value bigint) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_ping() FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_ping() TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_setting(p_setting text, p_argument text, p_value integer) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_setting(p_setting text, p_argument text, p_value integer) TO service_role;

REVOKE ALL ON TABLE public.export_ops_installation FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_installation TO service_role;
