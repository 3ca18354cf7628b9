-- export-ops, current definition. The export formats and their file extensions: the one list every path check and both foreign
-- keys read.
-- Checked against the migrations by test/schemas.integration.test.ts (see docs/DEVELOPMENT.md).

CREATE TABLE public.export_ops_formats (
    format text NOT NULL,
    extensions text[] NOT NULL,
    CONSTRAINT export_ops_formats_extensions_check CHECK (cardinality(extensions) BETWEEN 1 AND 8 AND array_to_string(extensions, '/') ~ '^[a-z0-9]{1,16}(/[a-z0-9]{1,16})*$'),
    CONSTRAINT export_ops_formats_format_check CHECK ((format ~ '^[a-z0-9][a-z0-9_-]{0,31}$'::text))
);

ALTER TABLE ONLY public.export_ops_formats
    ADD CONSTRAINT export_ops_formats_pkey PRIMARY KEY (format);

ALTER TABLE public.export_ops_formats ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION public.export_ops_formats() RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select coalesce(jsonb_object_agg(f.format, to_jsonb(f.extensions)), '{}'::jsonb) from public.export_ops_formats f
$$;

COMMENT ON TABLE public.export_ops_formats IS 'Export formats and their file extensions (the first is canonical); add yours with an insert.';

REVOKE ALL ON FUNCTION public.export_ops_formats() FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON FUNCTION public.export_ops_formats() TO service_role;

REVOKE ALL ON TABLE public.export_ops_formats FROM PUBLIC, anon, authenticated, service_role;
GRANT ALL ON TABLE public.export_ops_formats TO service_role;
