-- export-ops: privileges taken back that Supabase's and Postgres' defaults gave. Owns nothing new.
--   - export_ops_alert_transitions_id_seq (the identity sequence of export_ops_alert_transitions) kept USAGE,
--     SELECT and UPDATE for anon and authenticated from Supabase's default privileges in `public`: its table's
--     grants were revoked, the sequence's never were. Revoked from PUBLIC, anon and authenticated, as
--     export_metrics_id_seq's are; service_role keeps what it has (the identity column needs none of it).
--   - the media type domain "application/vnd.export-ops.jsonl" had Postgres' default USAGE for PUBLIC. Revoked,
--     and granted to service_role, the only role that calls the function returning it.

revoke all on sequence public.export_ops_alert_transitions_id_seq from public, anon, authenticated;

revoke all on domain public."application/vnd.export-ops.jsonl" from public, anon, authenticated;
grant usage on domain public."application/vnd.export-ops.jsonl" to service_role;
