-- export-ops: erasure reaches run history and bookkeeping. A user's erasure removed their files, logs, metrics and
-- archived rows, but their id, their exports' ids and paths stayed where runs had written them: the file
-- cleanup's sample_paths, sample_orphans and errors in export_ops_runs.result (kept 90 days, shown on the ops
-- page's run detail), and any text export-ops keeps from a failure.
-- Owns: export_ops_erased (a text with the UUIDs it lists replaced by [erased]) and
-- export_ops_erase_user_history, which, set-wise, for one user:
--   - export_ops_runs (result, error), export_ops_checkins (error), export_ops_alerts (last_payload, notify_error),
--     export_ops_alert_transitions (payload) and export_ops_file_cleanup (last_error, quarantine_reason): every
--     mention of the user's id or of one of their exports' ids (their logs' and metrics', and those in their paths
--     that run history names, whose logs may be gone) becomes [erased]; kept_file_for naming one of their exports
--     is cleared;
--   - export_ops_archive_batches, of runs that died (a live batch is waited for by the erasure): the user's logs
--     leave a cleanup batch, an erasure batch of theirs forgets its logs already deleted, and a batch left with none
--     goes;
--   - export_ops_orphan_cursor: a sweep stopped at a name in the user's folder resumes just before that folder.
-- It answers how many rows of each it changed (with p_dry_run, would change). Executable by service_role only.
-- export_ops_occurrences (a schedule's fire times), leases, totals, sessions and rollups hold no user's data.

create function public.export_ops_erased(p_text text, p_ids jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  -- the text between the UUIDs, and each UUID as it was unless p_ids (an object keyed by them, lower case) has it
  select string_agg(p.piece || coalesce(case when p_ids ? lower(m.id[1]) then '[erased]' else m.id[1] end, ''), '' order by p.n)
  from regexp_split_to_table(p_text, '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')
         with ordinality as p (piece, n)
  left join regexp_matches(p_text, '([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})', 'g')
         with ordinality as m (id, n) using (n)
$$;

create function public.export_ops_erase_user_history(p_user_id uuid, p_dry_run boolean default false, p_now timestamptz default now())
returns jsonb
language plpgsql
set search_path = ''
as $$
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

revoke all on function public.export_ops_erased(text, jsonb) from public, anon, authenticated;
revoke all on function public.export_ops_erase_user_history(uuid, boolean, timestamptz) from public, anon, authenticated;
grant execute on function public.export_ops_erased(text, jsonb) to service_role;
grant execute on function public.export_ops_erase_user_history(uuid, boolean, timestamptz) to service_role;
