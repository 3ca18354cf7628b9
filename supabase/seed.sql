-- Demo data: ~40 days of export history for 25 users across all formats, with failures, the way a busy
-- export feature looks. Deterministic (setseed). Exports older than 3 days were already cleaned up
-- (`expired`); newer completed ones still point at files (the demo uploads them to Storage), and those older
-- than 24 h are what the daily file cleanup will delete. One metric row per finished or failed export.
select setseed(0.42);

with users as (
  select ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid as user_id, n
  from generate_series(1, 25) n
), exports as (
  select
    gen_random_uuid() as export_id,
    u.user_id,
    (array['json', 'jsonl', 'jsonl', 'csv', 'markdown'])[1 + floor(random() * 5)::int] as format,
    now() - make_interval(mins => floor(random() * 40 * 24 * 60)::int) as created_at,
    -- a few heavy users, many light ones
    case when random() < 0.6 then floor(random() * 40)::int + 1
         when random() < 0.85 then floor(random() * 400)::int + 50
         else floor(random() * 3000)::int + 500 end as conversation_count,
    random() < 0.07 + (u.n % 5 = 0)::int * 0.05 as failed
  from users u
  cross join lateral generate_series(1, 60 + (u.n * 7) % 90) g
  where g > 0
)
insert into public.export_logs (export_id, user_id, format, status, conversation_count, file_path, file_size_bytes,
                                error_type, error_message, created_at, completed_at, expired_at)
select
  e.export_id, e.user_id, e.format,
  case when e.failed then 'failed'
       when e.created_at < now() - interval '3 days' then 'expired'
       else 'completed' end,
  e.conversation_count,
  case when e.failed then null
       else e.user_id || '/' || e.export_id || '.' ||
            (case e.format when 'markdown' then 'md' else e.format end) end,
  case when e.failed then null else e.conversation_count * (800 + floor(random() * 1600)::int) end,
  case when e.failed then (array['DatabaseError', 'TimeoutError', 'StorageError', 'ValidationError'])[1 + floor(random() * 4)::int] end,
  case when e.failed then 'export failed while writing the file' end,
  e.created_at,
  e.created_at + make_interval(secs => 1 + e.conversation_count / 50.0),
  case when not e.failed and e.created_at < now() - interval '3 days'
       then e.created_at + interval '1 day' + interval '2 hours' end
from exports e;

insert into public.export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms,
                                   file_size_bytes, error_type, error_message, recorded_at)
select
  l.export_id, l.user_id, l.format,
  case when l.status = 'failed' then 'failed' else 'completed' end,
  l.conversation_count,
  case when l.conversation_count < 100 then 'small' when l.conversation_count < 1000 then 'medium' else 'large' end,
  (200 + l.conversation_count * (3 + random() * 4) * (case l.format when 'csv' then 0.8 when 'markdown' then 1.3 else 1 end))::int,
  l.file_size_bytes, l.error_type, l.error_message, l.completed_at
from public.export_logs l;
