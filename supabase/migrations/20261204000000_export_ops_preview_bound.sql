-- export-ops: the dry run's preview refuses a retention past its bounds whatever the rows. It checked the bound
-- inside its filter, so a plan that scanned export_logs evaluated it only for completed logs: with none there, a
-- retention of 9,999 hours answered an empty preview instead of the error the env var and the option give. The
-- cutoff is now computed, and so checked, before the query.

CREATE OR REPLACE FUNCTION public.export_ops_file_cleanup_preview(p_retention_hours integer, p_sample_size integer DEFAULT 20, p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  v_cutoff constant timestamptz := p_now - make_interval(hours => public.export_ops_retention_hours(p_retention_hours));
begin
  return (
    with due as (
      select l.export_id, l.user_id, l.format, l.file_path, l.completed_at,
             public.export_ops_file_in_use_by(l.file_path, l.export_id, v_cutoff) as in_use_by
      from public.export_logs l
      where l.status = 'completed'
        and l.completed_at < v_cutoff
        and not exists (select 1 from public.export_ops_file_cleanup c where c.export_id = l.export_id and c.quarantined_at is not null)
    )
    select jsonb_build_object(
      'total', (select count(*) from due),
      'kept_in_use', (select count(*) from due where in_use_by is not null),
      'sample', coalesce((
        select jsonb_agg(to_jsonb(s) - 'completed_at' - 'in_use_by' order by s.completed_at)
        from (select * from due where in_use_by is null order by completed_at limit greatest(p_sample_size, 0)) s
      ), '[]'::jsonb)
    )
  );
end
$$;
