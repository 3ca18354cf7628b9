-- export-ops, current definition. export_logs, the audit log of exports (the host app writes it; export-ops may have created
-- it): its indexes, its format key, its owner-read policy, and the trigger that takes its side rows along.
-- Checked against the migrations by test/schemas.integration.test.ts (see docs/DEVELOPMENT.md).

CREATE TABLE public.export_logs (
    export_id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    format text NOT NULL,
    status text DEFAULT 'queued'::text NOT NULL,
    conversation_count integer DEFAULT 0 NOT NULL,
    file_path text,
    file_size_bytes bigint,
    error_type text,
    error_message text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone,
    expired_at timestamp with time zone,
    CONSTRAINT export_logs_completed_has_time CHECK (((status <> 'completed'::text) OR (completed_at IS NOT NULL))),
    CONSTRAINT export_logs_conversation_count_check CHECK ((conversation_count >= 0)),
    CONSTRAINT export_logs_expired_has_time CHECK (((status <> 'expired'::text) OR (expired_at IS NOT NULL))),
    CONSTRAINT export_logs_file_size_bytes_check CHECK ((file_size_bytes >= 0)),
    CONSTRAINT export_logs_status_check CHECK ((status = ANY (ARRAY['queued'::text, 'processing'::text, 'completed'::text, 'failed'::text, 'expired'::text])))
);

ALTER TABLE ONLY public.export_logs
    ADD CONSTRAINT export_logs_pkey PRIMARY KEY (export_id);

ALTER TABLE ONLY public.export_logs
    ADD CONSTRAINT export_ops_logs_format_fkey FOREIGN KEY (format) REFERENCES public.export_ops_formats(format);

CREATE INDEX export_ops_logs_completed_idx ON public.export_logs USING btree (completed_at) WHERE (status = 'completed'::text);

CREATE INDEX export_ops_logs_created_idx ON public.export_logs USING btree (created_at);

CREATE INDEX export_ops_logs_file_path_idx ON public.export_logs USING btree (file_path) WHERE (file_path IS NOT NULL);

CREATE INDEX export_ops_logs_in_progress_idx ON public.export_logs USING btree (created_at) WHERE (status = ANY (ARRAY['queued'::text, 'processing'::text]));

CREATE INDEX export_ops_logs_user_idx ON public.export_logs USING btree (user_id, created_at);

ALTER TABLE public.export_logs ENABLE ROW LEVEL SECURITY;

CREATE POLICY export_ops_logs_owner_read ON public.export_logs FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

CREATE FUNCTION public.export_ops_forget_deleted_logs() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  -- one primary-key probe per deleted log (a transition table has no statistics, so a join could be planned as a
  -- scan of the side table for every deleted log)
  delete from public.export_ops_file_cleanup where export_id = any (array(select export_id from gone));
  return null;
end
$$;

CREATE TRIGGER export_ops_forget_deleted_logs AFTER DELETE ON public.export_logs REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION public.export_ops_forget_deleted_logs();

COMMENT ON TABLE public.export_logs IS 'One row per export; export-ops expires its file and later deletes the row.';

REVOKE ALL ON FUNCTION public.export_ops_forget_deleted_logs() FROM PUBLIC, anon, authenticated, service_role;


REVOKE ALL ON TABLE public.export_logs FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_logs TO service_role;
GRANT SELECT ON TABLE public.export_logs TO authenticated;
