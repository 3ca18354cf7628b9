-- export-ops: the daily export-file cleanup. Owns `export_ops_file_cleanup` (per export: the run holding a claim
-- on it, attempts, the last failure, a quarantine, or the export whose use kept its file), `export_ops_orphan_cursor`
-- (where the orphan sweep stopped in each bucket), and the functions the job and its operators call.
--
-- A run claims a batch of expired exports under a lease, deletes the files through the Storage API, then reports
-- back which exports are gone, which failed and which it quarantined. A row turns `expired` only in that report,
-- i.e. after Storage confirmed its file is gone, and only for the run holding its claim — or, when another export
-- still in use (within retention, or queued or processing) points at the same file, at once and without
-- deleting the file, which goes when the last export pointing at it expires.

-- Bookkeeping per export, only while export-ops works on it, has failed on it, quarantined it, or kept its file
-- for another export; a row goes when its export turns `expired` normally (or its log is deleted).
create table public.export_ops_file_cleanup (
  export_id uuid primary key references public.export_logs (export_id) on delete cascade,
  claimed_by uuid,
  claimed_until timestamptz,
  attempts integer not null default 0,
  last_error text,
  -- a permanent problem (an unsafe path, or Storage failing attempt after attempt): left out of every run
  -- until an operator releases it
  quarantined_at timestamptz,
  quarantine_reason text,
  -- the log expired without its file being deleted, because this export still used the same file
  kept_file_for uuid
);
create index export_ops_file_cleanup_quarantined_idx on public.export_ops_file_cleanup (quarantined_at)
  where quarantined_at is not null;

-- Where the orphan sweep of each bucket continues (the last object name it looked at; '' to start over).
create table public.export_ops_orphan_cursor (
  bucket text primary key,
  after text not null default '',
  laps integer not null default 0,
  updated_at timestamptz not null default now()
);

alter table public.export_ops_file_cleanup enable row level security;
alter table public.export_ops_orphan_cursor enable row level security;
revoke all on table public.export_ops_file_cleanup, public.export_ops_orphan_cursor from public, anon, authenticated;
grant all on table public.export_ops_file_cleanup, public.export_ops_orphan_cursor to service_role;

-- The export that still uses a file (other than p_export_id): one in progress, or completed within retention.
create function public.export_ops_file_in_use_by(p_file_path text, p_export_id uuid, p_cutoff timestamptz)
returns uuid
language sql
stable
set search_path = ''
as $$
  select l.export_id from public.export_logs l
  where l.file_path = p_file_path and l.export_id <> p_export_id
    and (l.status in ('queued', 'processing') or (l.status = 'completed' and l.completed_at >= p_cutoff))
  limit 1
$$;

-- One call per batch: report the previous batch (files Storage confirmed gone, failures, quarantines) and claim
-- the next one, in one transaction.
--
-- p_expired: exports whose files are gone; they turn `expired`, but only for the run holding their claim.
-- p_failed: [{export_id, error}] Storage failed to delete; they keep their claim until it expires, so this run
--   does not pick them up again, and the next run retries them — until the p_max_attempts-th failure, which
--   quarantines them.
-- p_quarantined: [{export_id, reason}] never to be retried without an operator (an unsafe path).
-- p_limit: how many to claim next (0 to only report). Rows another run holds are skipped (skip locked, and a
--   claim is taken only where none is live when the claim row is written), so concurrent runs get disjoint
--   batches; a dead run's lease simply expires. A claimed row whose file another export still uses turns
--   `expired` at once, its file kept (`kept_in_use`), and is not returned for deletion.
create function public.export_ops_file_cleanup_batch(
  p_run_id uuid,
  p_retention_hours integer,
  p_limit integer,
  p_expired uuid[] default '{}',
  p_failed jsonb default '[]',
  p_quarantined jsonb default '[]',
  p_max_attempts integer default 5,
  p_lease_seconds integer default 900,
  p_now timestamptz default now()
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_cutoff timestamptz := p_now - make_interval(hours => p_retention_hours);
  v_expired integer;
  v_failed integer;
  v_quarantined integer;
  v_worn_out integer;
  v_kept integer;
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

-- Dry run: how many exports are due, how many of those keep their file because another export still uses it,
-- and a sample of the rest, changing nothing. Quarantined exports are not due.
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
    select l.export_id, l.user_id, l.format, l.file_path, l.completed_at,
           public.export_ops_file_in_use_by(l.file_path, l.export_id, p_now - make_interval(hours => p_retention_hours)) as in_use_by
    from public.export_logs l
    where l.status = 'completed'
      and l.completed_at < p_now - make_interval(hours => p_retention_hours)
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
$$;

-- Orphan sweep, one page: scans up to p_scan objects of the bucket by name from where the last page stopped (the
-- cursor), and returns those that are orphans: in the export layout (`<user uuid>/<name>.<ext>`, matched here so
-- other objects never fill a page), older than retention, and pointed at by no live export log — one that is
-- completed, or queued or processing for less than p_stuck_hours (an export stuck longer is dead: its file goes
-- once it is past retention). With p_advance the cursor moves on, back to the start after the last object, so
-- successive runs cover the whole bucket. Returns {orphans, scanned, from, wrapped}.
create function public.export_ops_orphan_page(
  p_bucket text,
  p_retention_hours integer,
  p_stuck_hours integer,
  p_scan integer default 1000,
  p_advance boolean default true,
  p_now timestamptz default now()
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_after text;
  v_page jsonb;
  v_wrapped boolean;
begin
  select c.after into v_after from public.export_ops_orphan_cursor c where c.bucket = p_bucket;
  v_after := coalesce(v_after, '');
  with scanned as (
    select o.name, o.created_at from storage.objects o
    where o.bucket_id = p_bucket and o.name > v_after
    order by o.name
    limit least(greatest(p_scan, 1), 1000)
  )
  select jsonb_build_object(
    'orphans', coalesce(jsonb_agg(s.name order by s.name) filter (
      where s.name ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/[A-Za-z0-9][A-Za-z0-9._-]*\.(json|jsonl|csv|md|markdown)$'
        and octet_length(s.name) <= 1024
        and s.created_at < p_now - make_interval(hours => p_retention_hours)
        and not exists (
          select 1 from public.export_logs l
          where l.file_path = s.name
            and (l.status = 'completed'
                 or (l.status in ('queued', 'processing') and l.created_at >= p_now - make_interval(hours => p_stuck_hours))))
    ), '[]'::jsonb),
    'scanned', count(*),
    'last', max(s.name))
  into v_page
  from scanned s;
  v_wrapped := (v_page ->> 'scanned')::integer < least(greatest(p_scan, 1), 1000);
  if p_advance then
    insert into public.export_ops_orphan_cursor as c (bucket, after, laps, updated_at)
    values (p_bucket, case when v_wrapped then '' else v_page ->> 'last' end, case when v_wrapped then 1 else 0 end, p_now)
    on conflict (bucket) do update
      set after = excluded.after, laps = c.laps + excluded.laps, updated_at = excluded.updated_at;
  end if;
  return (v_page - 'last') || jsonb_build_object('from', v_after, 'wrapped', v_wrapped);
end
$$;

-- Operators: the quarantined exports (newest first), and releasing one for the next run to try again.
create function public.export_ops_file_cleanup_quarantined(p_limit integer default 100)
returns jsonb
language sql
stable
set search_path = ''
as $$
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

create function public.export_ops_file_cleanup_release(p_export_id uuid)
returns boolean
language sql
set search_path = ''
as $$
  with released as (
    delete from public.export_ops_file_cleanup where export_id = p_export_id and quarantined_at is not null
    returning 1
  )
  select exists (select 1 from released)
$$;

revoke all on function public.export_ops_file_in_use_by, public.export_ops_file_cleanup_batch,
  public.export_ops_file_cleanup_preview, public.export_ops_orphan_page, public.export_ops_file_cleanup_quarantined,
  public.export_ops_file_cleanup_release from public, anon, authenticated;
grant execute on function public.export_ops_file_in_use_by, public.export_ops_file_cleanup_batch,
  public.export_ops_file_cleanup_preview, public.export_ops_orphan_page, public.export_ops_file_cleanup_quarantined,
  public.export_ops_file_cleanup_release to service_role;
