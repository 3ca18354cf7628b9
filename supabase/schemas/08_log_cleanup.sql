-- export-ops, current definition. The monthly log cleanup: plain deletes, and archive-before-delete in claimed batches with their
-- manifest.
-- Checked against the migrations by test/schemas.integration.test.ts (see docs/DEVELOPMENT.md).

CREATE DOMAIN public."application/vnd.export-ops.jsonl" AS text;

CREATE TABLE public.export_ops_archive_batches (
    batch text NOT NULL,
    export_ids uuid[] NOT NULL,
    versions xid[] NOT NULL,
    claimed_until timestamp with time zone NOT NULL
);

CREATE TABLE public.export_ops_archive_objects (
    bucket text NOT NULL,
    name text NOT NULL,
    batch text NOT NULL,
    state text DEFAULT 'writing'::text NOT NULL,
    users uuid[] NOT NULL,
    row_count integer NOT NULL,
    oldest timestamp with time zone,
    newest timestamp with time zone,
    written_at timestamp with time zone,
    rewritten_at timestamp with time zone,
    version integer DEFAULT 0 NOT NULL,
    rewrite_run uuid,
    rewrite_until timestamp with time zone,
    CONSTRAINT export_ops_archive_objects_state_check CHECK ((state = ANY (ARRAY['writing'::text, 'written'::text])))
);

ALTER TABLE ONLY public.export_ops_archive_batches
    ADD CONSTRAINT export_ops_archive_batches_pkey PRIMARY KEY (batch);

ALTER TABLE ONLY public.export_ops_archive_objects
    ADD CONSTRAINT export_ops_archive_objects_pkey PRIMARY KEY (bucket, name);

CREATE INDEX export_ops_archive_objects_users_idx ON public.export_ops_archive_objects USING gin (users);

ALTER TABLE public.export_ops_archive_batches ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.export_ops_archive_objects ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION public.export_ops_archive_batch_text(p_batch text) RETURNS public."application/vnd.export-ops.jsonl"
    LANGUAGE sql STABLE
    SET search_path TO ''
    SET work_mem TO '32MB'
    AS $$
  -- one primary-key probe per id (an index scan in created_at order, filtering by the id list, reads far more);
  -- sorted before the JSON is written (an aggregate's own ORDER BY sorts the written text, half again slower)
  select coalesce(string_agg(row_to_json(x)::text, E'\n') || E'\n', '')
  from (
    select l.export_id, l.user_id, l.format, l.status, l.conversation_count, l.file_path, l.file_size_bytes,
           l.error_type, l.error_message, l.created_at, l.completed_at, l.expired_at
    from public.export_ops_archive_batches b
    cross join lateral unnest(b.export_ids, b.versions) as i (export_id, version)
    join public.export_logs l on l.export_id = i.export_id and l.xmin = i.version
    where b.batch = p_batch
    order by l.created_at, l.export_id
  ) x
$$;

CREATE FUNCTION public.export_ops_claim_log_batch(p_bucket text, p_limit integer, p_cutoff timestamp with time zone DEFAULT NULL::timestamp with time zone, p_user_id uuid DEFAULT NULL::uuid, p_lease_seconds integer DEFAULT 900, p_now timestamp with time zone DEFAULT now(), p_after timestamp with time zone DEFAULT '-infinity'::timestamp with time zone) RETURNS json
    LANGUAGE plpgsql
    SET search_path TO ''
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
declare
  -- batch keys (and so archive object names): logs/<date>/... for the cleanup, erasure/<user>/... for an erasure;
  -- each kind only ever takes back its own dead batches
  v_prefix text := case when p_user_id is null then 'logs/' else 'erasure/' || p_user_id || '/' end;
  v_batch text;
  v_ids uuid[];
  v_reclaimed boolean := false;
  v_count integer;
  v_versions xid[];
  v_users uuid[];
  v_oldest timestamptz;
  v_newest timestamptz;
begin
  if (p_cutoff is null) = (p_user_id is null) then
    raise exception 'give exactly one of p_cutoff and p_user_id' using errcode = '22023';
  end if;
  -- Claims are few and short: taking them one at a time rules out two runs taking the same logs.
  perform pg_advisory_xact_lock(hashtext('export_ops.claim_log_batch'));

  -- Each branch reads the batch's logs once: their ids, the versions they will be deleted as, and the manifest's
  -- figures. Their rows are read after this (export_ops_archive_batch_rows), so a log changed in between is
  -- archived as it is then, but not deleted: it stays, to be archived again.
  select b.batch, b.export_ids into v_batch, v_ids
  from public.export_ops_archive_batches b
  where b.batch like v_prefix || '%' and b.claimed_until < p_now
  order by b.claimed_until
  limit 1;
  if v_batch is not null then
    -- a dead run's batch: the logs of it still there and still in scope
    select array_agg(l.export_id), array_agg(l.xmin), array_agg(distinct l.user_id), count(*), min(l.created_at), max(l.created_at)
    into v_ids, v_versions, v_users, v_count, v_oldest, v_newest
    from public.export_logs l
    where l.export_id = any (v_ids)
      -- export_ops_log_is_removable, written out for the planner
      and (p_user_id is not null or l.status <> 'completed' or l.file_path is null);
    v_reclaimed := v_count > 0;
    if not v_reclaimed then
      delete from public.export_ops_archive_batches where batch = v_batch;
    end if;
  end if;

  if not v_reclaimed then
    v_batch := v_prefix || to_char(p_now at time zone 'UTC', case when p_user_id is null then 'YYYY/MM/DD/' else '' end
               || 'YYYYMMDD"T"HH24MISS"-"') || gen_random_uuid();
    select array_agg(s.export_id), array_agg(s.version), array_agg(distinct s.user_id), count(*), min(s.created_at), max(s.created_at)
    into v_ids, v_versions, v_users, v_count, v_oldest, v_newest
    from (
      select l.export_id, l.xmin as version, l.user_id, l.created_at
      from public.export_logs l
      where (case when p_user_id is not null then l.user_id = p_user_id
                  -- export_ops_log_is_removable, written out for the planner
                  else l.created_at < p_cutoff and (l.status <> 'completed' or l.file_path is null) end)
        and l.created_at >= coalesce(p_after, '-infinity')
        -- logs another batch holds (this run's batch being written, a dead run's left for a run of its kind, another
        -- run's): a hash of their ids
        and l.export_id not in (select i from public.export_ops_archive_batches b, unnest(b.export_ids) i)
      order by l.created_at
      limit p_limit
    ) s;
    if v_count = 0 then
      return json_build_object('batch', null, 'object', null, 'count', 0, 'last_created_at', null, 'reclaimed', false);
    end if;
  end if;

  insert into public.export_ops_archive_batches as b (batch, export_ids, versions, claimed_until)
  values (v_batch, v_ids, v_versions, p_now + make_interval(secs => p_lease_seconds))
  on conflict (batch) do update
    set export_ids = excluded.export_ids, versions = excluded.versions, claimed_until = excluded.claimed_until;
  insert into public.export_ops_archive_objects as o (bucket, name, batch, users, row_count, oldest, newest)
  values (p_bucket, v_batch || '.jsonl.gz', v_batch, v_users, v_count, v_oldest, v_newest)
  on conflict (bucket, name) do update
    set users = excluded.users, row_count = excluded.row_count, oldest = excluded.oldest, newest = excluded.newest;

  return json_build_object('batch', v_batch, 'object', v_batch || '.jsonl.gz', 'count', v_count,
                           'last_created_at', v_newest, 'reclaimed', v_reclaimed);
end
$$;

CREATE FUNCTION public.export_ops_delete_archived_logs(p_batch text) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_deleted integer;
begin
  with done as (
    delete from public.export_ops_archive_batches where batch = p_batch returning export_ids, versions
  )
  delete from public.export_logs l
  using done, unnest(done.export_ids, done.versions) as v (export_id, version)
  where l.export_id = v.export_id and l.xmin = v.version;
  get diagnostics v_deleted = row_count;
  update public.export_ops_archive_objects set state = 'written', written_at = now() where batch = p_batch;
  return v_deleted;
end
$$;

CREATE FUNCTION public.export_ops_delete_logs(p_limit integer, p_cutoff timestamp with time zone DEFAULT NULL::timestamp with time zone, p_user_id uuid DEFAULT NULL::uuid, p_now timestamp with time zone DEFAULT now(), p_after timestamp with time zone DEFAULT '-infinity'::timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_deleted integer;
  v_reached timestamptz;
begin
  if (p_cutoff is null) = (p_user_id is null) then
    raise exception 'give exactly one of p_cutoff and p_user_id' using errcode = '22023';
  end if;
  with batch as (
    select l.ctid as row_id from public.export_logs l
    where (case when p_user_id is not null then l.user_id = p_user_id
                -- export_ops_log_is_removable, written out for the planner
                else l.created_at < p_cutoff and (l.status <> 'completed' or l.file_path is null) end)
      and l.created_at >= coalesce(p_after, '-infinity')
      and l.export_id not in (select i from public.export_ops_archive_batches b, unnest(b.export_ids) i
                              where b.claimed_until >= p_now)
    order by l.created_at
    limit p_limit
    for update of l skip locked
  ), gone as (
    -- the rows are locked by this statement, so their addresses hold until it ends
    delete from public.export_logs l where l.ctid = any (array(select row_id from batch)) returning l.created_at
  )
  select count(*), max(created_at) into v_deleted, v_reached from gone;
  return jsonb_build_object('deleted', v_deleted, 'reached', coalesce(v_reached, p_after));
end
$$;

CREATE FUNCTION public.export_ops_delete_metrics(p_limit integer, p_cutoff timestamp with time zone DEFAULT NULL::timestamp with time zone, p_user_id uuid DEFAULT NULL::uuid) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_deleted integer;
begin
  if (p_cutoff is null) = (p_user_id is null) then
    raise exception 'give exactly one of p_cutoff and p_user_id' using errcode = '22023';
  end if;
  with batch as (
    select m.id from public.export_metrics m
    where case when p_user_id is not null then m.user_id = p_user_id
               else m.recorded_at < p_cutoff
                    and exists (select 1 from public.export_ops_metric_hours h where h.hour = date_trunc('hour', m.recorded_at)) end
    order by m.recorded_at
    limit p_limit
    for update skip locked
  )
  delete from public.export_metrics m using batch b where m.id = b.id;
  get diagnostics v_deleted = row_count;
  return v_deleted;
end
$$;

CREATE FUNCTION public.export_ops_log_backlog(p_log_retention_days integer, p_cap integer, p_now timestamp with time zone) RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select count(*) from (
    select 1 from public.export_logs l
    where l.created_at < p_now - make_interval(days => p_log_retention_days)
      and (l.status <> 'completed' or l.file_path is null) -- export_ops_log_is_removable, written out for the planner
    limit p_cap) x
$$;

CREATE FUNCTION public.export_ops_log_cleanup_counts(p_log_cutoff timestamp with time zone) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select jsonb_build_object(
    'log_cutoff', p_log_cutoff,
    'logs_eligible', (select count(*) from public.export_logs l
                      where l.created_at < p_log_cutoff and (l.status <> 'completed' or l.file_path is null)),
    'logs_kept_with_files', (select count(*) from public.export_logs l
                             where l.status = 'completed' and l.file_path is not null and l.created_at < p_log_cutoff))
$$;

CREATE FUNCTION public.export_ops_log_cleanup_stats(p_log_cutoff timestamp with time zone, p_metric_cutoff timestamp with time zone) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  with logs as (
    select l.created_at, pg_column_size(l.*) as bytes, public.export_ops_log_is_removable(l.status, l.file_path) as removable
    from public.export_logs l
    where l.created_at < p_log_cutoff
  ), metrics as (
    select m.recorded_at, pg_column_size(m.*) as bytes
    from public.export_metrics m
    where m.recorded_at < p_metric_cutoff
      and exists (select 1 from public.export_ops_metric_hours h where h.hour = date_trunc('hour', m.recorded_at))
  )
  select jsonb_build_object(
    'log_cutoff', p_log_cutoff,
    'metric_cutoff', p_metric_cutoff,
    'logs_eligible', (select count(*) from logs where removable),
    'logs_kept_with_files', (select count(*) from logs where not removable),
    'oldest_log', (select min(created_at) from logs where removable),
    'newest_log', (select max(created_at) from logs where removable),
    'logs_bytes', (select coalesce(sum(bytes), 0) from logs where removable),
    'metrics_eligible', (select count(*) from metrics),
    'oldest_metric', (select min(recorded_at) from metrics),
    'newest_metric', (select max(recorded_at) from metrics),
    'metrics_bytes', (select coalesce(sum(bytes), 0) from metrics)
  )
$$;

CREATE FUNCTION public.export_ops_log_is_removable(p_status text, p_file_path text) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$ select p_status <> 'completed' or p_file_path is null $$;

CREATE FUNCTION public.export_ops_release_log_batch(p_batch text) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  update public.export_ops_archive_batches set claimed_until = '-infinity' where batch = p_batch
$$;

CREATE FUNCTION public.export_ops_restore_logs(p_rows jsonb) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_inserted integer;
begin
  insert into public.export_logs (export_id, user_id, format, status, conversation_count, file_path, file_size_bytes,
                                  error_type, error_message, created_at, completed_at, expired_at)
  select r.export_id, r.user_id, r.format, r.status, r.conversation_count, r.file_path, r.file_size_bytes,
         r.error_type, r.error_message, r.created_at, r.completed_at, r.expired_at
  from jsonb_populate_recordset(null::public.export_logs, p_rows) r
  on conflict (export_id) do nothing;
  get diagnostics v_inserted = row_count;
  return v_inserted;
end
$$;

COMMENT ON DOMAIN public."application/vnd.export-ops.jsonl" IS 'export-ops: JSON Lines text of an archive batch, sent unescaped by PostgREST to a request that accepts it';

REVOKE ALL ON TYPE public."application/vnd.export-ops.jsonl" FROM PUBLIC, anon, authenticated;
GRANT ALL ON TYPE public."application/vnd.export-ops.jsonl" TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_archive_batch_text(p_batch text) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_archive_batch_text(p_batch text) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_claim_log_batch(p_bucket text, p_limit integer, p_cutoff timestamp with time zone, p_user_id uuid, p_lease_seconds integer, p_now timestamp with time zone, p_after timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_claim_log_batch(p_bucket text, p_limit integer, p_cutoff timestamp with time zone, p_user_id uuid, p_lease_seconds integer, p_now timestamp with time zone, p_after timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_delete_archived_logs(p_batch text) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_delete_archived_logs(p_batch text) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_delete_logs(p_limit integer, p_cutoff timestamp with time zone, p_user_id uuid, p_now timestamp with time zone, p_after timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_delete_logs(p_limit integer, p_cutoff timestamp with time zone, p_user_id uuid, p_now timestamp with time zone, p_after timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_delete_metrics(p_limit integer, p_cutoff timestamp with time zone, p_user_id uuid) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_delete_metrics(p_limit integer, p_cutoff timestamp with time zone, p_user_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_log_backlog(p_log_retention_days integer, p_cap integer, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_log_backlog(p_log_retention_days integer, p_cap integer, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_log_cleanup_counts(p_log_cutoff timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_log_cleanup_counts(p_log_cutoff timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_log_cleanup_stats(p_log_cutoff timestamp with time zone, p_metric_cutoff timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_log_cleanup_stats(p_log_cutoff timestamp with time zone, p_metric_cutoff timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_log_is_removable(p_status text, p_file_path text) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_log_is_removable(p_status text, p_file_path text) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_release_log_batch(p_batch text) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_release_log_batch(p_batch text) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_restore_logs(p_rows jsonb) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_restore_logs(p_rows jsonb) TO service_role;

REVOKE ALL ON TABLE public.export_ops_archive_batches FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_archive_batches TO service_role;

REVOKE ALL ON TABLE public.export_ops_archive_objects FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_archive_objects TO service_role;
