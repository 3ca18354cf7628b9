-- export-ops, current definition. The installation record (when export-ops was installed, which buckets it created), the health ping, the
-- bounded count helper, and what the jobs need to know of a bucket before they use it.
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

REVOKE ALL ON FUNCTION public.export_ops_bucket_states(p_buckets text[]) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_bucket_states(p_buckets text[]) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_count(p_job text, p_metric text, p_value bigint) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_count(p_job text, p_metric text, p_value bigint) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_ping() FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_ping() TO service_role;

REVOKE ALL ON TABLE public.export_ops_installation FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_installation TO service_role;
