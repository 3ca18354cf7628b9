-- export-ops: per-user erasure. Owns the reads and writes an erasure needs beyond the log cleanup's batch
-- functions (which it uses, scoped to the user, to delete their logs and metrics): every file name their exports
-- left, where their logs still are (rows left, archive batches in flight), the archive objects holding their
-- rows (from the manifest), and the record that an object was rewritten without them.

-- Every file name of one user's exports (from their logs and from their folder in the bucket).
create function public.export_ops_user_files(p_user_id uuid, p_bucket text)
returns table (name text)
language sql
stable
set search_path = ''
as $$
  select file_path from public.export_logs where user_id = p_user_id and file_path is not null
  union
  select o.name from storage.objects o where o.bucket_id = p_bucket and o.name like p_user_id::text || '/%'
$$;

-- Where the user's data still is: logs left in export_logs (those in an archive batch another run is writing
-- are left by the erasure's deletes) and every archive object that holds their rows — `in_flight` while a live
-- run is still writing it (the erasure waits for it), otherwise ready to be rewritten without them.
create function public.export_ops_user_erasure_state(p_user_id uuid, p_now timestamptz default now())
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'logs_left', (select count(*) from public.export_logs where user_id = p_user_id),
    'logs_in_flight', (select count(*) from public.export_logs l join public.export_ops_archive_claims c using (export_id)
                       where l.user_id = p_user_id and c.claimed_until >= p_now),
    'archive_objects', coalesce((
      select jsonb_agg(jsonb_build_object('bucket', o.bucket, 'name', o.name, 'state', o.state,
               'in_flight', exists (select 1 from public.export_ops_archive_claims c where c.batch = o.batch and c.claimed_until >= p_now))
             order by o.bucket, o.name)
      from public.export_ops_archive_objects o where o.users @> array[p_user_id]), '[]'::jsonb))
$$;

-- An archive object was rewritten without the user's rows (verified, then put in place): the manifest forgets
-- the user; an object left with no rows was deleted and leaves the manifest.
create function public.export_ops_archive_object_rewritten(p_bucket text, p_name text, p_user_id uuid, p_rows integer)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_rows = 0 then
    delete from public.export_ops_archive_objects where bucket = p_bucket and name = p_name;
  else
    update public.export_ops_archive_objects
    set users = array_remove(users, p_user_id), row_count = p_rows, rewritten_at = now()
    where bucket = p_bucket and name = p_name;
  end if;
end
$$;

revoke all on function public.export_ops_user_files, public.export_ops_user_erasure_state,
  public.export_ops_archive_object_rewritten from public, anon, authenticated;
grant execute on function public.export_ops_user_files, public.export_ops_user_erasure_state,
  public.export_ops_archive_object_rewritten to service_role;
