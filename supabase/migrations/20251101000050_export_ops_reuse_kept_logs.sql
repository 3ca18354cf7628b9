-- export-ops: reuse of a kept export_logs. When the preflight set aside the export_logs an earlier uninstall kept
-- (as `export_ops_kept_export_logs`), it takes the place of the empty export_logs the schema migration has just
-- created, with its rows, its indexes' names back, and whatever of the host's depends on it (views, foreign keys)
-- still pointing at it; its RLS, privileges and owner-read policy are made again what the schema migration gives
-- export_logs. Later migrations then apply to it as to any installed export_logs. Otherwise it does nothing.
do $$
declare
  v_index record;
begin
  if to_regclass('public.export_ops_kept_export_logs') is null then
    return;
  end if;
  if exists (select 1 from public.export_logs) then
    raise exception 'export-ops: public.export_logs already has rows, so public.export_ops_kept_export_logs cannot take its place; '
      'move the rows you want into one of them and drop the other';
  end if;
  drop table public.export_logs;
  alter table public.export_ops_kept_export_logs rename to export_logs;
  for v_index in
    select i.indexrelid::regclass as id, c.relname
    from pg_index i join pg_class c on c.oid = i.indexrelid
    where i.indrelid = 'public.export_logs'::regclass and c.relname like 'export\_ops\_kept\_%'
  loop
    execute format('alter index %s rename to %I', v_index.id, substr(v_index.relname, length('export_ops_kept_') + 1));
  end loop;

  comment on table public.export_logs is 'One row per export; export-ops expires its file and later deletes the row.';
  alter table public.export_logs enable row level security;
  revoke all on table public.export_logs from public, anon, authenticated;
  grant select on table public.export_logs to authenticated;
  grant all on table public.export_logs to service_role;
  drop policy if exists export_ops_logs_owner_read on public.export_logs;
  create policy export_ops_logs_owner_read on public.export_logs
    for select to authenticated using (user_id = (select auth.uid()));
end
$$;
