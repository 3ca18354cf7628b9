import { describe, expect, it } from "vitest";
import { guard, judge } from "./guard";

describe("what a generated migration may carry", () => {
  it.each([
    [`CREATE OR REPLACE FUNCTION public.export_ops_ping()\n RETURNS jsonb\nAS $function$ select 1 $function$\n;`, "public.export_ops_ping"],
    [`drop function if exists "public"."export_ops_claim_occurrence"(p_run_id uuid);`, "public.export_ops_claim_occurrence"],
    [
      `alter table "public"."export_ops_metric_rollups" add column "retried" integer not null default 0;`,
      "public.export_ops_metric_rollups",
    ],
    [`CREATE INDEX export_ops_runs_job_idx ON public.export_ops_runs USING btree (job);`, "public.export_ops_runs"],
    [
      `CREATE TRIGGER export_ops_alert_transition AFTER UPDATE OF state ON public.export_ops_alerts FOR EACH ROW EXECUTE FUNCTION public.f();`,
      "public.export_ops_alerts",
    ],
    [`create policy "export_ops_logs_owner_read"\n  on "public"."export_logs"\n  as permissive;`, "public.export_logs"],
    [`create domain "public"."application/vnd.export-ops.jsonl"\nas text;`, "public.application/vnd.export-ops.jsonl"],
    [`REVOKE ALL ON FUNCTION public.export_ops_ping() FROM PUBLIC, anon, authenticated, service_role;`, "public.export_ops_ping"],
    [`GRANT ALL ON SEQUENCE public.export_metrics_id_seq TO service_role;`, "public.export_metrics_id_seq"],
    [`COMMENT ON COLUMN public.export_logs.status IS 'it''s the status';`, "public.export_logs"],
    [
      `CREATE STATISTICS public.export_ops_metrics_summary_groups (ndistinct) ON format, status FROM public.export_metrics;`,
      "public.export_ops_metrics_summary_groups",
    ],
  ])("accepts %s", (statement, object) => {
    expect(judge(statement)).toEqual({ object });
  });

  it.each([
    [`drop table "public"."export_ops_runs";`, "drops data"],
    [`alter table "public"."export_logs" drop column "file_path";`, "drops data"],
    [`grant select on table "public"."profiles" to "anon";`, "acts on public.profiles, not an export-ops object"],
    [`alter table "storage"."objects" enable row level security;`, "acts on storage.objects, outside export-ops' schema"],
    [`create extension if not exists "pg_cron" with schema "extensions";`, "is not a statement an export-ops migration is generated with"],
    [
      `alter default privileges in schema public grant all on tables to anon;`,
      "is not a statement an export-ops migration is generated with",
    ],
    [`drop schema if exists "auth";`, "is not a statement an export-ops migration is generated with"],
  ])("refuses %s", (statement, why) => {
    expect(judge(statement)).toEqual({ refused: why });
  });

  it("names every refused statement at once, and otherwise lists the objects acted on", () => {
    expect(() => guard([`drop table "public"."export_ops_runs";`, `create extension "x";`])).toThrow(
      /drops data: drop table[\s\S]*not a statement/,
    );
    expect(
      guard([
        "set check_function_bodies = off;",
        `alter table "public"."export_logs" add column "x" text;`,
        `COMMENT ON TABLE public.export_logs IS NULL;`,
      ]),
    ).toEqual(["public.export_logs"]);
  });
});
