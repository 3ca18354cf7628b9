-- export-ops: metrics recording and reading. Owns the functions that record one metric per export (the host
-- app calls them through ExportMetricsService) and that summarise raw metrics for any period. The table
-- itself, `export_metrics`, is in the schema migration.

-- Records one export's metric. Idempotent per (export, status): a retried call stores nothing new and says so.
create function public.export_ops_record_metric(
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

-- Everything a dashboard wants about [p_from, p_to), computed from the raw metrics in one statement.
-- Durations are of completed exports (a failure's duration is time to failure, a different thing).
create function public.export_ops_metrics_summary(p_from timestamptz, p_to timestamptz, p_top_users integer default 10)
returns jsonb
language sql
stable
set search_path = ''
as $$
  with m as (
    select * from public.export_metrics where recorded_at >= p_from and recorded_at < p_to
  ), ok as (
    select * from m where status = 'completed'
  )
  select jsonb_build_object(
    'from', p_from,
    'to', p_to,
    'total_exports', (select count(*) from m),
    'successful_exports', (select count(*) from ok),
    'failed_exports', (select count(*) from m where status = 'failed'),
    'success_rate', (select round(count(*) filter (where status = 'completed')::numeric / nullif(count(*), 0), 4) from m),
    'duration_by_format', coalesce((
      select jsonb_object_agg(format, jsonb_build_object(
        'count', n, 'avg_ms', avg_ms, 'p50_ms', p50, 'p95_ms', p95))
      from (select format, count(*) as n, round(avg(duration_ms), 1) as avg_ms,
                   percentile_cont(0.5) within group (order by duration_ms) as p50,
                   percentile_cont(0.95) within group (order by duration_ms) as p95
            from ok group by format) d), '{}'),
    'duration_by_count_range', coalesce((
      select jsonb_object_agg(count_range, jsonb_build_object(
        'count', n, 'avg_ms', avg_ms, 'p50_ms', p50, 'p95_ms', p95))
      from (select count_range, count(*) as n, round(avg(duration_ms), 1) as avg_ms,
                   percentile_cont(0.5) within group (order by duration_ms) as p50,
                   percentile_cont(0.95) within group (order by duration_ms) as p95
            from ok group by count_range) d), '{}'),
    'file_size_by_format', coalesce((
      select jsonb_object_agg(format, jsonb_build_object('avg_bytes', avg_bytes, 'max_bytes', max_bytes))
      from (select format, round(avg(file_size_bytes), 1) as avg_bytes, max(file_size_bytes) as max_bytes
            from ok where file_size_bytes is not null group by format) f), '{}'),
    'volume_by_hour', coalesce((
      select jsonb_agg(jsonb_build_object('hour', h, 'total', n, 'failed', f) order by h)
      from (select date_trunc('hour', recorded_at) as h, count(*) as n, count(*) filter (where status = 'failed') as f
            from m group by 1) v), '[]'),
    'volume_by_day', coalesce((
      select jsonb_agg(jsonb_build_object('day', d, 'total', n, 'failed', f) order by d)
      from (select (recorded_at at time zone 'UTC')::date as d, count(*) as n, count(*) filter (where status = 'failed') as f
            from m group by 1) v), '[]'),
    'format_distribution', coalesce((
      select jsonb_object_agg(format, jsonb_build_object('count', n, 'share', share))
      from (select format, count(*) as n, round(count(*)::numeric / sum(count(*)) over (), 4) as share
            from m group by format) fd), '{}'),
    'top_users', coalesce((
      select jsonb_agg(jsonb_build_object('user_id', user_id, 'exports', n) order by n desc, user_id)
      from (select user_id, count(*) as n from m group by user_id order by n desc, user_id limit greatest(p_top_users, 0)) u), '[]'),
    'failures_by_error_type', coalesce((
      select jsonb_object_agg(coalesce(error_type, 'unknown'), n)
      from (select error_type, count(*) as n from m where status = 'failed' group by error_type) e), '{}')
  )
$$;

-- Volume over the last p_days days (today included), with every day present.
create function public.export_ops_volume_stats(p_days integer, p_now timestamptz default now())
returns jsonb
language sql
stable
set search_path = ''
as $$
  with days as (
    select generate_series((p_now at time zone 'UTC')::date - (p_days - 1), (p_now at time zone 'UTC')::date, interval '1 day')::date as day
  ), counts as (
    select (recorded_at at time zone 'UTC')::date as day, count(*) as n
    from public.export_metrics
    where recorded_at >= ((p_now at time zone 'UTC')::date - (p_days - 1))::timestamp at time zone 'UTC'
      and recorded_at <= p_now
    group by 1
  )
  select jsonb_build_object(
    'days', p_days,
    'total', coalesce(sum(c.n), 0),
    'avg_per_day', round(coalesce(sum(c.n), 0)::numeric / p_days, 2),
    'per_day', jsonb_agg(jsonb_build_object('day', d.day, 'exports', coalesce(c.n, 0)) order by d.day)
  )
  from days d left join counts c using (day)
$$;
revoke all on function public.export_ops_record_metric, public.export_ops_metrics_summary,
  public.export_ops_volume_stats from public, anon, authenticated;
grant execute on function public.export_ops_record_metric, public.export_ops_metrics_summary,
  public.export_ops_volume_stats to service_role;
