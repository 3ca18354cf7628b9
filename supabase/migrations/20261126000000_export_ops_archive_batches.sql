-- export-ops: an archive batch is claimed as one row, not one row per log. `export_ops_archive_claims` held a row
-- per claimed log, so every batch of 10,000 logs inserted 10,000 rows (two index entries each), probed that index
-- once per candidate log, and deleted them all again. `export_ops_archive_batches` holds one row per batch: its
-- logs' ids and the row version (xmin) each had when the batch was read. Deleting a batch deletes only those row
-- versions, the ones its archive object holds: a log changed after it was read stays, to be archived again as it
-- is then. The batch is handed out as its rows (JSON objects, not one JSON Lines string: a string of several MB
-- costs more to escape into the response than the rows cost to read). Batches walk forward by
-- (created_at, export_id), so the created_at index gains export_id: no batch starts over at the first row of a
-- run of equal times.
--
-- Building the index takes a write lock on export_logs for as long as the build runs (seconds per million rows).

drop index public.export_ops_logs_created_idx;
create index export_ops_logs_created_idx on public.export_logs (created_at, export_id);

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
-- the next p_limit logs in scope after (p_after, p_after_id) that no other batch holds. Returns the batch as its
-- archive object will hold it: JSON Lines, one row per line, oldest first, with the key the next batch starts
-- after. An empty batch (count 0) means nothing is left in scope.
create function public.export_ops_claim_log_batch(
  p_bucket text,
  p_limit integer,
  p_cutoff timestamptz default null,
  p_user_id uuid default null,
  p_lease_seconds integer default 900,
  p_now timestamptz default now(),
  p_after timestamptz default null,
  p_after_id uuid default null
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
  v_last_at timestamptz;
  v_last_id uuid;
begin
  if (p_cutoff is null) = (p_user_id is null) then
    raise exception 'give exactly one of p_cutoff and p_user_id' using errcode = '22023';
  end if;
  -- Claims are few and short: taking them one at a time rules out two runs taking the same logs.
  perform pg_advisory_xact_lock(hashtext('export_ops.claim_log_batch'));

  select b.batch, b.export_ids into v_batch, v_ids
  from public.export_ops_archive_batches b
  where b.batch like v_prefix || '%' and b.claimed_until < p_now
  order by b.claimed_until
  limit 1;
  if v_batch is not null then
    -- a dead run's batch: the logs of it still there and still in scope
    select array_agg(l.export_id) into v_ids
    from public.export_logs l
    where l.export_id = any (v_ids)
      -- export_ops_log_is_removable, written out for the planner
      and (p_user_id is not null or l.status <> 'completed' or l.file_path is null);
    v_reclaimed := v_ids is not null;
    if not v_reclaimed then
      delete from public.export_ops_archive_batches where batch = v_batch;
    end if;
  end if;

  if not v_reclaimed then
    v_batch := v_prefix || to_char(p_now at time zone 'UTC', case when p_user_id is null then 'YYYY/MM/DD/' else '' end
               || 'YYYYMMDD"T"HH24MISS"-"') || gen_random_uuid();
    select array_agg(s.export_id), max(s.created_at), (array_agg(s.export_id order by s.created_at desc, s.export_id desc))[1]
    into v_ids, v_last_at, v_last_id
    from (
      select l.export_id, l.created_at
      from public.export_logs l
      where (case when p_user_id is not null then l.user_id = p_user_id
                  -- export_ops_log_is_removable, written out for the planner
                  else l.created_at < p_cutoff and (l.status <> 'completed' or l.file_path is null) end)
        and (l.created_at, l.export_id) > (coalesce(p_after, '-infinity'), coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'))
        -- logs another batch holds (its run may be alive, or it is left for a run of its own kind)
        and l.export_id not in (select i from public.export_ops_archive_batches b, unnest(b.export_ids) i)
      order by l.created_at, l.export_id
      limit p_limit
    ) s;
    if v_ids is null then
      return json_build_object('batch', null, 'object', null, 'count', 0, 'last_created_at', null,
                               'last_export_id', null, 'reclaimed', false);
    end if;
  end if;

  -- the versions its logs will be deleted as; its rows are read after this (export_ops_archive_batch_rows), so a log
  -- changed in between is archived as it is then, but not deleted: it stays, to be archived again
  select array_agg(l.export_id), array_agg(l.xmin), array_agg(distinct l.user_id), count(*), min(l.created_at), max(l.created_at)
  into v_ids, v_versions, v_users, v_count, v_oldest, v_newest
  from public.export_logs l
  where l.export_id = any (v_ids);

  insert into public.export_ops_archive_batches as b (batch, export_ids, versions, claimed_until)
  values (v_batch, v_ids, v_versions, p_now + make_interval(secs => p_lease_seconds))
  on conflict (batch) do update
    set export_ids = excluded.export_ids, versions = excluded.versions, claimed_until = excluded.claimed_until;
  insert into public.export_ops_archive_objects as o (bucket, name, batch, users, row_count, oldest, newest)
  values (p_bucket, v_batch || '.jsonl.gz', v_batch, v_users, v_count, v_oldest, v_newest)
  on conflict (bucket, name) do update
    set users = excluded.users, row_count = excluded.row_count, oldest = excluded.oldest, newest = excluded.newest;

  return json_build_object('batch', v_batch, 'object', v_batch || '.jsonl.gz', 'count', v_count,
                           'last_created_at', v_last_at, 'last_export_id', v_last_id, 'reclaimed', v_reclaimed);
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
-- the batch's rows sorted in memory (about 5 MB for 10,000)
set work_mem = '32MB'
as $$
  select row_to_json(x)
  from public.export_logs l
  cross join lateral (
    select l.export_id, l.user_id, l.format, l.status, l.conversation_count, l.file_path, l.file_size_bytes,
           l.error_type, l.error_message, l.created_at, l.completed_at, l.expired_at
  ) x
  where l.export_id = any ((select b.export_ids from public.export_ops_archive_batches b where b.batch = p_batch)::uuid[])
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

-- Without archival too, batches walk forward by (created_at, export_id): p_after/p_after_id is where the previous
-- batch reached. Rows in a live archive batch are left alone. Returns {deleted, reached, reached_id}.
drop function public.export_ops_delete_logs(integer, timestamptz, uuid, timestamptz, timestamptz);
create function public.export_ops_delete_logs(
  p_limit integer,
  p_cutoff timestamptz default null,
  p_user_id uuid default null,
  p_now timestamptz default now(),
  p_after timestamptz default null,
  p_after_id uuid default null
)
returns jsonb
language plpgsql
set search_path = ''
set plan_cache_mode = force_custom_plan
as $$
declare
  v_deleted integer;
  v_reached timestamptz;
  v_reached_id uuid;
begin
  if (p_cutoff is null) = (p_user_id is null) then
    raise exception 'give exactly one of p_cutoff and p_user_id' using errcode = '22023';
  end if;
  with batch as (
    select l.ctid as row_id from public.export_logs l
    where (case when p_user_id is not null then l.user_id = p_user_id
                -- export_ops_log_is_removable, written out for the planner
                else l.created_at < p_cutoff and (l.status <> 'completed' or l.file_path is null) end)
      and (l.created_at, l.export_id) > (coalesce(p_after, '-infinity'), coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'))
      and l.export_id not in (select i from public.export_ops_archive_batches b, unnest(b.export_ids) i
                              where b.claimed_until >= p_now)
    order by l.created_at, l.export_id
    limit p_limit
    for update of l skip locked
  ), gone as (
    -- the rows are locked by this statement, so their addresses hold until it ends
    delete from public.export_logs l where l.ctid = any (array(select row_id from batch)) returning l.created_at, l.export_id
  )
  select count(*), (array_agg(created_at order by created_at desc, export_id desc))[1],
         (array_agg(export_id order by created_at desc, export_id desc))[1]
  into v_deleted, v_reached, v_reached_id
  from gone;
  return jsonb_build_object('deleted', v_deleted, 'reached', coalesce(v_reached, p_after),
                            'reached_id', coalesce(v_reached_id, p_after_id));
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
  public.export_ops_delete_archived_logs, public.export_ops_delete_logs from public, anon, authenticated;
grant execute on function public.export_ops_claim_log_batch, public.export_ops_archive_batch_rows,
  public.export_ops_delete_archived_logs, public.export_ops_delete_logs to service_role;
