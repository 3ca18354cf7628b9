-- export-ops: per-user erasure. Owns the read of every file name one user's exports left (from their logs and
-- from their folder in the bucket). The erasure deletes their logs and metrics with the log cleanup's batch
-- functions, scoped to the user.

-- Erasure: every file name of one user's exports (from their logs and from their folder in the bucket).
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

revoke all on function public.export_ops_user_files from public, anon, authenticated;
grant execute on function public.export_ops_user_files to service_role;
