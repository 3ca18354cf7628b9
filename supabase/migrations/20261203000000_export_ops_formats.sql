-- export-ops: export formats are the host's. Owns `export_ops_formats` (each format an export may have, and the
-- file extensions its files may carry), the function that reads it, and the foreign keys that replace the fixed
-- format checks of export_logs and export_metrics. The four formats export-ops started with are its seed; a host
-- adds its own with one insert, in a migration of its own, for example:
--
--   insert into public.export_ops_formats (format, extensions) values ('pdf', '{pdf}'), ('xlsx', '{xlsx}'), ('zip', '{zip}');
--
-- Every check of a format or an extension reads this table: the rows the host app writes (the foreign keys), the
-- metric it records, the path checks of the file cleanup, its orphan sweep and erasure.

create table public.export_ops_formats (
  format text primary key check (format ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
  -- lower case, the first one the canonical extension of the format's files
  extensions text[] not null check (cardinality(extensions) between 1 and 8 and array_to_string(extensions, '/') ~ '^[a-z0-9]{1,16}(/[a-z0-9]{1,16})*$')
);
comment on table public.export_ops_formats is 'Export formats and their file extensions (the first is canonical); add yours with an insert.';
insert into public.export_ops_formats (format, extensions) values
  ('json', '{json}'), ('jsonl', '{jsonl}'), ('csv', '{csv}'), ('markdown', '{md,markdown}');

alter table public.export_ops_formats enable row level security;
revoke all on table public.export_ops_formats from public, anon, authenticated;
grant select on table public.export_ops_formats to service_role;

alter table public.export_logs
  drop constraint if exists export_logs_format_check,
  add constraint export_ops_logs_format_fkey foreign key (format) references public.export_ops_formats (format);
alter table public.export_metrics
  drop constraint if exists export_metrics_format_check,
  add constraint export_ops_metrics_format_fkey foreign key (format) references public.export_ops_formats (format);

-- Every format and its extensions: {format: [extension, ...]}.
create function public.export_ops_formats()
returns jsonb
language sql
stable
set search_path = ''
as $$
  select coalesce(jsonb_object_agg(f.format, to_jsonb(f.extensions)), '{}'::jsonb) from public.export_ops_formats f
$$;

-- As before, with a clear refusal of a format the table does not list (the foreign key would refuse it anyway,
-- with a message naming only the constraint).
create or replace function public.export_ops_record_metric(
  p_export_id uuid,
  p_user_id uuid,
  p_format text,
  p_status text,
  p_conversation_count integer,
  p_count_range text,
  p_duration_ms integer,
  p_file_size_bytes bigint default null,
  p_error_type text default null,
  p_error_message text default null
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_id bigint;
  v_recorded_at timestamptz;
begin
  if not exists (select 1 from public.export_ops_formats f where f.format = p_format) then
    raise exception 'unknown export format %: add it with its file extensions, e.g. insert into public.export_ops_formats (format, extensions) values (%, ''{%}'')',
      quote_literal(p_format), quote_literal(p_format), p_format
      using errcode = 'P0001', hint = 'export_ops_formats lists the formats export-ops knows';
  end if;
  insert into public.export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms,
                                     file_size_bytes, error_type, error_message)
  values (p_export_id, p_user_id, p_format, p_status, p_conversation_count, p_count_range, p_duration_ms,
          p_file_size_bytes, p_error_type, p_error_message)
  on conflict on constraint export_metrics_once_per_status do nothing
  returning id, recorded_at into v_id, v_recorded_at;
  if v_id is null then
    select recorded_at into v_recorded_at from public.export_metrics where export_id = p_export_id and status = p_status;
  end if;
  return jsonb_build_object('inserted', v_id is not null, 'recorded_at', v_recorded_at);
end
$$;

revoke all on function public.export_ops_formats from public, anon, authenticated;
grant execute on function public.export_ops_formats to service_role;
