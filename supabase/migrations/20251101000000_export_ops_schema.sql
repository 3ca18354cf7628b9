-- export-ops: schema. Owns the install record, the two host-facing tables `export_logs` (written by the host
-- app's export endpoint) and `export_metrics` (written by ExportMetricsService), their RLS, the Storage buckets
-- export-ops creates, and the health probe `export_ops_ping()`.
--
-- export-ops is a guest in the host's database. Every migration creates, grants and revokes only on objects it
-- creates, by name: never `on all ... in schema`, never a change of default privileges. Everything else it creates
-- is named `export_ops_*`. Functions are executable by service_role only; tables hold no grant for anon, and
-- authenticated may only read its own rows of the two host-facing tables. Cleanup bookkeeping lives in side
-- tables (export_ops_file_cleanup, export_ops_archive_claims), so a signed-in user's `select *` on export_logs
-- shows the export and nothing of how export-ops handles it. supabase/uninstall.sql removes all of it.

-- When export-ops was installed, and which buckets it created (uninstall removes only those, only when empty).
create table public.export_ops_installation (
  singleton boolean primary key default true check (singleton),
  installed_at timestamptz not null default now(),
  created_buckets text[] not null default '{}'
);
insert into public.export_ops_installation default values;

-- Export audit log, written by the host app's export endpoint. Files live in the exports bucket at
-- `<user_id>/<export_id>.<ext>`; `file_path` is that name inside the bucket. Only columns that describe the
-- export: what export-ops does with a row is kept in its own side tables.
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
  constraint export_logs_completed_has_time check (status <> 'completed' or completed_at is not null),
  constraint export_logs_expired_has_time check (status <> 'expired' or expired_at is not null)
);
comment on table public.export_logs is 'One row per export; export-ops expires its file and later deletes the row.';

-- file cleanup: completed exports by age
create index export_ops_logs_completed_idx on public.export_logs (completed_at) where status = 'completed';
-- log cleanup: everything by age
create index export_ops_logs_created_idx on public.export_logs (created_at);
-- RLS reads and per-user erasure
create index export_ops_logs_user_idx on public.export_logs (user_id, created_at);
-- stuck exports: in progress for too long
create index export_ops_logs_in_progress_idx on public.export_logs (created_at) where status in ('queued', 'processing');
-- orphan sweep: "does a live log point at this object?"
create index export_ops_logs_file_path_idx on public.export_logs (file_path) where file_path is not null;

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
create index export_ops_metrics_recorded_idx on public.export_metrics (recorded_at);
create index export_ops_metrics_user_idx on public.export_metrics (user_id, recorded_at);

-- Privileges, per object. Supabase's default privileges give anon and authenticated everything on new tables in
-- `public`; these tables take that back.
alter table public.export_ops_installation enable row level security;
alter table public.export_logs enable row level security;
alter table public.export_metrics enable row level security;
revoke all on table public.export_ops_installation, public.export_logs, public.export_metrics from public, anon, authenticated;
revoke all on sequence public.export_metrics_id_seq from public, anon, authenticated;
grant select on table public.export_logs, public.export_metrics to authenticated;
grant all on table public.export_ops_installation, public.export_logs, public.export_metrics to service_role;
grant usage, select on sequence public.export_metrics_id_seq to service_role;

create policy export_ops_logs_owner_read on public.export_logs
  for select to authenticated using (user_id = (select auth.uid()));
create policy export_ops_metrics_owner_read on public.export_metrics
  for select to authenticated using (user_id = (select auth.uid()));

-- The private buckets export-ops works on (their names are configurable; these are the defaults). A bucket the
-- host already has is used as it is, and not recorded as ours. The archive bucket takes what archival writes and
-- nothing else: gzip objects (JSON Lines) of at most 50 MB (a batch of 5,000 logs is a few hundred KB).
with created as (
  insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
  values ('exports', 'exports', false, null, null),
         ('export-archive', 'export-archive', false, 52428800, '{application/gzip}')
  on conflict (id) do nothing
  returning id
)
update public.export_ops_installation
set created_buckets = created_buckets || coalesce((select array_agg(id order by id) from created), '{}');

-- Health probe of the SQL API: proves PostgREST can reach the database as service_role.
create function public.export_ops_ping()
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object('now', now(), 'role', current_user, 'server_version', current_setting('server_version'))
$$;

revoke all on function public.export_ops_ping from public, anon, authenticated;
grant execute on function public.export_ops_ping to service_role;
