-- export-ops: an archive batch is handed out as its archive text, not as rows. The database writes each log's JSON
-- once and the job compresses that text as it comes: it no longer parses thousands of rows into objects only to
-- write them out again, and holds a batch as its compressed object (0.3 MB for 5,000 rows) instead of its rows.
--
-- PostgREST sends a function's text as it is, unescaped, when the function returns a media type domain and the
-- request asks for that media type (PostgREST 12 media type handlers). The domain's name is the media type, under
-- export-ops' own vendor tree.
--
-- A log changed between its batch's claim and this read is now left out of the archive as well as the delete
-- (export_ops_claim_log_batch's own comment, from the previous migration, still describes the rows function).

create domain public."application/vnd.export-ops.jsonl" as text;
comment on domain public."application/vnd.export-ops.jsonl" is
  'export-ops: JSON Lines text of an archive batch, sent unescaped by PostgREST to a request that accepts it';

-- A claimed batch's archive text: one JSON object per log and line, oldest first, each log only as the version the
-- batch read (a log changed since is neither in the archive nor deleted with the batch, and is archived later as it
-- is then). Empty for a batch that is not claimed.
create function public.export_ops_archive_batch_text(p_batch text)
returns public."application/vnd.export-ops.jsonl"
language sql
stable
set search_path = ''
-- the batch's rows sorted in memory (about 2.3 MB for 5,000, 9 MB for the largest batch_size)
set work_mem = '32MB'
as $$
  -- one primary-key probe per id (an index scan in created_at order, filtering by the id list, reads far more);
  -- sorted before the JSON is written (an aggregate's own ORDER BY sorts the written text, half again slower)
  select coalesce(string_agg(row_to_json(x)::text, E'\n') || E'\n', '')
  from (
    select l.export_id, l.user_id, l.format, l.status, l.conversation_count, l.file_path, l.file_size_bytes,
           l.error_type, l.error_message, l.created_at, l.completed_at, l.expired_at
    from public.export_ops_archive_batches b
    cross join lateral unnest(b.export_ids, b.versions) as i (export_id, version)
    join public.export_logs l on l.export_id = i.export_id and l.xmin = i.version
    where b.batch = p_batch
    order by l.created_at, l.export_id
  ) x
$$;

drop function public.export_ops_archive_batch_rows(text);

revoke all on function public.export_ops_archive_batch_text from public, anon, authenticated;
grant execute on function public.export_ops_archive_batch_text to service_role;
