-- export-ops: a cheaper log cleanup. A real run needs only two counts of what its statistics pass computed (the
-- sizes and age range are for the dry run), so `export_ops_log_cleanup_counts` gives just those; and
-- `export_ops_delete_logs` (from the log cleanup migration) is replaced with the same arguments and result, now
-- deleting the rows it locked by their row address instead of looking each up again by key. Both write the rule
-- of `export_ops_log_is_removable` out in the query, where the planner can use it (a function with its own
-- search_path is called row by row).

-- The logs past p_log_cutoff a cleanup may remove, and those it must keep because their file still exists.
create function public.export_ops_log_cleanup_counts(p_log_cutoff timestamptz)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'log_cutoff', p_log_cutoff,
    'logs_eligible', (select count(*) from public.export_logs l
                      where l.created_at < p_log_cutoff and (l.status <> 'completed' or l.file_path is null)),
    'logs_kept_with_files', (select count(*) from public.export_logs l
                             where l.status = 'completed' and l.file_path is not null and l.created_at < p_log_cutoff))
$$;

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
                else l.created_at < p_cutoff and (l.status <> 'completed' or l.file_path is null) end)
      and l.created_at >= coalesce(p_after, '-infinity')
      and not exists (select 1 from public.export_ops_archive_claims c
                      where c.export_id = l.export_id and c.claimed_until >= p_now)
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

revoke all on function public.export_ops_log_cleanup_counts from public, anon, authenticated;
grant execute on function public.export_ops_log_cleanup_counts to service_role;
