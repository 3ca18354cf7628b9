-- export-ops: the daily export-file cleanup. Owns `export_ops_file_cleanup` (per export: the run holding a claim
-- on it, attempts and the last failure) and the functions the job calls.
--
-- A run claims a batch of expired exports under a lease, deletes the files through the Storage API, then reports
-- back which exports are gone and which failed. A row turns `expired` only in that report, i.e. after Storage
-- confirmed its file is gone, and only for the run holding its claim.

-- Bookkeeping per export, only while export-ops works on it or has failed on it; a row goes when its export
-- turns `expired` (or its log is deleted).
create table public.export_ops_file_cleanup (
  export_id uuid primary key references public.export_logs (export_id) on delete cascade,
  claimed_by uuid,
  claimed_until timestamptz,
  attempts integer not null default 0,
  last_error text
);
alter table public.export_ops_file_cleanup enable row level security;
revoke all on table public.export_ops_file_cleanup from public, anon, authenticated;
grant all on table public.export_ops_file_cleanup to service_role;

-- One call per batch: report the previous batch (files Storage confirmed gone, failures) and claim the next
-- one, in one transaction.
--
-- p_expired: exports whose files are gone; they turn `expired`, but only for the run holding their claim.
-- p_failed: [{export_id, error}] not deleted (Storage failed, or the path was unsafe); they keep their claim
--   until it expires, so this run does not pick them up again, and the next run retries them.
-- p_limit: how many to claim next (0 to only report). Rows another run holds are skipped (skip locked, and a
--   claim is taken only where none is live when the claim row is written), so concurrent runs get disjoint
--   batches; a dead run's lease simply expires.
create function public.export_ops_file_cleanup_batch(
  p_run_id uuid,
  p_retention_hours integer,
  p_limit integer,
  p_expired uuid[] default '{}',
  p_failed jsonb default '[]',
  p_lease_seconds integer default 900,
  p_now timestamptz default now()
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_expired integer;
  v_failed integer;
  v_claimed jsonb;
begin
  if p_retention_hours is null or p_retention_hours < 1 then
    raise exception 'p_retention_hours must be at least 1' using errcode = '22023';
  end if;
  if p_limit is null or p_limit not between 0 and 1000 then
    raise exception 'p_limit must be between 0 and 1000' using errcode = '22023';
  end if;

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

  update public.export_ops_file_cleanup c
  set attempts = c.attempts + 1, last_error = left(f.error, 500)
  from jsonb_to_recordset(coalesce(p_failed, '[]')) as f (export_id uuid, error text)
  where c.export_id = f.export_id and c.claimed_by = p_run_id;
  get diagnostics v_failed = row_count;

  with candidates as (
    select l.export_id
    from public.export_logs l
    where p_limit > 0
      and l.status = 'completed'
      and l.completed_at < p_now - make_interval(hours => p_retention_hours)
      and not exists (select 1 from public.export_ops_file_cleanup c
                      where c.export_id = l.export_id and c.claimed_until >= p_now)
    order by l.completed_at
    limit p_limit
    for update of l skip locked
  ), claimed as (
    insert into public.export_ops_file_cleanup as c (export_id, claimed_by, claimed_until)
    select export_id, p_run_id, p_now + make_interval(secs => p_lease_seconds) from candidates
    -- the claim row is the lock that counts: a run that committed its claim after this one's snapshot wins
    on conflict (export_id) do update set claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until
      where c.claimed_until is null or c.claimed_until < p_now
    returning c.export_id, c.attempts
  )
  select coalesce(jsonb_agg(jsonb_build_object('export_id', l.export_id, 'user_id', l.user_id, 'format', l.format,
                                               'file_path', l.file_path, 'cleanup_attempts', claimed.attempts)), '[]'::jsonb)
  into v_claimed
  from claimed join public.export_logs l on l.export_id = claimed.export_id;

  return jsonb_build_object('expired', v_expired, 'failed', v_failed, 'claimed', v_claimed);
end
$$;

-- Dry run: how many exports are due and a sample of them, changing nothing.
create function public.export_ops_file_cleanup_preview(
  p_retention_hours integer,
  p_sample_size integer default 20,
  p_now timestamptz default now()
)
returns jsonb
language sql
stable
set search_path = ''
as $$
  with due as (
    select l.export_id, l.user_id, l.format, l.file_path, l.completed_at
    from public.export_logs l
    where l.status = 'completed'
      and l.completed_at < p_now - make_interval(hours => p_retention_hours)
  )
  select jsonb_build_object(
    'total', (select count(*) from due),
    'sample', coalesce((
      select jsonb_agg(to_jsonb(s) - 'completed_at' order by s.completed_at)
      from (select * from due order by completed_at limit greatest(p_sample_size, 0)) s
    ), '[]'::jsonb)
  )
$$;

-- Orphan sweep: objects in the exports bucket older than retention that no live export log points to (a log
-- that is queued, processing or completed). Keyset-paged by name so a run can walk the bucket in bounded steps.
create function public.export_ops_find_orphan_objects(
  p_bucket text,
  p_retention_hours integer,
  p_after text default '',
  p_limit integer default 1000,
  p_now timestamptz default now()
)
returns table (name text, created_at timestamptz)
language sql
stable
set search_path = ''
as $$
  select o.name, o.created_at
  from storage.objects o
  where o.bucket_id = p_bucket
    and o.name > coalesce(p_after, '')
    and o.created_at < p_now - make_interval(hours => p_retention_hours)
    and not exists (
      select 1 from public.export_logs l
      where l.file_path = o.name and l.status in ('queued', 'processing', 'completed')
    )
  order by o.name
  limit least(greatest(p_limit, 1), 1000)
$$;

revoke all on function public.export_ops_file_cleanup_batch, public.export_ops_file_cleanup_preview,
  public.export_ops_find_orphan_objects from public, anon, authenticated;
grant execute on function public.export_ops_file_cleanup_batch, public.export_ops_file_cleanup_preview,
  public.export_ops_find_orphan_objects to service_role;
