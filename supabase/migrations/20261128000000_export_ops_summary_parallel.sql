-- export-ops: the raw metrics summary's first pass runs in parallel. Its hour was `date_trunc('hour', recorded_at)`,
-- which the planner can only judge by `recorded_at` (all distinct): it expected a million groups for a million
-- rows, so it never split the aggregation across workers. The hour is now `date_bin('1 hour', ...)` (immutable,
-- so Postgres can keep statistics on it), and a statistics object on that hour with the other grouping columns
-- tells the planner a day holds a few hundred groups: a 1M-row day's first pass went from ~850 to ~510 ms here.
-- The second pass (the rows of the keys holding the wanted ranks) joined the table to those keys' duration
-- ranges, and with a one-row estimate for the keys the planner scanned the day once per key (4 scans, ~600 ms);
-- it now scans once, keeping the rows whose duration falls in any of the ranges (a multirange).
-- The result is the same: hours are whole UTC hours, as `date_trunc` gives them in Supabase's UTC sessions (only
-- a session in a zone with a half-hour offset saw other hours before; the days were UTC days already).

create statistics if not exists public.export_ops_metrics_summary_groups (ndistinct)
  on (date_bin('1 hour', recorded_at, timestamptz '2000-01-01 00:00:00+00')), format, count_range, status, error_type
  from public.export_metrics;
analyze public.export_metrics;

create or replace function public.export_ops_metrics_summary(p_from timestamptz, p_to timestamptz, p_top_users integer default 10)
returns jsonb
language plpgsql
stable
set search_path = ''
set plan_cache_mode = force_custom_plan
as $$
begin
  return (with c as materialized (
    -- one pass: the figures per hour, format, count range, status and error type (parallel: see the statistics)
    select date_bin('1 hour', recorded_at, timestamptz '2000-01-01 00:00:00+00') as hour, format, count_range, status, error_type,
           count(*) as n, sum(duration_ms) as dur_sum,
           count(file_size_bytes) as size_n, sum(file_size_bytes) as size_sum, max(file_size_bytes) as size_max
    from public.export_metrics
    where recorded_at >= p_from and recorded_at < p_to
    group by 1, 2, 3, 4, 5
  ), ok as (
    select * from c where status = 'completed'
  ), keys as materialized (
    -- a second: completed exports' durations counted per format, count range and duration key (a key holds one
    -- millisecond below 1 s, then 10 ms steps below 10 s, 100 ms steps below 100 s, 1 s steps above)
    select format, count_range, case when duration_ms < 1000 then duration_ms
                                     when duration_ms < 10000 then 1000 + (duration_ms - 1000) / 10
                                     when duration_ms < 100000 then 1900 + (duration_ms - 10000) / 100
                                     else 2800 + (duration_ms - 100000) / 1000 end as dkey,
           count(*) as n, min(duration_ms) as dur_min, max(duration_ms) as dur_max
    from public.export_metrics
    where recorded_at >= p_from and recorded_at < p_to and status = 'completed'
    group by 1, 2, 3
  ), groups as (
    -- each percentile group's keys with the rows before each key (0-based rank of its first row)
    select kind, grp, dkey, sum(n) as n, min(dur_min) as dur_min, max(dur_max) as dur_max,
           sum(sum(n)) over (partition by kind, grp order by dkey) - sum(n) as before,
           sum(sum(n)) over (partition by kind, grp) as total
    from keys, lateral (values ('format', keys.format), ('count_range', keys.count_range)) g (kind, grp)
    group by kind, grp, dkey
  ), ranks as (
    -- percentile_cont(q): the rows at 0-based ranks floor(q (n - 1)) and floor + 1, interpolated
    select distinct kind, grp, q, total, floor(q * (total - 1))::bigint as lo from groups, unnest(array[0.5, 0.95]::float8[]) q
  ), wanted as (
    select r.kind, r.grp, r.q, r.total, r.lo, x.rank, g.dkey, g.before, g.dur_min, g.dur_max
    from ranks r cross join lateral (values (r.lo), (least(r.lo + 1, r.total - 1))) x (rank)
    join groups g on g.kind = r.kind and g.grp = r.grp and x.rank >= g.before and x.rank < g.before + g.n
  ), spans as materialized (
    -- the durations of each key that holds a wanted rank and more than one duration
    select dkey, min(dur_min) as lo, max(dur_max) as hi from wanted where dur_min < dur_max group by dkey
  ), fetched as materialized (
    -- a second pass reads only the rows in those keys, in one scan
    select m.format, m.count_range, m.duration_ms
    from public.export_metrics m
    where m.recorded_at >= p_from and m.recorded_at < p_to and m.status = 'completed'
      and m.duration_ms <@ (select range_agg(int4range(lo, hi, '[]')) from spans)
  ), ranked as materialized (
    select g.kind, g.grp, s.dkey, f.duration_ms, row_number() over (partition by g.kind, g.grp, s.dkey order by f.duration_ms) - 1 as i
    from fetched f join spans s on f.duration_ms between s.lo and s.hi,
         lateral (values ('format', f.format), ('count_range', f.count_range)) g (kind, grp)
  ), valued as (
    select w.kind, w.grp, w.q, w.total, w.lo, w.rank,
           coalesce(r.duration_ms, w.dur_min)::float8 as v
    from wanted w
    left join ranked r on w.dur_min < w.dur_max and r.kind = w.kind and r.grp = w.grp and r.dkey = w.dkey and r.i = w.rank - w.before
  ), pct as (
    select kind, grp, q,
           max(v) filter (where rank = lo) + (max(v) filter (where rank = least(lo + 1, total - 1)) - max(v) filter (where rank = lo)) * (q * (total - 1) - lo) as p
    from valued group by kind, grp, q, total, lo
  ), pcts as (
    select kind, grp, max(p) filter (where q = 0.5) as p50, max(p) filter (where q = 0.95) as p95 from pct group by kind, grp
  )
  select jsonb_build_object(
    'from', p_from,
    'to', p_to,
    'total_exports', (select coalesce(sum(n), 0) from c),
    'successful_exports', (select coalesce(sum(n), 0) from ok),
    'failed_exports', (select coalesce(sum(n), 0) from c where status = 'failed'),
    'success_rate', (select round(coalesce(sum(n) filter (where status = 'completed'), 0)::numeric / nullif(sum(n), 0), 4) from c),
    'duration_by_format', coalesce((
      select jsonb_object_agg(d.format, jsonb_build_object('count', d.n, 'avg_ms', round(d.s::numeric / d.n, 1), 'p50_ms', p.p50, 'p95_ms', p.p95))
      from (select format, sum(n) as n, sum(dur_sum) as s from ok group by format) d
      join pcts p on p.kind = 'format' and p.grp = d.format), '{}'),
    'duration_by_count_range', coalesce((
      select jsonb_object_agg(d.count_range, jsonb_build_object('count', d.n, 'avg_ms', round(d.s::numeric / d.n, 1), 'p50_ms', p.p50, 'p95_ms', p.p95))
      from (select count_range, sum(n) as n, sum(dur_sum) as s from ok group by count_range) d
      join pcts p on p.kind = 'count_range' and p.grp = d.count_range), '{}'),
    'file_size_by_format', coalesce((
      select jsonb_object_agg(format, jsonb_build_object('avg_bytes', round(s::numeric / sn, 1), 'max_bytes', mx))
      from (select format, sum(size_n) as sn, sum(size_sum) as s, max(size_max) as mx from ok group by format having sum(size_n) > 0) f), '{}'),
    'volume_by_hour', coalesce((
      select jsonb_agg(jsonb_build_object('hour', hour, 'total', t, 'failed', f) order by hour)
      from (select hour, sum(n) as t, coalesce(sum(n) filter (where status = 'failed'), 0) as f from c group by hour) v), '[]'),
    'volume_by_day', coalesce((
      select jsonb_agg(jsonb_build_object('day', d, 'total', t, 'failed', f) order by d)
      from (select (hour at time zone 'UTC')::date as d, sum(n) as t, coalesce(sum(n) filter (where status = 'failed'), 0) as f from c group by 1) v), '[]'),
    'format_distribution', coalesce((
      select jsonb_object_agg(format, jsonb_build_object('count', t, 'share', share))
      from (select format, sum(n) as t, round(sum(n)::numeric / sum(sum(n)) over (), 4) as share from c group by format) fd), '{}'),
    'top_users', coalesce((
      select jsonb_agg(jsonb_build_object('user_id', user_id, 'exports', n) order by n desc, user_id)
      from (select user_id, count(*) as n from public.export_metrics where recorded_at >= p_from and recorded_at < p_to
            group by user_id order by n desc, user_id limit greatest(p_top_users, 0)) u), '[]'),
    'failures_by_error_type', coalesce((
      select jsonb_object_agg(coalesce(error_type, 'unknown'), t)
      from (select error_type, sum(n) as t from c where status = 'failed' group by error_type) e), '{}')
  ));
end
$$;
