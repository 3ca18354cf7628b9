-- export-ops: one erasure at a time per archive object. Two erasures rewriting the same object at once would each
-- upload the object without only their own user's rows, and the last upload would bring the other user's rows
-- back while the manifest forgot both. So an object's rewrite is leased here (`rewrite_run` until
-- `rewrite_until`), the manifest changes only if the object is still at the version the rewrite read (`version`),
-- and each run names its rewrite after itself (`<name>.rewrite-<run_id>`): a later run removes a crashed run's.

alter table public.export_ops_archive_objects
  add column version integer not null default 0,
  add column rewrite_run uuid,
  add column rewrite_until timestamptz;

-- Takes the object's rewrite lease. `claimed` false: another erasure holds it (until `held_until`), or the object
-- left the manifest (`gone`: it held no rows any more). `left_by`: a run whose lease ran out before it finished;
-- its rewrite object may still be there.
create function public.export_ops_claim_archive_rewrite(
  p_bucket text, p_name text, p_run_id uuid, p_seconds integer, p_now timestamptz default now())
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_object public.export_ops_archive_objects;
begin
  if p_seconds is null or p_seconds < 1 then
    raise exception 'p_seconds must be at least 1, got %', p_seconds using errcode = '22023';
  end if;
  select * into v_object from public.export_ops_archive_objects where bucket = p_bucket and name = p_name for update;
  if not found then
    return jsonb_build_object('claimed', false, 'gone', true);
  end if;
  if v_object.rewrite_run is not null and v_object.rewrite_run <> p_run_id and v_object.rewrite_until > p_now then
    return jsonb_build_object('claimed', false, 'gone', false, 'held_until', v_object.rewrite_until);
  end if;
  update public.export_ops_archive_objects
  set rewrite_run = p_run_id, rewrite_until = p_now + make_interval(secs => p_seconds)
  where bucket = p_bucket and name = p_name;
  return jsonb_build_object('claimed', true, 'gone', false, 'version', v_object.version,
    'left_by', case when v_object.rewrite_run <> p_run_id then v_object.rewrite_run end);
end
$$;

-- Gives the lease back early after a failed rewrite (the run stays named, so the next one removes its leftover).
create function public.export_ops_release_archive_rewrite(p_bucket text, p_name text, p_run_id uuid)
returns void
language sql
set search_path = ''
as $$
  update public.export_ops_archive_objects set rewrite_until = '-infinity'
  where bucket = p_bucket and name = p_name and rewrite_run = p_run_id
$$;

-- An archive object was rewritten without the user's rows (verified, then put in place): the manifest forgets the
-- user, or, for an object left with no rows (deleted), the object. Only by the run holding the lease, and only
-- from the version it read: false when either has changed (nothing is written then).
drop function public.export_ops_archive_object_rewritten(text, text, uuid, integer);
create function public.export_ops_archive_object_rewritten(
  p_bucket text, p_name text, p_user_id uuid, p_rows integer, p_run_id uuid, p_version integer)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  if p_rows = 0 then
    delete from public.export_ops_archive_objects
    where bucket = p_bucket and name = p_name and version = p_version and rewrite_run = p_run_id;
  else
    update public.export_ops_archive_objects
    set users = array_remove(users, p_user_id), row_count = p_rows, rewritten_at = now(),
        version = version + 1, rewrite_run = null, rewrite_until = null
    where bucket = p_bucket and name = p_name and version = p_version and rewrite_run = p_run_id;
  end if;
  return found;
end
$$;

-- What an erasure of the user would find: now with their raw metrics, so a dry run can say what the run deletes.
create or replace function public.export_ops_user_erasure_state(p_user_id uuid, p_now timestamptz default now())
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'logs_left', (select count(*) from public.export_logs where user_id = p_user_id),
    'metrics_left', (select count(*) from public.export_metrics where user_id = p_user_id),
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

revoke all on function public.export_ops_claim_archive_rewrite, public.export_ops_release_archive_rewrite,
  public.export_ops_archive_object_rewritten from public, anon, authenticated;
grant execute on function public.export_ops_claim_archive_rewrite, public.export_ops_release_archive_rewrite,
  public.export_ops_archive_object_rewritten to service_role;
