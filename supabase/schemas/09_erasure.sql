-- export-ops, current definition. Per-user erasure: the user's files and state, one rewrite at a time per archive object, and
-- their id, export ids and paths taken out of run history and bookkeeping.
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

CREATE FUNCTION public.export_ops_erase_user_history(p_user_id uuid, p_dry_run boolean DEFAULT false, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_user constant text := lower(p_user_id::text);
  v_uuid constant text := '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
  -- the ids to erase, lower case, as an object's keys: a lookup is a binary search
  v_ids jsonb;
  v_runs integer;
  v_checkins integer;
  v_alerts integer;
  v_transitions integer;
  v_file_cleanup integer;
  v_batches integer;
  v_cursors integer;
begin
  if p_user_id is null then
    raise exception 'p_user_id is required' using errcode = '22023';
  end if;
  -- the user's id, their exports' ids, and the export ids in their paths that run history names (logs may be gone)
  select jsonb_object_agg(s.id, true) into v_ids
  from (
    select v_user as id
    union select l.export_id::text from public.export_logs l where l.user_id = p_user_id
    union select m.export_id::text from public.export_metrics m where m.user_id = p_user_id
    union
    select lower(x[1])
    from public.export_ops_runs r
    cross join lateral (select concat(r.result::text, ' ', r.error::text) as text) t
    cross join lateral regexp_matches(t.text, v_user || '/(' || v_uuid || ')', 'gi') x
    where strpos(lower(t.text), v_user) > 0
  ) s;

  with hit as (
    select r.run_id, r.result, r.error
    from public.export_ops_runs r
    cross join lateral (select concat(r.result::text, ' ', r.error::text) as text) t
    -- most runs name no UUID at all: one search each rules them out
    where t.text ~ v_uuid and exists (select 1 from regexp_matches(t.text, v_uuid, 'g') x where v_ids ? lower(x[1]))
  ), done as (
    update public.export_ops_runs r
    set result = public.export_ops_erased(hit.result::text, v_ids)::jsonb, error = public.export_ops_erased(hit.error::text, v_ids)::jsonb
    from hit where r.run_id = hit.run_id and not p_dry_run
  )
  select count(*) into v_runs from hit;

  with hit as (
    select c.run_id, c.event from public.export_ops_checkins c where public.export_ops_erased(c.error, v_ids) <> c.error
  ), done as (
    update public.export_ops_checkins c set error = public.export_ops_erased(c.error, v_ids)
    from hit where c.run_id = hit.run_id and c.event = hit.event and not p_dry_run
  )
  select count(*) into v_checkins from hit;

  with hit as (
    select a.alert from public.export_ops_alerts a
    where public.export_ops_erased(concat(a.last_payload::text, ' ', a.notify_error), v_ids) <> concat(a.last_payload::text, ' ', a.notify_error)
  ), done as (
    update public.export_ops_alerts a
    set last_payload = public.export_ops_erased(a.last_payload::text, v_ids)::jsonb, notify_error = public.export_ops_erased(a.notify_error, v_ids)
    from hit where a.alert = hit.alert and not p_dry_run
  )
  select count(*) into v_alerts from hit;

  with hit as (
    select t.id from public.export_ops_alert_transitions t where public.export_ops_erased(t.payload::text, v_ids) <> t.payload::text
  ), done as (
    update public.export_ops_alert_transitions t set payload = public.export_ops_erased(t.payload::text, v_ids)::jsonb
    from hit where t.id = hit.id and not p_dry_run
  )
  select count(*) into v_transitions from hit;

  with hit as (
    select f.export_id from public.export_ops_file_cleanup f
    where public.export_ops_erased(concat(f.last_error, ' ', f.quarantine_reason), v_ids) <> concat(f.last_error, ' ', f.quarantine_reason)
       or v_ids ? f.kept_file_for::text
  ), done as (
    update public.export_ops_file_cleanup f
    set last_error = public.export_ops_erased(f.last_error, v_ids),
        quarantine_reason = public.export_ops_erased(f.quarantine_reason, v_ids),
        kept_file_for = case when v_ids ? f.kept_file_for::text then null else f.kept_file_for end
    from hit where f.export_id = hit.export_id and not p_dry_run
  )
  select count(*) into v_file_cleanup from hit;

  -- batches are claimed one at a time (export_ops_claim_log_batch): none is taken back while this reads and writes
  perform pg_advisory_xact_lock(hashtext('export_ops.claim_log_batch'));
  with dead as (
    select b.batch, b.batch like 'erasure/' || v_user || '/%' as theirs, b.export_ids, b.versions
    from public.export_ops_archive_batches b
    where b.claimed_until < p_now
      and (b.batch like 'erasure/' || v_user || '/%' or exists (select 1 from unnest(b.export_ids) i where v_ids ? i::text))
  ), kept as (
    select d.batch, array_agg(i.export_id order by i.n) as export_ids, array_agg(i.version order by i.n) as versions
    from dead d cross join lateral unnest(d.export_ids, d.versions) with ordinality as i (export_id, version, n)
    where case when d.theirs then exists (select 1 from public.export_logs l where l.export_id = i.export_id)
               else not v_ids ? i.export_id::text end
    group by d.batch
  ), hit as (
    select d.batch, k.export_ids, k.versions from dead d left join kept k using (batch)
    where k.export_ids is distinct from d.export_ids
  ), emptied as (
    delete from public.export_ops_archive_batches b using hit
    where b.batch = hit.batch and hit.export_ids is null and not p_dry_run
  ), trimmed as (
    update public.export_ops_archive_batches b set export_ids = hit.export_ids, versions = hit.versions
    from hit where b.batch = hit.batch and hit.export_ids is not null and not p_dry_run
  )
  select count(*) into v_batches from hit;

  with hit as (
    select c.bucket, c.after from public.export_ops_orphan_cursor c where lower(c.after) like v_user || '/%'
  ), done as (
    update public.export_ops_orphan_cursor c
    set after = coalesce((select max(o.name) from storage.objects o
                          where o.bucket_id = hit.bucket and o.name < hit.after and lower(o.name) not like v_user || '/%'), '')
    from hit where c.bucket = hit.bucket and not p_dry_run
  )
  select count(*) into v_cursors from hit;

  return jsonb_build_object('runs', v_runs, 'checkins', v_checkins, 'alerts', v_alerts, 'alert_transitions', v_transitions,
                            'file_cleanup', v_file_cleanup, 'archive_batches', v_batches, 'orphan_cursors', v_cursors);
end
$$;

CREATE FUNCTION public.export_ops_erased(p_text text, p_ids jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  -- the text between the UUIDs, and each UUID as it was unless p_ids (an object keyed by them, lower case) has it
  select string_agg(p.piece || coalesce(case when p_ids ? lower(m.id[1]) then '[erased]' else m.id[1] end, ''), '' order by p.n)
  from regexp_split_to_table(p_text, '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')
         with ordinality as p (piece, n)
  left join regexp_matches(p_text, '([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})', 'g')
         with ordinality as m (id, n) using (n)
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

REVOKE ALL ON FUNCTION public.export_ops_erase_user_history(p_user_id uuid, p_dry_run boolean, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_erase_user_history(p_user_id uuid, p_dry_run boolean, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_erased(p_text text, p_ids jsonb) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_erased(p_text text, p_ids jsonb) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_release_archive_rewrite(p_bucket text, p_name text, p_run_id uuid) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_release_archive_rewrite(p_bucket text, p_name text, p_run_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_user_erasure_state(p_user_id uuid, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_user_erasure_state(p_user_id uuid, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_user_files(p_user_id uuid, p_bucket text) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_user_files(p_user_id uuid, p_bucket text) TO service_role;
