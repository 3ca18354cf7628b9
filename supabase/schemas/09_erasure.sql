-- export-ops, current definition. Per-user erasure: the user's files and state, and one rewrite at a time per archive object.
-- Checked against the migrations by test/schemas.integration.test.ts (see docs/DEVELOPMENT.md).

CREATE FUNCTION public.export_ops_archive_object_rewritten(p_bucket text, p_name text, p_user_id uuid, p_rows integer, p_run_id uuid, p_version integer) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  if p_rows = 0 then
    delete from public.export_ops_archive_objects
    where bucket = p_bucket and name = p_name and version = p_version and rewrite_run = p_run_id;
  else
    update public.export_ops_archive_objects
    set users = array_remove(users, p_user_id), row_count = p_rows, rewritten_at = now(),
        version = version + 1, rewrite_run = null, rewrite_until = null
    where bucket = p_bucket and name = p_name and version = p_version and rewrite_run = p_run_id;
  end if;
  return found;
end
$$;

CREATE FUNCTION public.export_ops_claim_archive_rewrite(p_bucket text, p_name text, p_run_id uuid, p_seconds integer, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_object public.export_ops_archive_objects;
begin
  if p_seconds is null or p_seconds < 1 then
    raise exception 'p_seconds must be at least 1, got %', p_seconds using errcode = '22023';
  end if;
  select * into v_object from public.export_ops_archive_objects where bucket = p_bucket and name = p_name for update;
  if not found then
    return jsonb_build_object('claimed', false, 'gone', true);
  end if;
  if v_object.rewrite_run is not null and v_object.rewrite_run <> p_run_id and v_object.rewrite_until > p_now then
    return jsonb_build_object('claimed', false, 'gone', false, 'held_until', v_object.rewrite_until);
  end if;
  update public.export_ops_archive_objects
  set rewrite_run = p_run_id, rewrite_until = p_now + make_interval(secs => p_seconds)
  where bucket = p_bucket and name = p_name;
  return jsonb_build_object('claimed', true, 'gone', false, 'version', v_object.version,
    'left_by', case when v_object.rewrite_run <> p_run_id then v_object.rewrite_run end);
end
$$;

CREATE FUNCTION public.export_ops_release_archive_rewrite(p_bucket text, p_name text, p_run_id uuid) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  update public.export_ops_archive_objects set rewrite_until = '-infinity'
  where bucket = p_bucket and name = p_name and rewrite_run = p_run_id
$$;

CREATE FUNCTION public.export_ops_user_erasure_state(p_user_id uuid, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select jsonb_build_object(
    'logs_left', (select count(*) from public.export_logs where user_id = p_user_id),
    'metrics_left', (select count(*) from public.export_metrics where user_id = p_user_id),
    'logs_in_flight', (select count(*) from public.export_logs l
                       where l.user_id = p_user_id
                         and l.export_id in (select i from public.export_ops_archive_batches b, unnest(b.export_ids) i
                                             where b.claimed_until >= p_now)),
    'archive_objects', coalesce((
      select jsonb_agg(jsonb_build_object('bucket', o.bucket, 'name', o.name, 'state', o.state,
               'in_flight', exists (select 1 from public.export_ops_archive_batches b where b.batch = o.batch and b.claimed_until >= p_now))
             order by o.bucket, o.name)
      from public.export_ops_archive_objects o where o.users @> array[p_user_id]), '[]'::jsonb))
$$;

CREATE FUNCTION public.export_ops_user_files(p_user_id uuid, p_bucket text) RETURNS TABLE(name text, known boolean)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $_$
  with install as (
    select i.installed_at, p_bucket = any (i.created_buckets) as our_bucket from public.export_ops_installation i
  ), logged as (
    select l.file_path as name from public.export_logs l where l.user_id = p_user_id and l.file_path is not null
  )
  select l.name, true from logged l
  union
  select o.name,
         o.created_at >= i.installed_at
         and (i.our_bucket
              or (o.name ~ '/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\.[A-Za-z0-9]+$'
                  and exists (
                    select 1 from public.export_logs l
                    where l.user_id = p_user_id and l.export_id::text = lower(split_part(split_part(o.name, '/', 2), '.', 1))
                    union all
                    select 1 from public.export_metrics m
                    where m.user_id = p_user_id and m.export_id::text = lower(split_part(split_part(o.name, '/', 2), '.', 1)))))
  from storage.objects o, install i
  where o.bucket_id = p_bucket and o.name like p_user_id::text || '/%'
    and o.name not in (select l.name from logged l)
$_$;

REVOKE ALL ON FUNCTION public.export_ops_archive_object_rewritten(p_bucket text, p_name text, p_user_id uuid, p_rows integer, p_run_id uuid, p_version integer) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_archive_object_rewritten(p_bucket text, p_name text, p_user_id uuid, p_rows integer, p_run_id uuid, p_version integer) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_claim_archive_rewrite(p_bucket text, p_name text, p_run_id uuid, p_seconds integer, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_claim_archive_rewrite(p_bucket text, p_name text, p_run_id uuid, p_seconds integer, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_release_archive_rewrite(p_bucket text, p_name text, p_run_id uuid) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_release_archive_rewrite(p_bucket text, p_name text, p_run_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_user_erasure_state(p_user_id uuid, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_user_erasure_state(p_user_id uuid, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_user_files(p_user_id uuid, p_bucket text) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_user_files(p_user_id uuid, p_bucket text) TO service_role;
