-- export-ops, current definition. The daily file cleanup: claiming expired exports in batches, quarantine, and the orphan sweep's
-- pages.
-- Checked against the migrations by test/schemas.integration.test.ts (see docs/DEVELOPMENT.md).

CREATE TABLE public.export_ops_file_cleanup (
    export_id uuid NOT NULL,
    claimed_by uuid,
    claimed_until timestamp with time zone,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    quarantined_at timestamp with time zone,
    quarantine_reason text,
    kept_file_for uuid
);

CREATE TABLE public.export_ops_orphan_cursor (
    bucket text NOT NULL,
    after text DEFAULT ''::text NOT NULL,
    laps integer DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY public.export_ops_file_cleanup
    ADD CONSTRAINT export_ops_file_cleanup_pkey PRIMARY KEY (export_id);

ALTER TABLE ONLY public.export_ops_orphan_cursor
    ADD CONSTRAINT export_ops_orphan_cursor_pkey PRIMARY KEY (bucket);

CREATE INDEX export_ops_file_cleanup_quarantined_idx ON public.export_ops_file_cleanup USING btree (quarantined_at) WHERE (quarantined_at IS NOT NULL);

ALTER TABLE public.export_ops_file_cleanup ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.export_ops_orphan_cursor ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION public.export_ops_retention_hours(p_hours integer) RETURNS integer
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$ select public.export_ops_setting('EXPORT_FILE_RETENTION_HOURS', 'p_retention_hours', p_hours) $$;

CREATE FUNCTION public.export_ops_file_cleanup_batch(p_run_id uuid, p_retention_hours integer, p_limit integer, p_expired uuid[] DEFAULT '{}'::uuid[], p_failed jsonb DEFAULT '[]'::jsonb, p_quarantined jsonb DEFAULT '[]'::jsonb, p_max_attempts integer DEFAULT 5, p_lease_seconds integer DEFAULT 900, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_cutoff timestamptz;
  v_expired integer;
  v_failed integer;
  v_quarantined integer;
  v_worn_out integer;
  v_kept integer;
  v_claimed jsonb;
begin
  perform public.export_ops_setting('EXPORT_FILE_RETENTION_HOURS', 'p_retention_hours', p_retention_hours);
  perform public.export_ops_setting('EXPORT_CLEANUP_MAX_ATTEMPTS', 'p_max_attempts', p_max_attempts);
  if p_limit is null or p_limit not between 0 and 1000 then
    raise exception 'p_limit must be between 0 and 1000' using errcode = '22023';
  end if;
  v_cutoff := p_now - make_interval(hours => p_retention_hours);

  with done as (
    delete from public.export_ops_file_cleanup c
    where c.export_id = any (coalesce(p_expired, '{}')) and c.claimed_by = p_run_id
    returning c.export_id
  )
  update public.export_logs l
  set status = 'expired', expired_at = p_now
  from done
  where l.export_id = done.export_id and l.status = 'completed';
  get diagnostics v_expired = row_count;

  with failed as (
  update public.export_ops_file_cleanup c
  set attempts = c.attempts + 1,
      last_error = left(f.error, 500),
      quarantined_at = case when c.attempts + 1 >= p_max_attempts then p_now end,
      quarantine_reason = case when c.attempts + 1 >= p_max_attempts
                               then left(format('Storage failed %s times; last: %s', c.attempts + 1, f.error), 500) end,
      claimed_by = case when c.attempts + 1 >= p_max_attempts then null else c.claimed_by end,
      claimed_until = case when c.attempts + 1 >= p_max_attempts then null else c.claimed_until end
  from jsonb_to_recordset(coalesce(p_failed, '[]')) as f (export_id uuid, error text)
  where c.export_id = f.export_id and c.claimed_by = p_run_id
  returning c.quarantined_at
  )
  select count(*), count(quarantined_at) into v_failed, v_worn_out from failed;

  update public.export_ops_file_cleanup c
  set quarantined_at = p_now, quarantine_reason = left(q.reason, 500), last_error = left(q.reason, 500),
      claimed_by = null, claimed_until = null
  from jsonb_to_recordset(coalesce(p_quarantined, '[]')) as q (export_id uuid, reason text)
  where c.export_id = q.export_id and c.claimed_by = p_run_id;
  get diagnostics v_quarantined = row_count;

  with candidates as (
    select l.export_id
    from public.export_logs l
    where p_limit > 0
      and l.status = 'completed'
      and l.completed_at < v_cutoff
      and not exists (select 1 from public.export_ops_file_cleanup c
                      where c.export_id = l.export_id and (c.claimed_until >= p_now or c.quarantined_at is not null))
    order by l.completed_at
    limit p_limit
    for update of l skip locked
  ), claimed as (
    insert into public.export_ops_file_cleanup as c (export_id, claimed_by, claimed_until)
    select export_id, p_run_id, p_now + make_interval(secs => p_lease_seconds) from candidates
    -- the claim row is the lock that counts: a run that committed its claim after this one's snapshot wins
    on conflict (export_id) do update set claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until
      where (c.claimed_until is null or c.claimed_until < p_now) and c.quarantined_at is null
    returning c.export_id, c.attempts
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'export_id', l.export_id, 'user_id', l.user_id, 'format', l.format, 'file_path', l.file_path,
           'cleanup_attempts', claimed.attempts,
           'in_use_by', public.export_ops_file_in_use_by(l.file_path, l.export_id, v_cutoff))), '[]'::jsonb)
  into v_claimed
  from claimed join public.export_logs l on l.export_id = claimed.export_id;

  -- files another export still uses: the log expires, the file stays (and says for whom)
  with kept as (
    select (c ->> 'export_id')::uuid as export_id, (c ->> 'in_use_by')::uuid as in_use_by
    from jsonb_array_elements(v_claimed) c
    where c ->> 'in_use_by' is not null
  ), noted as (
    update public.export_ops_file_cleanup f
    set claimed_by = null, claimed_until = null, kept_file_for = kept.in_use_by
    from kept where f.export_id = kept.export_id
  )
  update public.export_logs l set status = 'expired', expired_at = p_now
  from kept where l.export_id = kept.export_id and l.status = 'completed';
  get diagnostics v_kept = row_count;

  return jsonb_build_object(
    'expired', v_expired, 'failed', v_failed, 'quarantined', v_quarantined + v_worn_out, 'kept_in_use', v_kept,
    -- a short batch is not the end when concurrent runs hold rows: is anything still waiting for a claim?
    'more', p_limit > 0 and exists (
      select 1 from public.export_logs l
      where l.status = 'completed' and l.completed_at < v_cutoff
        and not exists (select 1 from public.export_ops_file_cleanup c
                        where c.export_id = l.export_id and (c.claimed_until >= p_now or c.quarantined_at is not null))),
    'claimed', coalesce((select jsonb_agg(c - 'in_use_by') from jsonb_array_elements(v_claimed) c
                         where c ->> 'in_use_by' is null), '[]'::jsonb));
end
$$;

CREATE FUNCTION public.export_ops_file_cleanup_preview(p_retention_hours integer, p_sample_size integer DEFAULT 20, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  v_cutoff timestamptz;
begin
  perform public.export_ops_setting('EXPORT_FILE_RETENTION_HOURS', 'p_retention_hours', p_retention_hours);
  v_cutoff := p_now - make_interval(hours => p_retention_hours);
  return (
    with due as (
      select l.export_id, l.user_id, l.format, l.file_path, l.completed_at,
             public.export_ops_file_in_use_by(l.file_path, l.export_id, v_cutoff) as in_use_by
      from public.export_logs l
      where l.status = 'completed'
        and l.completed_at < v_cutoff
        and not exists (select 1 from public.export_ops_file_cleanup c where c.export_id = l.export_id and c.quarantined_at is not null)
    )
    select jsonb_build_object(
      'total', (select count(*) from due),
      'kept_in_use', (select count(*) from due where in_use_by is not null),
      'sample', coalesce((
        select jsonb_agg(to_jsonb(s) - 'completed_at' - 'in_use_by' order by s.completed_at)
        from (select * from due where in_use_by is null order by completed_at limit greatest(p_sample_size, 0)) s
      ), '[]'::jsonb)
    )
  );
end
$$;

CREATE FUNCTION public.export_ops_file_cleanup_quarantined(p_limit integer DEFAULT 100) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select jsonb_build_object(
    'total', (select count(*) from public.export_ops_file_cleanup where quarantined_at is not null),
    'rows', coalesce((
      select jsonb_agg(r order by r.quarantined_at desc)
      from (select c.export_id, l.user_id, l.file_path, l.status, c.quarantined_at, c.quarantine_reason, c.attempts
            from public.export_ops_file_cleanup c join public.export_logs l using (export_id)
            where c.quarantined_at is not null
            order by c.quarantined_at desc
            limit greatest(p_limit, 0)) r), '[]'::jsonb))
$$;

CREATE FUNCTION public.export_ops_file_cleanup_release(p_export_id uuid) RETURNS boolean
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  with released as (
    delete from public.export_ops_file_cleanup where export_id = p_export_id and quarantined_at is not null
    returning 1
  )
  select exists (select 1 from released)
$$;

CREATE FUNCTION public.export_ops_file_in_use_by(p_file_path text, p_export_id uuid, p_cutoff timestamp with time zone) RETURNS uuid
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select l.export_id from public.export_logs l
  where l.file_path = p_file_path and l.export_id <> p_export_id
    and (l.status in ('queued', 'processing') or (l.status = 'completed' and l.completed_at >= p_cutoff))
  limit 1
$$;

CREATE FUNCTION public.export_ops_orphan_page(p_bucket text, p_retention_hours integer, p_stuck_hours integer, p_scan integer DEFAULT 1000, p_advance boolean DEFAULT true, p_from text DEFAULT NULL::text, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
declare
  v_scan constant integer := least(greatest(p_scan, 1), 1000);
  v_after text;
  v_page jsonb;
  v_wrapped boolean;
  v_next text;
begin
  perform public.export_ops_setting('EXPORT_FILE_RETENTION_HOURS', 'p_retention_hours', p_retention_hours);
  perform public.export_ops_setting('EXPORT_STUCK_HOURS', 'p_stuck_hours', p_stuck_hours);
  v_after := coalesce(p_from, (select c.after from public.export_ops_orphan_cursor c where c.bucket = p_bucket), '');
  with scanned as (
    select o.name, o.created_at from storage.objects o
    where o.bucket_id = p_bucket and o.name > v_after
    order by o.name
    limit v_scan
  ), candidates as materialized (
    select s.name, split_part(s.name, '/', 1)::uuid as user_id, split_part(split_part(s.name, '/', 2), '.', 1)::uuid as export_id,
           split_part(split_part(s.name, '/', 2), '.', 2) as extension
    from scanned s
    where s.name ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\.[a-z0-9]{1,16}$'
      and s.created_at >= (select i.installed_at from public.export_ops_installation i)
      and s.created_at < p_now - make_interval(hours => p_retention_hours)
  ), orphans as (
    select c.name, k.user_id, k.format
    from candidates c
    cross join lateral (
      select l.user_id, l.format from public.export_logs l where l.export_id = c.export_id and l.user_id = c.user_id
      union all
      select m.user_id, m.format from public.export_metrics m where m.export_id = c.export_id and m.user_id = c.user_id
      limit 1
    ) k
    where exists (select 1 from public.export_ops_formats f where f.format = k.format and c.extension = any (f.extensions))
      and not exists (
      select 1 from public.export_logs l
      where l.file_path = c.name
        and (l.status = 'completed'
             or (l.status in ('queued', 'processing') and l.created_at >= p_now - make_interval(hours => p_stuck_hours))))
  )
  select jsonb_build_object(
    'orphans', coalesce((select jsonb_agg(jsonb_build_object('name', o.name, 'user_id', o.user_id, 'format', o.format) order by o.name) from orphans o), '[]'::jsonb),
    'scanned', (select count(*) from scanned),
    'last', (select max(s.name) from scanned s))
  into v_page;
  v_wrapped := (v_page ->> 'scanned')::integer < v_scan;
  v_next := case when v_wrapped then '' else v_page ->> 'last' end;
  if p_advance then
    insert into public.export_ops_orphan_cursor as c (bucket, after, laps, updated_at)
    values (p_bucket, v_next, case when v_wrapped then 1 else 0 end, p_now)
    on conflict (bucket) do update
      set after = excluded.after, laps = c.laps + excluded.laps, updated_at = excluded.updated_at;
  end if;
  return (v_page - 'last') || jsonb_build_object('from', v_after, 'next', v_next, 'wrapped', v_wrapped);
end
$_$;

CREATE FUNCTION public.export_ops_quarantined_count() RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$ select count(*) from public.export_ops_file_cleanup where quarantined_at is not null $$;

REVOKE ALL ON FUNCTION public.export_ops_retention_hours(p_hours integer) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_retention_hours(p_hours integer) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_file_cleanup_batch(p_run_id uuid, p_retention_hours integer, p_limit integer, p_expired uuid[], p_failed jsonb, p_quarantined jsonb, p_max_attempts integer, p_lease_seconds integer, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_file_cleanup_batch(p_run_id uuid, p_retention_hours integer, p_limit integer, p_expired uuid[], p_failed jsonb, p_quarantined jsonb, p_max_attempts integer, p_lease_seconds integer, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_file_cleanup_preview(p_retention_hours integer, p_sample_size integer, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_file_cleanup_preview(p_retention_hours integer, p_sample_size integer, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_file_cleanup_quarantined(p_limit integer) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_file_cleanup_quarantined(p_limit integer) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_file_cleanup_release(p_export_id uuid) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_file_cleanup_release(p_export_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_file_in_use_by(p_file_path text, p_export_id uuid, p_cutoff timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_file_in_use_by(p_file_path text, p_export_id uuid, p_cutoff timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_orphan_page(p_bucket text, p_retention_hours integer, p_stuck_hours integer, p_scan integer, p_advance boolean, p_from text, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_orphan_page(p_bucket text, p_retention_hours integer, p_stuck_hours integer, p_scan integer, p_advance boolean, p_from text, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_quarantined_count() FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_quarantined_count() TO service_role;

REVOKE ALL ON TABLE public.export_ops_file_cleanup FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_file_cleanup TO service_role;

REVOKE ALL ON TABLE public.export_ops_orphan_cursor FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_orphan_cursor TO service_role;
