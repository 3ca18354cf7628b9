-- export-ops: preflight. Runs before anything of export-ops is created and creates nothing itself. On a database
-- where export-ops is not installed yet, it stops the install, with one message naming every problem and what to
-- do, when:
--   - an object export-ops would create already exists under the same name: a relation, function or type named
--     export_ops_*, `export_logs`, `export_metrics` (and the names of their constraints' indexes and sequence), or
--     the media type domain "application/vnd.export-ops.jsonl";
--   - the bucket `exports` or `export-archive` exists and is public: export-ops would use it, and every user's
--     export (or archived log) in it would be world-readable.
-- One exception: an `export_logs` with export-ops' own columns and export-ops' comment is the table export-ops'
-- uninstall kept. It is reused with its rows: set aside here (renamed `export_ops_kept_export_logs`, its indexes
-- `export_ops_kept_*`) so that the schema migration can run, and put back in place of the new, empty table right
-- after it (20251101000050_export_ops_reuse_kept_logs.sql). It stops the install instead, naming the fix, when
--   - that table has export-ops' columns but not its comment: it may be the app's own, whose rows export-ops would
--     delete, so it is reused only once marked with the comment;
--   - that table (or one set aside by an earlier push) has a policy export-ops did not make: reused, the table
--     would keep it, and a signed-in user would read every row it lets through. Nothing of the host's is dropped:
--     the host drops it, or renames the table.
-- On a database where export-ops is installed (export_ops_installation exists) it does nothing. (The two checks of
-- a reuse above were added after its release: they only refuse installs, so no installed database changes.)
do $$
declare
  -- export_logs as the schema migration creates it, and as uninstall keeps it
  v_columns constant text[] := array[
    'completed_at timestamp with time zone', 'conversation_count integer', 'created_at timestamp with time zone',
    'error_message text', 'error_type text', 'expired_at timestamp with time zone', 'export_id uuid',
    'file_path text', 'file_size_bytes bigint', 'format text', 'status text', 'user_id uuid'];
  -- names export-ops creates in public that are not export_ops_*
  v_names constant text[] := array['export_logs', 'export_logs_pkey', 'export_metrics', 'export_metrics_pkey',
    'export_metrics_id_seq', 'export_metrics_once_per_status', 'application/vnd.export-ops.jsonl'];
  -- what export-ops gives export_logs, and what its uninstall keeps on it
  v_comment constant text := 'One row per export; export-ops expires its file and later deletes the row.';
  v_policy constant name := 'export_ops_logs_owner_read';
  v_logs regclass := to_regclass('public.export_logs');
  v_set_aside regclass := to_regclass('public.export_ops_kept_export_logs');
  v_logs_is_table boolean := false;
  v_have text[];
  v_reuse boolean := false;
  v_resuming boolean;
  v_problems text[] := '{}';
  v_index record;
begin
  if to_regclass('public.export_ops_installation') is not null then
    return;
  end if;
  -- a reuse set aside by an earlier push that stopped before putting it back: the next migrations finish it
  v_resuming := v_logs is null and v_set_aside is not null;

  v_logs_is_table := coalesce((select c.relkind in ('r', 'p') from pg_class c where c.oid = v_logs), false);
  if v_logs_is_table then
    select array_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) order by a.attname) into v_have
    from pg_attribute a
    where a.attrelid = v_logs and a.attnum > 0 and not a.attisdropped;
    v_reuse := v_have = v_columns;
    if not v_reuse then
      v_problems := v_problems || format(
        'table public.export_logs exists with other columns than export-ops'' (missing: %s; not export-ops'': %s): '
        'rename it (alter table public.export_logs rename to app_export_logs;) or drop it',
        coalesce((select string_agg(c, ', ') from unnest(v_columns) c where c <> all (v_have)), 'none'),
        coalesce((select string_agg(c, ', ') from unnest(v_have) c where c <> all (v_columns)), 'none'));
    elsif obj_description(v_logs, 'pg_class') is distinct from v_comment then
      v_problems := v_problems || format(
        'table public.export_logs has export-ops'' columns but not the comment export-ops gives it, so it may be your app''s own '
        '(export-ops expires the files of its exports and deletes its rows): if it is the export_logs an earlier export-ops '
        'uninstall kept, mark it for reuse (comment on table public.export_logs is %L;), otherwise rename it '
        '(alter table public.export_logs rename to app_export_logs;)', v_comment);
    end if;
  end if;

  -- the policies of the table to reuse, or of one an earlier push set aside: export-ops' own only
  select v_problems || coalesce(array_agg(format(
    'policy %I on %s (for %s to %s%s%s%s) is not export-ops'': reused, the table would keep it, and every row it lets '
    'through with it: drop it (drop policy %I on %s;), or rename the table to keep it as your app''s '
    '(alter table %s rename to app_export_logs;)',
    p.polname, 'public.' || c.relname, case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE'
      when 'd' then 'DELETE' else 'ALL' end,
    (select string_agg(case when r = 0 then 'public' else r::regrole::text end, ', ') from unnest(p.polroles) r),
    case when not p.polpermissive then ' as restrictive' else '' end,
    ' using (' || pg_get_expr(p.polqual, p.polrelid) || ')', ' with check (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')',
    p.polname, 'public.' || c.relname, 'public.' || c.relname) order by p.polname), '{}')
  into v_problems
  from pg_policy p join pg_class c on c.oid = p.polrelid
  where p.polname <> v_policy
    and p.polrelid = case when v_reuse then v_logs when v_resuming then v_set_aside end;

  -- (a push that resumes a reuse finds its own table set aside and nothing else to judge)
  if not v_resuming then
    select v_problems || coalesce(array_agg(format('%s %s already exists: rename or drop it', o.kind, o.name) order by o.name), '{}')
    into v_problems
    from (
      select case c.relkind when 'r' then 'table' when 'p' then 'table' when 'v' then 'view' when 'm' then 'materialized view'
                            when 'S' then 'sequence' when 'i' then 'index' when 'I' then 'index' when 'f' then 'foreign table'
                            else 'relation' end as kind,
             'public.' || c.relname as name
      from pg_class c
      where c.relnamespace = 'public'::regnamespace
        and (c.relname like 'export\_ops\_%' or c.relname = any (v_names))
        -- a table export_logs was judged above; the indexes of one to reuse go with it
        and not (v_logs_is_table and c.oid = v_logs)
        and not (v_reuse and c.oid in (select i.indexrelid from pg_index i where i.indrelid = v_logs))
        and c.relkind <> 't'
      union all
      select 'function', format('public.%I(%s)', p.proname, pg_get_function_identity_arguments(p.oid))
      from pg_proc p
      where p.pronamespace = 'public'::regnamespace and p.proname like 'export\_ops\_%'
      union all
      select 'type', format('public.%I', t.typname)
      from pg_type t
      where t.typnamespace = 'public'::regnamespace and t.typrelid = 0 and t.typelem = 0
        and (t.typname like 'export\_ops\_%' or t.typname = any (v_names))
    ) o;

    select v_problems || coalesce(array_agg(format(
      'bucket %s is public, so every file export-ops keeps in it would be world-readable: make it private '
      '(Storage > %s > Edit bucket > Public off, or: update storage.buckets set public = false where id = %L;)',
      b.id, b.id, b.id) order by b.id), '{}')
    into v_problems
    from storage.buckets b
    where b.id in ('exports', 'export-archive') and b.public;
  end if;

  if cardinality(v_problems) > 0 then
    raise exception using
      errcode = 'P0001',
      message = E'export-ops cannot be installed:\n  - ' || array_to_string(v_problems, E'\n  - ')
                || E'\nNothing of export-ops was created: fix each one, then push again.',
      hint = 'Objects left by an earlier export-ops install go with supabase/uninstall.sql.';
  end if;

  if v_reuse then
    -- the names the schema migration gives the new table's indexes (other indexes keep theirs)
    for v_index in
      select i.indexrelid::regclass as id, c.relname
      from pg_index i join pg_class c on c.oid = i.indexrelid
      where i.indrelid = v_logs and (c.relname like 'export\_ops\_%' or c.relname = any (v_names))
    loop
      execute format('alter index %s rename to %I', v_index.id, 'export_ops_kept_' || v_index.relname);
    end loop;
    alter table public.export_logs rename to export_ops_kept_export_logs;
    raise notice 'export-ops: reusing public.export_logs kept by an earlier uninstall, with its rows';
  end if;
end
$$;
