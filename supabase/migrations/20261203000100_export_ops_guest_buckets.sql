-- export-ops: a guest in the host's buckets. Owns `export_ops_bucket_states` (what the jobs, health and the ops
-- page need to know of a bucket before they use it: whether it exists, is public, and was created by export-ops)
-- and a new `export_ops_orphan_page`, which calls an object an orphan only when export-ops knew its export.
--
-- An object is an orphan, and may be deleted by the sweep, only when all of these hold:
--   - it was created after export-ops was installed (export_ops_installation.installed_at): whatever its name,
--     nothing that was in a bucket before the install is ever deleted;
--   - its name is `<user_id>/<export_id>.<ext>`, and export-ops knew that export of that user: a row in
--     export_logs or export_metrics with that export_id and user_id, whose format lists that extension
--     (export_ops_formats);
--   - it is older than the file retention, and no live export log points at it (completed, or queued or
--     processing for less than the stuck time).
-- The host's own files, under any other name, never qualify, even when written after the install.

create function public.export_ops_bucket_states(p_buckets text[])
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'installed_at', i.installed_at,
    'buckets', coalesce((
      select jsonb_object_agg(n.name, jsonb_build_object(
        'exists', b.id is not null,
        'public', coalesce(b.public, false),
        'created_by_export_ops', n.name = any (i.created_buckets)))
      from unnest(p_buckets) as n (name)
      left join storage.buckets b on b.id = n.name), '{}'::jsonb))
  from public.export_ops_installation i
$$;

drop function public.export_ops_orphan_page(text, integer, integer, integer, boolean, timestamptz);

-- One page of the orphan sweep: scans up to p_scan objects of the bucket by name, after p_from or (when p_from is
-- null) after where the last page stopped (the cursor), and returns the orphans among them (see the header) with
-- the user and format of the export each belonged to. With p_advance the cursor moves on, back to the start after
-- the last object, so successive runs cover the whole bucket; without it nothing changes, and `next` lets a dry
-- run read on. Returns {orphans: [{name, user_id, format}], scanned, from, next, wrapped}.
create function public.export_ops_orphan_page(
  p_bucket text,
  p_retention_hours integer,
  p_stuck_hours integer,
  p_scan integer default 1000,
  p_advance boolean default true,
  p_from text default null,
  p_now timestamptz default now()
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_scan constant integer := least(greatest(p_scan, 1), 1000);
  v_after text;
  v_page jsonb;
  v_wrapped boolean;
  v_next text;
begin
  if p_retention_hours is null or p_retention_hours < 1 then
    raise exception 'p_retention_hours must be at least 1, got %', p_retention_hours;
  end if;
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
$$;

revoke all on function public.export_ops_bucket_states, public.export_ops_orphan_page from public, anon, authenticated;
grant execute on function public.export_ops_bucket_states, public.export_ops_orphan_page to service_role;

drop function public.export_ops_user_files(uuid, text);

-- Per-user erasure: the files of one user export-ops may delete, and the other objects in their folder it leaves
-- (`known` false). Known: every path the user's export logs name, and the objects in their folder created after
-- the install that are either in a bucket export-ops created or named after an export of theirs export-ops knew
-- (export_logs or export_metrics). What was in the folder before the install, and the host's own files in a
-- bucket it already had, are the host app's.
create function public.export_ops_user_files(p_user_id uuid, p_bucket text)
returns table (name text, known boolean)
language sql
stable
set search_path = ''
as $$
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
$$;

revoke all on function public.export_ops_user_files from public, anon, authenticated;
grant execute on function public.export_ops_user_files to service_role;
