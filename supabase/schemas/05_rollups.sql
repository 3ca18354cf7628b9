-- export-ops, current definition. Hourly rollups of the metrics and the summaries read from them (failure rate, silence, volume,
-- durations).
-- Checked against the migrations by test/schemas.integration.test.ts (see docs/DEVELOPMENT.md).

CREATE TABLE public.export_ops_metric_hours (
    hour timestamp with time zone NOT NULL,
    total integer NOT NULL,
    completed integer NOT NULL,
    failed integer NOT NULL,
    computed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT export_ops_metric_hours_hour_check CHECK ((date_trunc('hour'::text, hour) = hour))
);

CREATE TABLE public.export_ops_metric_rollups (
    hour timestamp with time zone NOT NULL,
    format text NOT NULL,
    count_range text NOT NULL,
    total integer NOT NULL,
    completed integer NOT NULL,
    failed integer NOT NULL,
    duration_sum_ms bigint NOT NULL,
    duration_max_ms integer NOT NULL,
    duration_histogram integer[] NOT NULL,
    file_size_count integer NOT NULL,
    file_size_sum bigint NOT NULL,
    file_size_max bigint,
    failures_by_error_type jsonb DEFAULT '{}'::jsonb NOT NULL
);

ALTER TABLE ONLY public.export_ops_metric_hours
    ADD CONSTRAINT export_ops_metric_hours_pkey PRIMARY KEY (hour);

ALTER TABLE ONLY public.export_ops_metric_rollups
    ADD CONSTRAINT export_ops_metric_rollups_pkey PRIMARY KEY (hour, format, count_range);

ALTER TABLE ONLY public.export_ops_metric_rollups
    ADD CONSTRAINT export_ops_metric_rollups_hour_fkey FOREIGN KEY (hour) REFERENCES public.export_ops_metric_hours(hour) ON DELETE CASCADE;

ALTER TABLE public.export_ops_metric_hours ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.export_ops_metric_rollups ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION public.export_ops_duration_bounds() RETURNS integer[]
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$ select '{100,250,500,1000,2500,5000,10000,30000,60000,120000,300000}'::integer[] $$;

CREATE FUNCTION public.export_ops_export_silence(p_hours integer, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select public.export_ops_setting('EXPORT_SILENCE_ALERT_HOURS', 'p_hours', p_hours);
  select jsonb_build_object(
    'recent', (select count(*) from public.export_metrics m
               where m.recorded_at >= p_now - make_interval(hours => p_hours) and m.recorded_at < p_now),
    'busy_days', (select count(*) from generate_series(1, 7) d
                  where exists (select 1 from public.export_metrics m
                                where m.recorded_at >= p_now - make_interval(days => d, hours => p_hours)
                                  and m.recorded_at < p_now - make_interval(days => d))),
    'last_export_at', (select max(m.recorded_at) from public.export_metrics m),
    'window_start', p_now - make_interval(hours => p_hours),
    'window_end', p_now)
$$;

CREATE FUNCTION public.export_ops_failure_counts(p_minutes integer, p_alert text DEFAULT NULL::text, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  with w as (
    select greatest(least(p_now - make_interval(mins => p_minutes),
                          coalesce((select a.evaluated_at from public.export_ops_alerts a where a.alert = p_alert), p_now)),
                    p_now - interval '7 days') as since
  )
  select jsonb_build_object('total', count(m.id), 'failed', count(m.id) filter (where m.status = 'failed'),
                            'window_start', w.since, 'window_end', p_now)
  from w left join public.export_metrics m on m.recorded_at >= w.since and m.recorded_at < p_now
  group by w.since
$$;

CREATE FUNCTION public.export_ops_histogram_quantile(p_counts integer[], p_q double precision, p_max integer) RETURNS double precision
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION public.export_ops_metrics_summary(p_from timestamp with time zone, p_to timestamp with time zone, p_top_users integer DEFAULT 10) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
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

CREATE FUNCTION public.export_ops_rollup_metrics(p_max_hours integer, p_now timestamp with time zone DEFAULT now(), p_dry_run boolean DEFAULT false) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION public.export_ops_rollup_summary(p_from timestamp with time zone, p_to timestamp with time zone) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION public.export_ops_volume_stats(p_days integer, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
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


SET default_tablespace = '';

SET default_table_access_method = heap;

REVOKE ALL ON FUNCTION public.export_ops_duration_bounds() FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_duration_bounds() TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_export_silence(p_hours integer, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_export_silence(p_hours integer, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_failure_counts(p_minutes integer, p_alert text, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_failure_counts(p_minutes integer, p_alert text, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_histogram_quantile(p_counts integer[], p_q double precision, p_max integer) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_histogram_quantile(p_counts integer[], p_q double precision, p_max integer) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_metrics_summary(p_from timestamp with time zone, p_to timestamp with time zone, p_top_users integer) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_metrics_summary(p_from timestamp with time zone, p_to timestamp with time zone, p_top_users integer) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_rollup_metrics(p_max_hours integer, p_now timestamp with time zone, p_dry_run boolean) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_rollup_metrics(p_max_hours integer, p_now timestamp with time zone, p_dry_run boolean) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_rollup_summary(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_rollup_summary(p_from timestamp with time zone, p_to timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.export_ops_volume_stats(p_days integer, p_now timestamp with time zone) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_volume_stats(p_days integer, p_now timestamp with time zone) TO service_role;

REVOKE ALL ON TABLE public.export_ops_metric_hours FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_metric_hours TO service_role;

REVOKE ALL ON TABLE public.export_ops_metric_rollups FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_metric_rollups TO service_role;
