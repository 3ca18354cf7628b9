-- export-ops: hourly rollups. Owns `export_ops_metric_hours` (one marker per hour rolled up, even an hour with
-- no exports), `export_ops_metric_rollups` (figures per hour, format and count range, with a fixed duration
-- histogram so percentiles over days or weeks need no raw rows), and the functions that write and read them.

create table public.export_ops_metric_hours (
  hour timestamptz primary key check (date_trunc('hour', hour) = hour),
  total integer not null,
  completed integer not null,
  failed integer not null,
  computed_at timestamptz not null default now()
);

create table public.export_ops_metric_rollups (
  hour timestamptz not null references public.export_ops_metric_hours (hour) on delete cascade,
  format text not null,
  count_range text not null,
  total integer not null,
  completed integer not null,
  failed integer not null,
  duration_sum_ms bigint not null,
  duration_max_ms integer not null,
  duration_histogram integer[] not null,
  file_size_count integer not null,
  file_size_sum bigint not null,
  file_size_max bigint,
  failures_by_error_type jsonb not null default '{}',
  primary key (hour, format, count_range)
);

alter table public.export_ops_metric_hours enable row level security;
alter table public.export_ops_metric_rollups enable row level security;
revoke all on table public.export_ops_metric_hours, public.export_ops_metric_rollups from public, anon, authenticated;
grant all on table public.export_ops_metric_hours, public.export_ops_metric_rollups to service_role;

-- Fixed duration-histogram bucket bounds (ms): bucket i (1-based) holds durations below bound i and at or
-- above bound i-1; the last bucket holds everything from the last bound up. Rollups keep these counts, so
-- percentiles over days or weeks are read without raw rows.
create function public.export_ops_duration_bounds()
returns integer[]
language sql
immutable
set search_path = ''
as $$ select '{100,250,500,1000,2500,5000,10000,30000,60000,120000,300000}'::integer[] $$;

-- The q-quantile of a histogram (counts per bucket of export_ops_duration_bounds()), interpolating linearly inside
-- the bucket; the open last bucket is closed by the largest duration seen.
create function public.export_ops_histogram_quantile(p_counts integer[], p_q double precision, p_max integer)
returns double precision
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_bounds integer[] := public.export_ops_duration_bounds();
  v_total bigint := 0;
  v_rank double precision;
  v_seen bigint := 0;
  v_lower double precision;
  v_upper double precision;
  v_count integer;
begin
  select coalesce(sum(c), 0) into v_total from unnest(p_counts) c;
  if v_total = 0 then return null; end if;
  v_rank := p_q * v_total;
  for i in 1 .. array_length(p_counts, 1) loop
    v_count := coalesce(p_counts[i], 0);
    if v_count > 0 and v_seen + v_count >= v_rank then
      v_lower := case when i = 1 then 0 else v_bounds[i - 1] end;
      v_upper := case when i <= array_length(v_bounds, 1) then least(v_bounds[i], greatest(p_max, v_lower)) else greatest(p_max, v_lower) end;
      return v_lower + (v_upper - v_lower) * greatest(v_rank - v_seen, 0) / v_count;
    end if;
    v_seen := v_seen + v_count;
  end loop;
  return p_max;
end
$$;
-- Rolls up the oldest completed hours that have no rollup yet (at most p_max_hours), from the hour of the oldest
-- raw metric on. The hour marker is inserted with `on conflict do nothing` and detail rows are written only for
-- markers this call inserted, so a repeated or overlapping run changes nothing. Hours with no exports get a
-- marker too: that is what tells a missed hour from a quiet one.
create function public.export_ops_rollup_metrics(p_max_hours integer, p_now timestamptz default now(), p_dry_run boolean default false)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  -- only hours that ended at least 5 minutes ago by the database clock: a metric stamped hh:59:59 whose
  -- transaction commits a moment later is still in its hour's rollup
  v_last timestamptz := date_trunc('hour', p_now - interval '5 minutes') - interval '1 hour';
  v_bounds integer[] := public.export_ops_duration_bounds();
  v_first timestamptz;
  v_hours timestamptz[];
  v_missing bigint;
  v_done jsonb;
begin
  select date_trunc('hour', min(recorded_at)) into v_first from public.export_metrics;
  if v_first is null or v_first > v_last then
    return jsonb_build_object('hours', '[]'::jsonb, 'remaining', 0);
  end if;
  select array_agg(h order by h), count(*) into v_hours, v_missing
  from (
    select h from generate_series(v_first, v_last, interval '1 hour') h
    where not exists (select 1 from public.export_ops_metric_hours r where r.hour = h)
  ) missing;
  v_hours := v_hours[1:greatest(p_max_hours, 0)];
  if p_dry_run or coalesce(array_length(v_hours, 1), 0) = 0 then
    return jsonb_build_object('hours', coalesce(to_jsonb(v_hours), '[]'::jsonb), 'remaining', v_missing, 'dry_run', p_dry_run);
  end if;

  with totals as (
    select h.hour,
           count(m.id) as total,
           count(m.id) filter (where m.status = 'completed') as completed,
           count(m.id) filter (where m.status = 'failed') as failed
    from unnest(v_hours) as h (hour)
    left join public.export_metrics m on m.recorded_at >= h.hour and m.recorded_at < h.hour + interval '1 hour'
    group by h.hour
  ), marked as (
    insert into public.export_ops_metric_hours (hour, total, completed, failed, computed_at)
    select hour, total, completed, failed, p_now from totals
    on conflict (hour) do nothing
    returning hour, total, completed, failed
  ), cells as (
    -- one pass over the hours' rows: the finest grouping (with each completed export's histogram bucket and each
    -- failure's error type); every figure of a rollup row is then read from these few cells
    select k.hour, m.format, m.count_range, m.status,
           case when m.status = 'completed' then width_bucket(m.duration_ms, v_bounds) + 1 end as bucket,
           case when m.status = 'failed' then coalesce(m.error_type, 'unknown') end as error_type,
           count(*)::integer as n, sum(m.duration_ms) as duration_sum, max(m.duration_ms) as duration_max,
           count(m.file_size_bytes)::integer as size_count, sum(m.file_size_bytes) as size_sum, max(m.file_size_bytes) as size_max
    from marked k
    join public.export_metrics m on m.recorded_at >= k.hour and m.recorded_at < k.hour + interval '1 hour'
    group by 1, 2, 3, 4, 5, 6
  ), groups as (
    select hour, format, count_range,
           sum(n)::integer as total,
           coalesce(sum(n) filter (where status = 'completed'), 0)::integer as completed,
           coalesce(sum(n) filter (where status = 'failed'), 0)::integer as failed,
           coalesce(sum(duration_sum) filter (where status = 'completed'), 0) as duration_sum_ms,
           coalesce(max(duration_max) filter (where status = 'completed'), 0) as duration_max_ms,
           coalesce(sum(size_count) filter (where status = 'completed'), 0)::integer as file_size_count,
           coalesce(sum(size_sum) filter (where status = 'completed'), 0) as file_size_sum,
           max(size_max) filter (where status = 'completed') as file_size_max,
           coalesce(jsonb_object_agg(bucket, n) filter (where status = 'completed'), '{}') as buckets,
           coalesce(jsonb_object_agg(error_type, n) filter (where status = 'failed'), '{}') as failures
    from cells
    group by 1, 2, 3
  ), detail as (
    insert into public.export_ops_metric_rollups (hour, format, count_range, total, completed, failed, duration_sum_ms,
      duration_max_ms, duration_histogram, file_size_count, file_size_sum, file_size_max, failures_by_error_type)
    select g.hour, g.format, g.count_range, g.total, g.completed, g.failed, g.duration_sum_ms, g.duration_max_ms,
           (select array_agg(coalesce((g.buckets ->> i::text)::integer, 0) order by i)
              from generate_series(1, array_length(v_bounds, 1) + 1) i),
           g.file_size_count, g.file_size_sum, g.file_size_max, g.failures
    from groups g
    returning hour, format, completed, duration_sum_ms
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'hour', k.hour, 'total_exports', k.total, 'successful_exports', k.completed, 'failed_exports', k.failed,
           'success_rate', round(k.completed::numeric / nullif(k.total, 0), 4),
           'avg_duration_by_format', coalesce((
             select jsonb_object_agg(d.format, round(d.s::numeric / d.c, 1))
             from (select format, sum(duration_sum_ms) as s, sum(completed) as c from detail
                   where detail.hour = k.hour group by format having sum(completed) > 0) d), '{}')
         ) order by k.hour), '[]')
  into v_done
  from marked k;

  return jsonb_build_object('hours', v_done, 'remaining', v_missing - jsonb_array_length(v_done));
end
$$;

-- Percentiles and totals over [p_from, p_to) from the hourly rollups alone (raw rows may be long gone).
create function public.export_ops_rollup_summary(p_from timestamptz, p_to timestamptz)
returns jsonb
language sql
stable
set search_path = ''
as $$
  with r as (
    select * from public.export_ops_metric_rollups where hour >= p_from and hour < p_to
  ), by_format as (
    select format, sum(completed) as completed, sum(duration_sum_ms) as duration_sum, max(duration_max_ms) as duration_max,
           (select array_agg(s order by i) from (
              select i, sum(h.duration_histogram[i])::integer as s
              from public.export_ops_metric_rollups h, generate_series(1, array_length(public.export_ops_duration_bounds(), 1) + 1) i
              where h.hour >= p_from and h.hour < p_to and h.format = r.format
              group by i) x) as histogram
    from r group by format
  )
  select jsonb_build_object(
    'from', p_from,
    'to', p_to,
    'hours', (select count(*) from public.export_ops_metric_hours where hour >= p_from and hour < p_to),
    'total_exports', (select coalesce(sum(total), 0) from public.export_ops_metric_hours where hour >= p_from and hour < p_to),
    'failed_exports', (select coalesce(sum(failed), 0) from public.export_ops_metric_hours where hour >= p_from and hour < p_to),
    'duration_by_format', coalesce((
      select jsonb_object_agg(format, jsonb_build_object(
        'count', completed,
        'avg_ms', round(duration_sum::numeric / nullif(completed, 0), 1),
        'p50_ms', round(public.export_ops_histogram_quantile(histogram, 0.5, duration_max)::numeric, 1),
        'p95_ms', round(public.export_ops_histogram_quantile(histogram, 0.95, duration_max)::numeric, 1)))
      from by_format where completed > 0), '{}')
  )
$$;
revoke all on function public.export_ops_duration_bounds, public.export_ops_histogram_quantile,
  public.export_ops_rollup_metrics, public.export_ops_rollup_summary from public, anon, authenticated;
grant execute on function public.export_ops_duration_bounds, public.export_ops_histogram_quantile,
  public.export_ops_rollup_metrics, public.export_ops_rollup_summary to service_role;
