/**
 * The SQL API is service_role only, and RLS shows a user only their own export logs and metrics, and of those only
 * the columns that describe the export — checked through the real PostgREST with real keys, for every function
 * the migrations define. The host app's own functions sit next to them (test/fixtures/host-app.sql).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anonHeaders, closeSql, serviceHeaders, sql, stack, userHeaders } from "./helpers/stack";

const rest = (path: string, headers: Record<string, string>, init: RequestInit = {}) =>
  fetch(`${stack.SUPABASE_URL}/rest/v1/${path}`, { ...init, headers: { ...headers, "content-type": "application/json" } });

const userA = randomUUID();
const userB = randomUUID();
/**
 * Each export-ops function with every argument named (as null), so PostgREST resolves it and checks EXECUTE.
 * Trigger functions are left out: nobody can call them (PostgREST does not expose them) and EXECUTE is revoked.
 */
let functions: { name: string; args: Record<string, null> }[] = [];

beforeAll(async () => {
  const { rows } = await sql().query<{ name: string; arg_names: string[] | null; arg_modes: string[] | null }>(
    `select p.proname as name, p.proargnames as arg_names, p.proargmodes::text[] as arg_modes
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'public' and p.prokind = 'f' and p.prorettype <> 'trigger'::regtype and p.proname like 'export\\_ops\\_%' order by 1`,
  );
  functions = rows.map((r) => ({
    name: r.name,
    args: Object.fromEntries(
      (r.arg_names ?? []).filter((_, i) => !r.arg_modes || ["i", "b"].includes(r.arg_modes[i]!)).map((a) => [a, null]),
    ),
  }));
  for (const user of [userA, userB]) {
    await sql().query(
      `insert into export_logs (user_id, format, status, conversation_count, file_path, completed_at)
       values ($1::uuid, 'json', 'completed', 3, $1::text || '/' || gen_random_uuid() || '.json', now())`,
      [user],
    );
    await sql().query(
      `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms)
       values (gen_random_uuid(), $1, 'json', 'completed', 3, 'small', 120)`,
      [user],
    );
  }
});

afterAll(async () => {
  await sql().query("delete from export_logs where user_id = any($1)", [[userA, userB]]);
  await sql().query("delete from export_metrics where user_id = any($1)", [[userA, userB]]);
  await closeSql();
});

describe("SQL API grants", () => {
  it("finds the functions the migrations define", () => {
    expect(functions.map((f) => f.name)).toEqual(expect.arrayContaining(["export_ops_ping", "export_ops_file_cleanup_batch"]));
  });

  it("refuses every function to anon (401) and authenticated (403) with 42501", async () => {
    for (const { name, args } of functions) {
      for (const [headers, status] of [
        [anonHeaders, 401],
        [userHeaders(userA), 403],
      ] as const) {
        const res = await rest(`rpc/${name}`, headers, { method: "POST", body: JSON.stringify(args) });
        const body = (await res.json()) as { code?: string; message?: string };
        // the function itself is refused (not merely a table it reads)
        expect({ status: res.status, code: body.code, message: body.message }).toEqual({
          status,
          code: "42501",
          message: `permission denied for function ${name}`,
        });
      }
    }
  });

  it("grants no one but the owner the trigger functions", async () => {
    const { rows } = await sql().query<{ name: string; role: string; allowed: boolean }>(
      `select p.proname as name, r.role, has_function_privilege(r.role, p.oid, 'execute') as allowed
       from pg_proc p, unnest(array['anon', 'authenticated', 'service_role']) r (role)
       where p.pronamespace = 'public'::regnamespace and p.prorettype = 'trigger'::regtype and p.proname like 'export\\_ops\\_%'`,
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((r) => r.allowed)).toEqual([]);
  });

  it("lets service_role execute them", async () => {
    const res = await rest("rpc/export_ops_ping", serviceHeaders, { method: "POST", body: "{}" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { role: string }).role).toBe("service_role");
  });
});

describe("row level security", () => {
  it.each(["export_logs", "export_metrics"])("shows a user only their own %s rows", async (table) => {
    const res = await rest(`${table}?select=user_id`, userHeaders(userA));
    expect(res.status).toBe(200);
    const rows = (await res.json()) as { user_id: string }[];
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.user_id))).toEqual(new Set([userA]));
  });

  it("shows a user only the columns that describe an export, none of the cleanup bookkeeping", async () => {
    await sql().query(
      `insert into export_ops_file_cleanup (export_id, claimed_by, claimed_until, attempts, last_error)
       select export_id, gen_random_uuid(), now() + interval '1 minute', 2, 'storage remove failed' from export_logs where user_id = $1`,
      [userA],
    );
    const res = await rest("export_logs?select=*", userHeaders(userA));
    expect(res.status).toBe(200);
    const [row] = (await res.json()) as Record<string, unknown>[];
    expect(Object.keys(row!).sort()).toEqual([
      "completed_at",
      "conversation_count",
      "created_at",
      "error_message",
      "error_type",
      "expired_at",
      "export_id",
      "file_path",
      "file_size_bytes",
      "format",
      "status",
      "user_id",
    ]);
    const side = await rest("export_ops_file_cleanup?select=*", userHeaders(userA));
    expect(side.status).toBe(403);
  });

  it("does not let a user change or delete rows, even their own", async () => {
    const update = await rest(`export_logs?user_id=eq.${userA}`, userHeaders(userA), { method: "PATCH", body: '{"status":"failed"}' });
    expect(update.status).toBe(403);
    const del = await rest(`export_logs?user_id=eq.${userB}`, userHeaders(userA), { method: "DELETE" });
    expect(del.status).toBe(403);
    const { rows } = await sql().query("select status from export_logs where user_id = any($1)", [[userA, userB]]);
    expect(rows.map((r) => r.status)).toEqual(["completed", "completed"]);
  });

  const ownTables = [
    "export_ops_runs",
    "export_ops_leases",
    "export_ops_alerts",
    "export_ops_job_totals",
    "export_ops_metric_hours",
    "export_ops_metric_rollups",
    "export_ops_file_cleanup",
    "export_ops_archive_batches",
    "export_ops_installation",
  ];

  it.each(["export_logs", "export_metrics", ...ownTables])("gives anon nothing of %s", async (table) => {
    const res = await rest(`${table}?select=*`, anonHeaders);
    expect(res.status).toBe(401);
  });

  it.each(ownTables)("gives an authenticated user nothing of %s", async (table) => {
    const res = await rest(`${table}?select=*`, userHeaders(userA));
    expect(res.status).toBe(403);
  });
});
