-- export-ops, current definition. export_metrics, one row per export outcome, recorded by ExportMetricsService through
-- export_ops_record_metric.
-- Checked against the migrations by test/schemas.integration.test.ts (see docs/DEVELOPMENT.md).

CREATE TABLE public.export_metrics (
    id bigint NOT NULL,
    export_id uuid NOT NULL,
    user_id uuid NOT NULL,
    format text NOT NULL,
    status text NOT NULL,
    conversation_count integer NOT NULL,
    count_range text NOT NULL,
    duration_ms integer NOT NULL,
    file_size_bytes bigint,
    error_type text,
    error_message text,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT export_metrics_conversation_count_check CHECK ((conversation_count >= 0)),
    CONSTRAINT export_metrics_count_range_check CHECK ((count_range = ANY (ARRAY['small'::text, 'medium'::text, 'large'::text]))),
    CONSTRAINT export_metrics_duration_ms_check CHECK ((duration_ms >= 0)),
    CONSTRAINT export_metrics_error_message_check CHECK ((char_length(error_message) <= 2000)),
    CONSTRAINT export_metrics_error_type_check CHECK ((char_length(error_type) <= 200)),
    CONSTRAINT export_metrics_file_size_bytes_check CHECK ((file_size_bytes >= 0)),
    CONSTRAINT export_metrics_status_check CHECK ((status = ANY (ARRAY['completed'::text, 'failed'::text])))
);

ALTER TABLE public.export_metrics ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.export_metrics_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY public.export_metrics
    ADD CONSTRAINT export_metrics_once_per_status UNIQUE (export_id, status);

ALTER TABLE ONLY public.export_metrics
    ADD CONSTRAINT export_metrics_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.export_metrics
    ADD CONSTRAINT export_ops_metrics_format_fkey FOREIGN KEY (format) REFERENCES public.export_ops_formats(format);

CREATE INDEX export_ops_metrics_recorded_idx ON public.export_metrics USING btree (recorded_at);

CREATE INDEX export_ops_metrics_user_idx ON public.export_metrics USING btree (user_id, recorded_at);

CREATE STATISTICS public.export_ops_metrics_summary_groups (ndistinct) ON format, status, count_range, error_type, date_bin('01:00:00'::interval, recorded_at, '2000-01-01 00:00:00+00'::timestamp with time zone) FROM public.export_metrics;

ALTER TABLE public.export_metrics ENABLE ROW LEVEL SECURITY;

CREATE POLICY export_ops_metrics_owner_read ON public.export_metrics FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

CREATE FUNCTION public.export_ops_record_metric(p_export_id uuid, p_user_id uuid, p_format text, p_status text, p_conversation_count integer, p_count_range text, p_duration_ms integer, p_file_size_bytes bigint DEFAULT NULL::bigint, p_error_type text DEFAULT NULL::text, p_error_message text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_id bigint;
  v_recorded_at timestamptz;
begin
  if not exists (select 1 from public.export_ops_formats f where f.format = p_format) then
    raise exception 'unknown export format %: add it with its file extensions, e.g. insert into public.export_ops_formats (format, extensions) values (%, ''{%}'')',
      quote_literal(p_format), quote_literal(p_format), p_format
      using errcode = 'P0001', hint = 'export_ops_formats lists the formats export-ops knows';
  end if;
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

REVOKE ALL ON FUNCTION public.export_ops_record_metric(p_export_id uuid, p_user_id uuid, p_format text, p_status text, p_conversation_count integer, p_count_range text, p_duration_ms integer, p_file_size_bytes bigint, p_error_type text, p_error_message text) FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_record_metric(p_export_id uuid, p_user_id uuid, p_format text, p_status text, p_conversation_count integer, p_count_range text, p_duration_ms integer, p_file_size_bytes bigint, p_error_type text, p_error_message text) TO service_role;

REVOKE ALL ON TABLE public.export_metrics FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_metrics TO service_role;
GRANT SELECT ON TABLE public.export_metrics TO authenticated;

REVOKE ALL ON SEQUENCE public.export_metrics_id_seq FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON SEQUENCE public.export_metrics_id_seq TO service_role;
