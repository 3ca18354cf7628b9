-- export-ops: the monthly export-log cleanup and its archive. Owns `export_ops_archive_claims` (which archive
-- batch a log row belongs to while it is being archived, under a lease), `export_ops_archive_objects` (the
-- manifest: every archive object, the users and time range it holds), and the functions that count, claim,
-- delete and restore logs and prune raw metrics. Per-user erasure uses the same batch functions with a user.
--
-- Without archival a batch is one statement: delete up to p_limit eligible rows (skip locked), so concurrent runs
-- never wait on or double-count each other. With archival a batch is three calls: claim (the rows get a batch
-- key, which names their archive object, and a lease), write and verify the archive object, then delete exactly
-- the rows of that batch that the archive holds. A crash anywhere leaves the claims; the next run takes the
-- batch back once its lease expires and writes the same object again, so an archive never duplicates.
--
-- A log may go when it is past retention and no file of its own may still exist: anything but a `completed`
-- export with a file (`expired`, `failed`, never given a file, or `queued`/`processing` a month on: an export
-- that died, whose file the orphan sweep removes). A completed log past retention that still points at a file
-- is kept and counted (`kept_with_files`): the daily file cleanup must delete the file first.

create table public.export_ops_archive_claims (
  export_id uuid primary key references public.export_logs (export_id) on delete cascade,
  batch text not null,
  claimed_until timestamptz not null
);
create index export_ops_archive_claims_batch_idx on public.export_ops_archive_claims (batch);

-- The manifest of archive objects: recorded (`writing`) when a batch is claimed, so an object a crashed run left
-- behind is known too, and `written` when its rows are deleted. Erasure finds a user's archived rows here.
create table public.export_ops_archive_objects (
  bucket text not null,
  name text not null,
  batch text not null,
  state text not null default 'writing' check (state in ('writing', 'written')),
  users uuid[] not null,
  row_count integer not null,
  oldest timestamptz,
  newest timestamptz,
  written_at timestamptz,
  rewritten_at timestamptz,
  primary key (bucket, name)
);
create index export_ops_archive_objects_users_idx on public.export_ops_archive_objects using gin (users);

alter table public.export_ops_archive_claims enable row level security;
alter table public.export_ops_archive_objects enable row level security;
revoke all on table public.export_ops_archive_claims, public.export_ops_archive_objects from public, anon, authenticated;
grant all on table public.export_ops_archive_claims, public.export_ops_archive_objects to service_role;

create function public.export_ops_log_is_removable(p_status text, p_file_path text)
returns boolean
language sql
immutable
set search_path = ''
as $$ select p_status <> 'completed' or p_file_path is null $$;

-- What a cleanup would do, without doing it: counts, age range and size (from Postgres) of the eligible logs
-- and raw metrics. Metrics are eligible only for hours already rolled up, so pruning never loses a rollup.
create function public.export_ops_log_cleanup_stats(p_log_cutoff timestamptz, p_metric_cutoff timestamptz)
returns jsonb
language sql
stable
set search_path = ''
as $$
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

-- No archival: delete one batch of eligible logs (past p_cutoff, or all of p_user_id's logs for an erasure).
-- p_after: the created_at the previous batch reached, so a run walks forward instead of re-reading the dead
-- index entries its own deletes left behind. Rows in a live archive batch are left alone. Returns
-- {deleted, reached}.
create function public.export_ops_delete_logs(
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
    select l.export_id, l.created_at from public.export_logs l
    where (case when p_user_id is not null then l.user_id = p_user_id
                else l.created_at < p_cutoff and public.export_ops_log_is_removable(l.status, l.file_path) end)
      and l.created_at >= coalesce(p_after, '-infinity')
      and not exists (select 1 from public.export_ops_archive_claims c
                      where c.export_id = l.export_id and c.claimed_until >= p_now)
    order by l.created_at
    limit p_limit
    for update of l skip locked
  ), gone as (
    delete from public.export_logs l using batch b where l.export_id = b.export_id returning b.created_at
  )
  select count(*), max(created_at) into v_deleted, v_reached from gone;
  return jsonb_build_object('deleted', v_deleted, 'reached', coalesce(v_reached, p_after));
end
$$;

-- Archival, step 1: claim a batch. A batch whose lease expired (its run died) is taken back first, whole and
-- under its old key; otherwise up to p_limit new rows from p_after on get a fresh key. The batch's object (named
-- after its key, in p_bucket) goes into the manifest with the users it holds. Returns {batch, object, rows}
-- (rows as stored, oldest first).
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
as $$
declare
  -- batch keys (and so archive object names): logs/<date>/... for the cleanup, erasure/<user>/... for an erasure;
  -- each kind only ever takes back its own dead batches
  v_prefix text := case when p_user_id is null then 'logs/' else 'erasure/' || p_user_id || '/' end;
  v_batch text;
  v_reclaimed boolean;
  v_rows json;
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
                else l.created_at < p_cutoff and public.export_ops_log_is_removable(l.status, l.file_path) end)
      and l.created_at >= coalesce(p_after, '-infinity')
    order by l.created_at
    limit p_limit
    for update of l skip locked;
  end if;

  -- the rows as an archive keeps them (json_agg over a plain row is several times cheaper than building jsonb)
  select coalesce(json_agg(r order by r.created_at, r.export_id), '[]')
  into v_rows
  from (
    select l.export_id, l.user_id, l.format, l.status, l.conversation_count, l.file_path, l.file_size_bytes,
           l.error_type, l.error_message, l.created_at, l.completed_at, l.expired_at
    from public.export_ops_archive_claims c join public.export_logs l on l.export_id = c.export_id
    where c.batch = v_batch
  ) r;
  if json_array_length(v_rows) = 0 then
    return json_build_object('batch', null, 'object', null, 'rows', v_rows, 'reclaimed', v_reclaimed);
  end if;
  insert into public.export_ops_archive_objects as o (bucket, name, batch, users, row_count, oldest, newest)
  select p_bucket, v_batch || '.jsonl.gz', v_batch, array_agg(distinct l.user_id), count(*), min(l.created_at), max(l.created_at)
  from public.export_ops_archive_claims c join public.export_logs l on l.export_id = c.export_id
  where c.batch = v_batch
  on conflict (bucket, name) do update
    set users = excluded.users, row_count = excluded.row_count, oldest = excluded.oldest, newest = excluded.newest;
  return json_build_object('batch', v_batch, 'object', v_batch || '.jsonl.gz', 'rows', v_rows, 'reclaimed', v_reclaimed);
end
$$;

-- Archival, step 3: delete the rows of a batch that its verified archive object holds, and mark the object
-- written in the manifest. Rows of the batch not in p_export_ids are released, never deleted.
create function public.export_ops_delete_archived_logs(p_batch text, p_export_ids uuid[])
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_deleted integer;
begin
  delete from public.export_logs l
  using public.export_ops_archive_claims c
  where c.batch = p_batch and c.export_id = l.export_id and l.export_id = any (p_export_ids);
  get diagnostics v_deleted = row_count;
  delete from public.export_ops_archive_claims where batch = p_batch;
  update public.export_ops_archive_objects set state = 'written', written_at = now() where batch = p_batch;
  return v_deleted;
end
$$;

-- Archival failed for a batch (upload or check): keep its key, so the retry writes the same object, and let the
-- next run take it at once.
create function public.export_ops_release_log_batch(p_batch text)
returns void
language sql
set search_path = ''
as $$
  update public.export_ops_archive_claims set claimed_until = '-infinity' where batch = p_batch
$$;

-- One batch of raw metrics: past p_cutoff in hours already rolled up (the rollups stay), or all of p_user_id's.
create function public.export_ops_delete_metrics(p_limit integer, p_cutoff timestamptz default null, p_user_id uuid default null)
returns integer
language plpgsql
set search_path = ''
as $$
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

-- Restores archived rows (JSON objects as written to an archive); rows already present are left alone.
create function public.export_ops_restore_logs(p_rows jsonb)
returns integer
language plpgsql
set search_path = ''
as $$
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

revoke all on function public.export_ops_log_is_removable, public.export_ops_log_cleanup_stats,
  public.export_ops_delete_logs, public.export_ops_claim_log_batch, public.export_ops_delete_archived_logs,
  public.export_ops_release_log_batch, public.export_ops_delete_metrics, public.export_ops_restore_logs
  from public, anon, authenticated;
grant execute on function public.export_ops_log_is_removable, public.export_ops_log_cleanup_stats,
  public.export_ops_delete_logs, public.export_ops_claim_log_batch, public.export_ops_delete_archived_logs,
  public.export_ops_release_log_batch, public.export_ops_delete_metrics, public.export_ops_restore_logs
  to service_role;
