-- SQL API of the export metrics: record one metric per export (idempotent), summarise any period in one call,
-- roll completed hours up (catching up missed ones, exactly once even when runs overlap), and keep the
-- failure-rate alert as a state machine with the notification still owed.

-- Fixed duration-histogram bucket bounds (ms): bucket i (1-based) holds durations below bound i and at or
-- above bound i-1; the last bucket holds everything from the last bound up. Rollups keep these counts, so
-- percentiles over days or weeks are read without raw rows.
create function public.export_duration_bounds()
returns integer[]
language sql
immutable
set search_path = ''
as $$ select '{100,250,500,1000,2500,5000,10000,30000,60000,120000,300000}'::integer[] $$;

-- The q-quantile of a histogram (counts per bucket of export_duration_bounds()), interpolating linearly inside
-- the bucket; the open last bucket is closed by the largest duration seen.
create function public.histogram_quantile(p_counts integer[], p_q double precision, p_max integer)
returns double precision
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_bounds integer[] := public.export_duration_bounds();
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

-- Records one export's metric. Idempotent per (export, status): a retried call stores nothing new and says so.
create function public.record_export_metric(
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
create function public.export_metrics_summary(p_from timestamptz, p_to timestamptz, p_top_users integer default 10)
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

-- Failure counts over a window, for the alert.
create function public.export_failure_counts(p_from timestamptz, p_to timestamptz)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object('total', count(*), 'failed', count(*) filter (where status = 'failed'))
  from public.export_metrics where recorded_at >= p_from and recorded_at < p_to
$$;

-- Volume over the last p_days days (today included), with every day present.
create function public.export_volume_stats(p_days integer, p_now timestamptz default now())
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

-- Rolls up the oldest completed hours that have no rollup yet (at most p_max_hours), from the hour of the oldest
-- raw metric on. The hour marker is inserted with `on conflict do nothing` and detail rows are written only for
-- markers this call inserted, so a repeated or overlapping run changes nothing. Hours with no exports get a
-- marker too: that is what tells a missed hour from a quiet one.
create function public.rollup_export_metrics(p_max_hours integer, p_now timestamptz default now(), p_dry_run boolean default false)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_last timestamptz := date_trunc('hour', p_now) - interval '1 hour';
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
    where not exists (select 1 from public.export_metrics_hours r where r.hour = h)
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
    insert into public.export_metrics_hours (hour, total, completed, failed, computed_at)
    select hour, total, completed, failed, p_now from totals
    on conflict (hour) do nothing
    returning hour, total, completed, failed
  ), detail as (
    insert into public.export_metrics_hourly (hour, format, count_range, total, completed, failed, duration_sum_ms,
      duration_max_ms, duration_histogram, file_size_count, file_size_sum, file_size_max, failures_by_error_type)
    select g.hour, g.format, g.count_range, g.total, g.completed, g.failed, g.duration_sum_ms, g.duration_max_ms,
           (select array_agg(coalesce(b.n, 0) order by i)
              from generate_series(1, array_length(public.export_duration_bounds(), 1) + 1) i
              left join (
                select width_bucket(m2.duration_ms, public.export_duration_bounds()) + 1 as bucket, count(*)::integer as n
                from public.export_metrics m2
                where m2.recorded_at >= g.hour and m2.recorded_at < g.hour + interval '1 hour'
                  and m2.format = g.format and m2.count_range = g.count_range and m2.status = 'completed'
                group by 1
              ) b on b.bucket = i),
           g.file_size_count, g.file_size_sum, g.file_size_max,
           (select coalesce(jsonb_object_agg(e.error_type, e.n), '{}')
              from (
                select coalesce(m3.error_type, 'unknown') as error_type, count(*) as n
                from public.export_metrics m3
                where m3.recorded_at >= g.hour and m3.recorded_at < g.hour + interval '1 hour'
                  and m3.format = g.format and m3.count_range = g.count_range and m3.status = 'failed'
                group by 1
              ) e)
    from (
      select k.hour, m.format, m.count_range,
             count(*)::integer as total,
             count(*) filter (where m.status = 'completed')::integer as completed,
             count(*) filter (where m.status = 'failed')::integer as failed,
             coalesce(sum(m.duration_ms) filter (where m.status = 'completed'), 0) as duration_sum_ms,
             coalesce(max(m.duration_ms) filter (where m.status = 'completed'), 0) as duration_max_ms,
             count(m.file_size_bytes) filter (where m.status = 'completed')::integer as file_size_count,
             coalesce(sum(m.file_size_bytes) filter (where m.status = 'completed'), 0) as file_size_sum,
             max(m.file_size_bytes) filter (where m.status = 'completed') as file_size_max
      from marked k
      join public.export_metrics m on m.recorded_at >= k.hour and m.recorded_at < k.hour + interval '1 hour'
      group by k.hour, m.format, m.count_range
    ) g
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
create function public.export_rollup_summary(p_from timestamptz, p_to timestamptz)
returns jsonb
language sql
stable
set search_path = ''
as $$
  with r as (
    select * from public.export_metrics_hourly where hour >= p_from and hour < p_to
  ), by_format as (
    select format, sum(completed) as completed, sum(duration_sum_ms) as duration_sum, max(duration_max_ms) as duration_max,
           (select array_agg(s order by i) from (
              select i, sum(h.duration_histogram[i])::integer as s
              from public.export_metrics_hourly h, generate_series(1, array_length(public.export_duration_bounds(), 1) + 1) i
              where h.hour >= p_from and h.hour < p_to and h.format = r.format
              group by i) x) as histogram
    from r group by format
  )
  select jsonb_build_object(
    'from', p_from,
    'to', p_to,
    'hours', (select count(*) from public.export_metrics_hours where hour >= p_from and hour < p_to),
    'total_exports', (select coalesce(sum(total), 0) from public.export_metrics_hours where hour >= p_from and hour < p_to),
    'failed_exports', (select coalesce(sum(failed), 0) from public.export_metrics_hours where hour >= p_from and hour < p_to),
    'duration_by_format', coalesce((
      select jsonb_object_agg(format, jsonb_build_object(
        'count', completed,
        'avg_ms', round(duration_sum::numeric / nullif(completed, 0), 1),
        'p50_ms', round(public.histogram_quantile(histogram, 0.5, duration_max)::numeric, 1),
        'p95_ms', round(public.histogram_quantile(histogram, 0.95, duration_max)::numeric, 1)))
      from by_format where completed > 0), '{}')
  )
$$;

-- The failure-rate alert as a state machine. p_firing: true/false from the latest evaluation, null when there
-- were too few exports to judge (the state is then kept). Returns the transition (`fired`, `resolved` or null);
-- rows are locked, so overlapping runs see one transition between them.
alter table public.alert_state add column notify_claimed_until timestamptz;

create function public.evaluate_alert(p_alert text, p_firing boolean, p_payload jsonb, p_now timestamptz default now())
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_previous text;
  v_state text;
begin
  insert into public.alert_state (alert, state, changed_at, notified_state) values (p_alert, 'ok', p_now, 'ok')
  on conflict (alert) do nothing;
  select state into v_previous from public.alert_state where alert = p_alert for update;
  v_state := case when p_firing is null then v_previous when p_firing then 'firing' else 'ok' end;
  update public.alert_state
  set state = v_state,
      evaluated_at = p_now,
      changed_at = case when v_state <> v_previous then p_now else changed_at end,
      last_payload = case when v_state <> v_previous then p_payload else last_payload end
  where alert = p_alert;
  return jsonb_build_object(
    'previous', v_previous,
    'state', v_state,
    'transition', case when v_state = v_previous then null when v_state = 'firing' then 'fired' else 'resolved' end);
end
$$;

-- Takes the notification still owed for an alert (its state differs from the last one notified), leasing it so
-- an overlapping run does not send it too. Returns null when nothing is owed or another run holds it.
create function public.claim_alert_notification(p_alert text, p_lease_seconds integer default 60, p_now timestamptz default now())
returns jsonb
language sql
set search_path = ''
as $$
  update public.alert_state
  set notify_claimed_until = p_now + make_interval(secs => p_lease_seconds)
  where alert = p_alert
    and notified_state is distinct from state
    and (notify_claimed_until is null or notify_claimed_until < p_now)
  returning jsonb_build_object('state', state, 'changed_at', changed_at, 'payload', last_payload, 'attempts', notify_attempts)
$$;

-- Records the outcome of a notification: sent (p_error null) or failed (retried by the next run).
create function public.finish_alert_notification(p_alert text, p_state text, p_error text default null)
returns void
language sql
set search_path = ''
as $$
  update public.alert_state
  set notified_state = case when p_error is null then p_state else notified_state end,
      notify_attempts = case when p_error is null then 0 else notify_attempts + 1 end,
      notify_error = left(p_error, 500),
      notify_claimed_until = null
  where alert = p_alert
$$;

revoke execute on all functions in schema public from public, anon, authenticated;
grant execute on all functions in schema public to service_role;
