-- export-ops: the ops page's sessions, so that signing out ends one. A session cookie names a row here (and is
-- signed with a key derived from OPS_TOKEN); the page opens only while that row is live. Signing out deletes the
-- row; "sign out everywhere" deletes them all. Ended rows are pruned whenever someone signs in, so the table holds
-- at most the sessions of the last 12 hours.

create table public.export_ops_ops_sessions (
  session_id uuid primary key,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
alter table public.export_ops_ops_sessions enable row level security;
revoke all on table public.export_ops_ops_sessions from public, anon, authenticated;
grant all on table public.export_ops_ops_sessions to service_role;

create function public.export_ops_open_session(p_session_id uuid, p_expires_at timestamptz, p_now timestamptz default now())
returns void
language sql
set search_path = ''
as $$
  delete from public.export_ops_ops_sessions where expires_at <= p_now;
  insert into public.export_ops_ops_sessions (session_id, created_at, expires_at) values (p_session_id, p_now, p_expires_at);
$$;

create function public.export_ops_session_live(p_session_id uuid, p_now timestamptz default now())
returns boolean
language sql
stable
set search_path = ''
as $$
  select exists (select 1 from public.export_ops_ops_sessions where session_id = p_session_id and expires_at > p_now)
$$;

-- One session (sign out), or with p_session_id null every session (sign out everywhere). Returns how many ended.
create function public.export_ops_end_sessions(p_session_id uuid default null)
returns integer
language sql
set search_path = ''
as $$
  with gone as (
    delete from public.export_ops_ops_sessions where p_session_id is null or session_id = p_session_id returning 1
  )
  select count(*)::integer from gone
$$;

revoke all on function public.export_ops_open_session, public.export_ops_session_live, public.export_ops_end_sessions
  from public, anon, authenticated;
grant execute on function public.export_ops_open_session, public.export_ops_session_live, public.export_ops_end_sessions
  to service_role;
