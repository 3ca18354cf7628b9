-- export-ops schema: the export audit log, per-export metrics, hourly rollups, cron run history, job leases and
-- alert state. Users read only their own export logs and metrics (RLS); everything else is service_role only.

-- Export audit log, written by the host app's export endpoint. Files live in the exports bucket at
-- `<user_id>/<export_id>.<ext>`; `file_path` is that name inside the bucket.
create table public.export_logs (
  export_id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  format text not null check (format in ('json', 'jsonl', 'csv', 'markdown')),
  status text not null default 'queued' check (status in ('queued', 'processing', 'completed', 'failed', 'expired')),
  conversation_count integer not null default 0 check (conversation_count >= 0),
  file_path text,
  file_size_bytes bigint check (file_size_bytes >= 0),
  error_type text,
  error_message text,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  expired_at timestamptz,
  -- file-cleanup bookkeeping: a claim (lease) while a run works on the row, and the last failure
  cleanup_claimed_by uuid,
  cleanup_claimed_until timestamptz,
  cleanup_attempts integer not null default 0,
  cleanup_last_error text,
  constraint export_logs_completed_has_time check (status <> 'completed' or completed_at is not null),
  constraint export_logs_expired_has_time check (status <> 'expired' or expired_at is not null)
);
comment on table public.export_logs is 'One row per export; export-ops expires its file and later deletes the row.';

-- file cleanup: completed exports by age
create index export_logs_completed_idx on public.export_logs (completed_at) where status = 'completed';
-- log cleanup: everything by age
create index export_logs_created_idx on public.export_logs (created_at);
-- RLS reads and per-user erasure
create index export_logs_user_idx on public.export_logs (user_id, created_at);
-- orphan sweep: "does a live log point at this object?"
create index export_logs_file_path_idx on public.export_logs (file_path) where file_path is not null;

-- One row per finished or failed export, recorded by ExportMetricsService. Idempotent per (export, status).
create table public.export_metrics (
  id bigint generated always as identity primary key,
  export_id uuid not null,
  user_id uuid not null,
  format text not null check (format in ('json', 'jsonl', 'csv', 'markdown')),
  status text not null check (status in ('completed', 'failed')),
  conversation_count integer not null check (conversation_count >= 0),
  count_range text not null check (count_range in ('small', 'medium', 'large')),
  duration_ms integer not null check (duration_ms >= 0),
  file_size_bytes bigint check (file_size_bytes >= 0),
  error_type text check (char_length(error_type) <= 200),
  error_message text check (char_length(error_message) <= 2000),
  recorded_at timestamptz not null default now(),
  constraint export_metrics_once_per_status unique (export_id, status)
);
create index export_metrics_recorded_idx on public.export_metrics (recorded_at);
create index export_metrics_user_idx on public.export_metrics (user_id, recorded_at);

-- Hourly rollups. `export_metrics_hours` marks an hour as rolled up (even an hour with no exports), so the
-- aggregation cron knows which hours are missing; `export_metrics_hourly` holds the figures per format and
-- count range, with a fixed duration histogram so percentiles over days or weeks need no raw rows.
create table public.export_metrics_hours (
  hour timestamptz primary key check (date_trunc('hour', hour) = hour),
  total integer not null,
  completed integer not null,
  failed integer not null,
  computed_at timestamptz not null default now()
);

create table public.export_metrics_hourly (
  hour timestamptz not null references public.export_metrics_hours (hour) on delete cascade,
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

-- Every invocation of every job: the dead man's switch and the run history behind health and /api/metrics.
create table public.cron_runs (
  run_id uuid primary key,
  job text not null,
  trigger text not null check (trigger in ('vercel_cron', 'manual', 'script')),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed', 'partial', 'skipped')),
  dry_run boolean not null default false,
  result jsonb,
  error jsonb
);
create index cron_runs_job_started_idx on public.cron_runs (job, started_at desc);

-- One lease per job that must not overlap; a dead run's lease simply expires.
create table public.job_leases (
  job text primary key,
  run_id uuid not null,
  acquired_at timestamptz not null default now(),
  expires_at timestamptz not null
);

-- Alert state machine (ok -> firing -> ok), with the notification still owed when a webhook failed.
create table public.alert_state (
  alert text primary key,
  state text not null default 'ok' check (state in ('ok', 'firing')),
  changed_at timestamptz not null default now(),
  evaluated_at timestamptz,
  last_payload jsonb,
  notified_state text check (notified_state in ('ok', 'firing')),
  notify_attempts integer not null default 0,
  notify_error text
);

-- RLS: on everywhere. Users may read their own export logs and metrics; nothing else is readable by them.
alter table public.export_logs enable row level security;
alter table public.export_metrics enable row level security;
alter table public.export_metrics_hours enable row level security;
alter table public.export_metrics_hourly enable row level security;
alter table public.cron_runs enable row level security;
alter table public.job_leases enable row level security;
alter table public.alert_state enable row level security;

revoke all on public.export_logs, public.export_metrics, public.export_metrics_hours, public.export_metrics_hourly,
  public.cron_runs, public.job_leases, public.alert_state from public, anon, authenticated;
grant select on public.export_logs, public.export_metrics to authenticated;
grant all on public.export_logs, public.export_metrics, public.export_metrics_hours, public.export_metrics_hourly,
  public.cron_runs, public.job_leases, public.alert_state to service_role;

create policy export_logs_owner_read on public.export_logs
  for select to authenticated using (user_id = (select auth.uid()));
create policy export_metrics_owner_read on public.export_metrics
  for select to authenticated using (user_id = (select auth.uid()));

-- The private buckets export-ops works on (their names are configurable; these are the defaults).
insert into storage.buckets (id, name, public) values ('exports', 'exports', false), ('export-archive', 'export-archive', false)
on conflict (id) do nothing;

-- Health probe of the SQL API: proves PostgREST can reach the database as service_role.
create function public.export_ops_ping()
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object('now', now(), 'role', current_user, 'server_version', current_setting('server_version'))
$$;

-- Functions are service_role only: Supabase grants EXECUTE to anon and authenticated by default, so revoke it
-- here and for functions later migrations create.
revoke execute on all functions in schema public from public, anon, authenticated;
grant execute on all functions in schema public to service_role;
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from anon, authenticated;
