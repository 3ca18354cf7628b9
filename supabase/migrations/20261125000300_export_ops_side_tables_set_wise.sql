-- export-ops: side tables kept in step with export_logs set-wise, and a faster archival. The foreign keys from
-- `export_ops_file_cleanup` and `export_ops_archive_claims` to `export_logs` made every deleted log fire two
-- cascade triggers and every claimed log a key check, row by row; one statement-level trigger now removes the
-- side rows of all the logs a statement deleted, in one delete per side table, whoever deletes them (the jobs,
-- an erasure, the host app). Side rows are only ever read joined to their log, so one left behind by a race
-- with a host delete is never seen, and goes with its batch. `export_ops_claim_log_batch` (from the log cleanup
-- migration) is replaced with the same arguments: it now returns the batch as the archive's JSON Lines text
-- itself (with the ids and the count), so the app compresses and compares text instead of parsing and
-- re-serialising every row, and the removable rule is written out where the planner can use it.
-- `export_ops_delete_archived_logs` matches the batch's ids with a join instead of a search through the id array
-- for every row, and deletes by primary key.

alter table public.export_ops_file_cleanup drop constraint export_ops_file_cleanup_export_id_fkey;
alter table public.export_ops_archive_claims drop constraint export_ops_archive_claims_export_id_fkey;

create function public.export_ops_forget_deleted_logs()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- one primary-key probe per deleted log (a transition table has no statistics, so a join could be planned as a
  -- scan of the side table for every deleted log)
  delete from public.export_ops_file_cleanup where export_id = any (array(select export_id from gone));
  delete from public.export_ops_archive_claims where export_id = any (array(select export_id from gone));
  return null;
end
$$;
create trigger export_ops_forget_deleted_logs after delete on public.export_logs
  referencing old table as gone for each statement execute function public.export_ops_forget_deleted_logs();
revoke all on function public.export_ops_forget_deleted_logs from public, anon, authenticated, service_role;

create or replace function public.export_ops_claim_log_batch(
  p_bucket text,
  p_limit integer,
  p_cutoff timestamptz default null,
  p_user_id uuid default null,
  p_lease_seconds integer default 900,
  p_now timestamptz default now(),
  p_after timestamptz default '-infinity'
)
returns json
language plpgsql
set search_path = ''
as $$
declare
  -- batch keys (and so archive object names): logs/<date>/... for the cleanup, erasure/<user>/... for an erasure;
  -- each kind only ever takes back its own dead batches
  v_prefix text := case when p_user_id is null then 'logs/' else 'erasure/' || p_user_id || '/' end;
  v_batch text;
  v_reclaimed boolean;
  v_count integer;
  v_lines text;
  v_ids json;
  v_last timestamptz;
begin
  if (p_cutoff is null) = (p_user_id is null) then
    raise exception 'give exactly one of p_cutoff and p_user_id' using errcode = '22023';
  end if;
  -- Claims are few and short: taking them one at a time rules out two runs taking the same rows.
  perform pg_advisory_xact_lock(hashtext('export_ops.claim_log_batch'));

  -- a dead run's batch, if any
  select c.batch into v_batch
  from public.export_ops_archive_claims c
  where c.batch like v_prefix || '%' and c.claimed_until < p_now
  order by c.claimed_until
  limit 1;

  v_reclaimed := v_batch is not null;
  if v_reclaimed then
    update public.export_ops_archive_claims set claimed_until = p_now + make_interval(secs => p_lease_seconds)
    where batch = v_batch;
  else
    v_batch := v_prefix || to_char(p_now at time zone 'UTC', case when p_user_id is null then 'YYYY/MM/DD/' else '' end
               || 'YYYYMMDD"T"HH24MISS"-"') || gen_random_uuid();
    insert into public.export_ops_archive_claims (export_id, batch, claimed_until)
    select l.export_id, v_batch, p_now + make_interval(secs => p_lease_seconds)
    from public.export_logs l
    where not exists (select 1 from public.export_ops_archive_claims c where c.export_id = l.export_id)
      and (case when p_user_id is not null then l.user_id = p_user_id
                -- export_ops_log_is_removable, written out for the planner
                else l.created_at < p_cutoff and (l.status <> 'completed' or l.file_path is null) end)
      and l.created_at >= coalesce(p_after, '-infinity')
    order by l.created_at
    limit p_limit
    for update of l skip locked;
  end if;

  -- the batch as its archive object holds it (JSON Lines: one row per line, oldest first), its ids, and its entry
  -- in the manifest, from one read of the batch
  with r as materialized (
    select l.export_id, l.user_id, l.format, l.status, l.conversation_count, l.file_path, l.file_size_bytes,
           l.error_type, l.error_message, l.created_at, l.completed_at, l.expired_at
    from public.export_ops_archive_claims c join public.export_logs l on l.export_id = c.export_id
    where c.batch = v_batch
  ), manifest as (
    insert into public.export_ops_archive_objects as o (bucket, name, batch, users, row_count, oldest, newest)
    select p_bucket, v_batch || '.jsonl.gz', v_batch, array_agg(distinct r.user_id), count(*), min(r.created_at), max(r.created_at)
    from r
    having count(*) > 0
    on conflict (bucket, name) do update
      set users = excluded.users, row_count = excluded.row_count, oldest = excluded.oldest, newest = excluded.newest
    returning 1
  )
  select count(*), string_agg(row_to_json(r)::text, E'\n' order by r.created_at, r.export_id) || E'\n',
         json_agg(r.export_id order by r.created_at, r.export_id), max(r.created_at)
  into v_count, v_lines, v_ids, v_last
  from r, (select count(*) from manifest) m;
  if v_count = 0 then
    return json_build_object('batch', null, 'object', null, 'count', 0, 'lines', '', 'ids', '[]'::json, 'last_created_at', null, 'reclaimed', v_reclaimed);
  end if;
  return json_build_object('batch', v_batch, 'object', v_batch || '.jsonl.gz', 'count', v_count, 'lines', v_lines,
                           'ids', v_ids, 'last_created_at', v_last, 'reclaimed', v_reclaimed);
end
$$;

create or replace function public.export_ops_delete_archived_logs(p_batch text, p_export_ids uuid[])
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_ids uuid[];
  v_deleted integer;
begin
  -- the batch's rows the archive holds; then the claims go, then those logs, each by its primary key
  select array_agg(c.export_id) into v_ids
  from public.export_ops_archive_claims c join unnest(p_export_ids) as v (export_id) on v.export_id = c.export_id
  where c.batch = p_batch;
  delete from public.export_ops_archive_claims where batch = p_batch;
  delete from public.export_logs where export_id = any (coalesce(v_ids, '{}'));
  get diagnostics v_deleted = row_count;
  update public.export_ops_archive_objects set state = 'written', written_at = now() where batch = p_batch;
  return v_deleted;
end
$$;
