-- export-ops: an archive batch is claimed as one row, not one row per log. `export_ops_archive_claims` held a row
-- per claimed log, so every batch of 10,000 logs inserted 10,000 rows (two index entries each), probed that index
-- once per candidate log, and deleted them all again. `export_ops_archive_batches` holds one row per batch: its
-- logs' ids and the row version (xmin) each had when the batch was read. Deleting a batch deletes only those row
-- versions, the ones its archive object holds: a log changed after it was read stays, to be archived again as it
-- is then. The batch is handed out as its rows (JSON objects, not one JSON Lines string: a string of several MB
-- costs more to escape into the response than the rows cost to read).

create table public.export_ops_archive_batches (
  batch text primary key,
  export_ids uuid[] not null,
  versions xid[] not null,
  claimed_until timestamptz not null
);
alter table public.export_ops_archive_batches enable row level security;
revoke all on table public.export_ops_archive_batches from public, anon, authenticated;
grant all on table public.export_ops_archive_batches to service_role;

-- batches a run was writing when this migration ran: the next run takes them back and writes them again
insert into public.export_ops_archive_batches (batch, export_ids, versions, claimed_until)
select c.batch, array_agg(l.export_id), array_agg(l.xmin), '-infinity'
from public.export_ops_archive_claims c join public.export_logs l using (export_id)
group by c.batch;

create or replace function public.export_ops_forget_deleted_logs()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- one primary-key probe per deleted log (a transition table has no statistics, so a join could be planned as a
  -- scan of the side table for every deleted log)
  delete from public.export_ops_file_cleanup where export_id = any (array(select export_id from gone));
  return null;
end
$$;

drop function public.export_ops_claim_log_batch(text, integer, timestamptz, uuid, integer, timestamptz, timestamptz);
drop function public.export_ops_delete_archived_logs(text, uuid[]);
drop table public.export_ops_archive_claims;

-- One batch to archive: a dead run's batch of this kind if there is one (its logs still there, read again), else
-- the oldest p_limit logs in scope from p_after (where the run's previous batch reached) that no batch holds.
-- Returns the batch (its name, its object's name, its size, and the time the next batch starts from);
-- export_ops_archive_batch_rows hands out its rows. An empty batch (count 0) means nothing is left in scope.
create function public.export_ops_claim_log_batch(
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
-- the scope decides which index answers: plan each call for its own arguments
set plan_cache_mode = force_custom_plan
as $$
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

-- A claimed batch's logs as its archive object holds them: one JSON object per log, oldest first. A set of rows,
-- not one JSON document: PostgREST hands a set out as it is, but re-reads a whole document (several MB here) to
-- unwrap it from a one-element array.
create function public.export_ops_archive_batch_rows(p_batch text)
returns setof json
language sql
stable
set search_path = ''
-- the batch's rows sorted in memory (about 2.3 MB for 5,000, 9 MB for the largest batch_size)
set work_mem = '32MB'
as $$
  -- one primary-key probe per id (an index scan in created_at order, filtering by the id list, reads far more)
  select row_to_json(x)
  from public.export_ops_archive_batches b
  cross join lateral unnest(b.export_ids) as i (export_id)
  join public.export_logs l on l.export_id = i.export_id
  cross join lateral (
    select l.export_id, l.user_id, l.format, l.status, l.conversation_count, l.file_path, l.file_size_bytes,
           l.error_type, l.error_message, l.created_at, l.completed_at, l.expired_at
  ) x
  where b.batch = p_batch
  order by l.created_at, l.export_id
$$;

-- The batch's archive object was written, read back and found to hold exactly the batch's rows: its logs go, each
-- only as the version the batch read (a log changed since stays), the batch is done and its manifest entry
-- `written`. Returns the logs deleted (0 for a batch that is no longer claimed).
create function public.export_ops_delete_archived_logs(p_batch text)
returns integer
language plpgsql
set search_path = ''
as $$
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

create or replace function public.export_ops_release_log_batch(p_batch text)
returns void
language sql
set search_path = ''
as $$
  update public.export_ops_archive_batches set claimed_until = '-infinity' where batch = p_batch
$$;

-- Without archival: as before, but the rows of a live archive batch are found in the batches' id lists.
create or replace function public.export_ops_delete_logs(
  p_limit integer,
  p_cutoff timestamptz default null,
  p_user_id uuid default null,
  p_now timestamptz default now(),
  p_after timestamptz default '-infinity'
)
returns jsonb
language plpgsql
set search_path = ''
as $$
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

create or replace function public.export_ops_user_erasure_state(p_user_id uuid, p_now timestamptz default now())
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'logs_left', (select count(*) from public.export_logs where user_id = p_user_id),
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

revoke all on function public.export_ops_claim_log_batch, public.export_ops_archive_batch_rows,
  public.export_ops_delete_archived_logs from public, anon, authenticated;
grant execute on function public.export_ops_claim_log_batch, public.export_ops_archive_batch_rows,
  public.export_ops_delete_archived_logs to service_role;
