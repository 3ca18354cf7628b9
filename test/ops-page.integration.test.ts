/**
 * The ops page's reads, against the local stack: each panel's figures equal what the raw tables say for the same
 * data, counts that grow with a backlog stop at the cap, lists keep their limit, and an empty install reads as
 * empty (every hour and day present, nothing invented). Then the page itself through its route handler (a Request
 * in, HTML out): signing in and out, the dashboard, a run's detail, and a failed panel beside the others.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { exportFileCleanup, exportMetricsAggregate, jobs } from "../lib/jobs";
import { DatabaseError } from "../lib/errors";
import { opsPageRoute } from "../lib/ops-page/route";
import type { SqlApi } from "../lib/ports";
import { loadOpsPage, loadOpsRun, OPS_RECENT_RUNS, readOpsPanels } from "../lib/ops/page-data";
import { fixedClock } from "./doubles";
import { BUCKET, objectNames, ports, resetData, runJob, seedExports } from "./helpers/exports";
import { closeSql, sql, stack } from "./helpers/stack";

const NOW = "2026-11-25T12:30:00Z";
const settings = { exportsBucket: BUCKET, fileRetentionHours: 24, logRetentionDays: 30 };
const load = (clock = fixedClock(NOW)) => loadOpsPage(ports().db, jobs, settings, clock);

beforeEach(resetData);
afterAll(closeSql);

/** Metric rows at a given time: n completed (duration ms each) and f failed with an error type. */
async function metrics(at: string, completed: number[], failed: { n: number; type: string } = { n: 0, type: "" }) {
  const rows = [
    ...completed.map((duration_ms) => ({ status: "completed", duration_ms, error_type: null })),
    ...Array.from({ length: failed.n }, () => ({ status: "failed", duration_ms: 900, error_type: failed.type })),
  ].map((r) => ({
    ...r,
    export_id: randomUUID(),
    user_id: randomUUID(),
    format: "jsonl",
    conversation_count: 10,
    count_range: "small",
    recorded_at: at,
  }));
  await sql().query(
    `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms, error_type, recorded_at)
     select * from jsonb_to_recordset($1::jsonb) as r (export_id uuid, user_id uuid, format text, status text, conversation_count int,
       count_range text, duration_ms int, error_type text, recorded_at timestamptz)`,
    [JSON.stringify(rows)],
  );
}

describe("ops page reads", () => {
  it("reads an empty install as empty: 48 hours and 30 days present with nothing in them, no rates, no runs", async () => {
    const page = await load();
    expect(page.exports.per_hour).toHaveLength(48);
    expect(page.exports.per_hour.at(-1)).toEqual({ hour: "2026-11-25T12:00:00+00:00", completed: null, failed: null });
    expect(page.exports.per_hour.every((h) => h.completed === null && h.failed === null)).toBe(true);
    expect(page.exports.per_day).toHaveLength(30);
    expect(page.exports.per_day[0]!.day).toBe("2026-10-27");
    expect(page.exports.per_day.at(-1)).toEqual({ day: "2026-11-25", completed: 0, failed: 0, hours: 0 });
    expect(page.exports).toMatchObject({
      success_rate_24h: null,
      success_rate_30d: null,
      total_24h: 0,
      total_30d: 0,
      p95_by_format: [],
      failures_by_error_type: [],
    });
    expect(page.runs).toEqual([]);
    expect(page.alerts).toEqual({ alerts: {}, transitions: [] });
    expect(page.cleanup).toMatchObject({ quarantined: 0, log_backlog: 0, archive_objects_total: 0 });
    // the bucket holds only what the host app had in it before the install
    const host = await sql().query(
      "select count(*)::int as n, coalesce(sum((metadata->>'size')::bigint), 0)::int as bytes from storage.objects where bucket_id = $1",
      [BUCKET],
    );
    expect(page.cleanup).toMatchObject({ storage_objects: host.rows[0].n, storage_bytes: host.rows[0].bytes });
    expect(await objectNames()).toHaveProperty("size", 0);
    expect(page.cleanup.files_deleted_per_day).toHaveLength(30);
    expect(page.jobs.map((j) => [j.id, j.health.status, j.lastRunId, j.backlog])).toEqual(
      jobs.map((j) => [j.id, "awaiting_first_run", null, 0]),
    );
    expect(page.jobs[0]).toMatchObject({ scheduleInWords: "At 02:00 (UTC)", nextRunAt: "2026-11-26T02:00:00.000Z" });
  });

  it("shows the rolled-up exports per hour and day, success rates, p95 by format and failures by type as the raw metrics say", async () => {
    await metrics("2026-11-25T10:15:00Z", [1000, 1200, 1500, 2000, 4000], { n: 2, type: "StorageError" });
    await metrics("2026-11-24T09:00:00Z", [800], { n: 1, type: "TimeoutError" }); // 27.5 h ago: in 30 days, not in 24 h
    await metrics("2026-11-22T08:45:00Z", [300, 400, 500, 600]);
    await runJob(exportMetricsAggregate, {}, { clock: fixedClock(NOW) });

    const { exports } = await load();
    const hour = (iso: string) => exports.per_hour.find((h) => h.hour === iso);
    expect(hour("2026-11-25T10:00:00+00:00")).toMatchObject({ completed: 5, failed: 2 });
    expect(hour("2026-11-25T11:00:00+00:00")).toMatchObject({ completed: 0, failed: 0 }); // rolled up, empty
    expect(hour("2026-11-25T12:00:00+00:00")).toMatchObject({ completed: null }); // the running hour: not rolled up
    const day = (d: string) => exports.per_day.find((x) => x.day === d);
    expect(day("2026-11-25")).toMatchObject({ completed: 5, failed: 2 });
    expect(day("2026-11-24")).toMatchObject({ completed: 1, failed: 1 });
    expect(day("2026-11-22")).toMatchObject({ completed: 4, failed: 0 });
    expect(exports.total_24h).toBe(7);
    expect(exports.success_rate_24h).toBe(Number((5 / 7).toFixed(4)));
    expect(exports.total_30d).toBe(13);
    expect(exports.success_rate_30d).toBe(Number((10 / 13).toFixed(4)));
    expect(exports.failures_by_error_type).toEqual([
      { error_type: "StorageError", count: 2 },
      { error_type: "TimeoutError", count: 1 },
    ]);
    const summary = await ports().db.call("export_ops_rollup_summary", { p_from: "2026-10-27T00:00:00Z", p_to: "2026-11-26T00:00:00Z" });
    expect(exports.p95_by_format).toEqual([{ format: "jsonl", completed: 10, p95_ms: summary.duration_by_format.jsonl!.p95_ms }]);
  });

  it("lists the latest runs with their numeric results as key counts, and one run in full", async () => {
    await seedExports({ count: 3, ageHours: 30, withFiles: true });
    await seedExports({ count: 2, ageHours: 1, withFiles: true });
    const result = await runJob(exportFileCleanup, { sweep_orphans: "false" });
    const page = await load(fixedClock(new Date().toISOString()));
    const [run] = page.runs;
    expect(run).toMatchObject({
      job: "export-file-cleanup",
      trigger: "script",
      status: "succeeded",
      dry_run: false,
      has_more: false,
      error: null,
    });
    expect(run!.counts).toMatchObject({ deleted_count: 3, logs_updated: 3, failed_count: 0, total_found: 3 });
    expect(run!.counts).not.toHaveProperty("duration_ms");
    expect(await loadOpsRun(ports().db, run!.run_id)).toMatchObject({ run_id: run!.run_id, result: { ...result, errors: [] } });
    expect(await loadOpsRun(ports().db, randomUUID())).toBeNull();

    const job = page.jobs.find((j) => j.id === "export-file-cleanup")!;
    expect(job).toMatchObject({ lastRunId: run!.run_id, lastTrigger: "script", hasMore: false, backlog: 0 });
    expect(job.health).toMatchObject({ status: "ok", last_status: "succeeded" });

    const today = new Date().toISOString().slice(0, 10);
    expect(page.cleanup.files_deleted_per_day.find((d) => d.day === today)).toEqual({ day: today, files: 3, orphans: 0 });
    const { rows } = await sql().query(
      "select count(*)::int as n, sum((metadata->>'size')::bigint)::int as bytes from storage.objects where bucket_id = $1",
      [BUCKET],
    );
    expect(await objectNames()).toHaveProperty("size", 2); // the 2 in retention, beside the host app's own files
    expect(page.cleanup).toMatchObject({ storage_objects: rows[0].n, storage_bytes: rows[0].bytes });
  });

  it("keeps the runs list to its limit, newest first", async () => {
    await sql().query(
      `insert into export_ops_runs (run_id, job, trigger, started_at, finished_at, deadline_at, status, result)
       select gen_random_uuid(), 'export-metrics-aggregate', 'vercel_cron', now() - make_interval(mins => g), now() - make_interval(mins => g),
              now(), 'succeeded', jsonb_build_object('hours_rolled_up', g, 'has_more', false)
       from generate_series(1, 40) g`,
    );
    const { runs } = await load(fixedClock(new Date().toISOString()));
    expect(runs).toHaveLength(OPS_RECENT_RUNS);
    expect(runs.map((r) => r.counts.hours_rolled_up)).toEqual(Array.from({ length: OPS_RECENT_RUNS }, (_, i) => i + 1));
  });

  it("counts the cleanup backlogs, stopping at the cap, with the log backlog's age", async () => {
    await seedExports({ count: 4, status: "failed", ageHours: 24 * 40 });
    await seedExports({ count: 2, ageHours: 30 }); // completed past file retention: the file cleanup's backlog
    const clock = fixedClock(new Date().toISOString());
    const page = await load(clock);
    expect(page.cleanup.log_backlog).toBe(4);
    expect(page.cleanup.log_backlog_age_seconds).toBeGreaterThan(10 * 86_400 - 600);
    expect(page.cleanup.log_backlog_age_seconds).toBeLessThan(10 * 86_400 + 600);
    expect(page.jobs.find((j) => j.id === "export-log-cleanup")!.backlog).toBe(4);
    expect(page.jobs.find((j) => j.id === "export-file-cleanup")!.backlog).toBe(2);
    const capped = await ports().db.call("export_ops_page_cleanup", { p_bucket: BUCKET, p_log_retention_days: 30, p_cap: 3 });
    expect(capped.log_backlog).toBe(3);
  });

  it("shows each alert's state and its transitions, newest first, with the message it fired on", async () => {
    const db = ports().db;
    const clock = fixedClock(NOW);
    const evaluate = async (firing: boolean, message: string) => {
      await db.call("export_ops_evaluate_alert", {
        p_alert: "export_failure_rate",
        p_firing: firing,
        p_payload: { message } as never,
        p_now: clock.now().toISOString(),
      });
      clock.advance(3_600_000);
    };
    await evaluate(false, "quiet");
    await evaluate(true, "failure rate 40.0% above 10.0%");
    await evaluate(true, "still failing"); // no change of state: no transition
    await evaluate(false, "failure rate 2.0% below 10.0%");
    const { alerts } = await load(clock);
    expect(alerts.alerts.export_failure_rate).toMatchObject({ state: "ok", changed_at: "2026-11-25T15:30:00+00:00" });
    expect(alerts.transitions).toEqual([
      { alert: "export_failure_rate", state: "ok", at: "2026-11-25T15:30:00+00:00", message: "failure rate 2.0% below 10.0%" },
      { alert: "export_failure_rate", state: "firing", at: "2026-11-25T13:30:00+00:00", message: "failure rate 40.0% above 10.0%" },
    ]);
  });

  it("counts archive objects written and the rows in them", async () => {
    await sql().query(
      `insert into export_ops_archive_objects (bucket, name, batch, state, users, row_count, written_at)
       values ('export-archive', 'a.jsonl.gz', 'b1', 'written', '{}', 500, now() - interval '2 days'),
              ('export-archive', 'b.jsonl.gz', 'b2', 'written', '{}', 300, now() - interval '40 days'),
              ('export-archive', 'c.jsonl.gz', 'b3', 'writing', '{}', 100, null)`,
    );
    const { cleanup } = await load(fixedClock(new Date().toISOString()));
    expect(cleanup).toMatchObject({ archive_objects_30d: 1, archived_rows_30d: 500, archive_objects_total: 2 });
  });
});

const OPS_TOKEN = "ops-page-integration-test-token-0123";
const ORIGIN = "http://localhost:3000";

/** The page's handler on the stack (or on `db`), and a signed-in session's Cookie header got through it. */
async function page(db?: SqlApi) {
  const route = opsPageRoute({ overrides: { db, clock: fixedClock(new Date().toISOString()) } });
  const form = (path: string, body: string, headers: Record<string, string> = {}) =>
    route.POST(
      new Request(`${ORIGIN}${path}`, {
        method: "POST",
        headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded", ...headers },
        body,
      }),
    );
  const signedIn = await form("/ops/sign-in", new URLSearchParams({ token: OPS_TOKEN }).toString());
  expect(signedIn.status).toBe(303);
  const cookie = signedIn.headers.get("set-cookie")!.split(";")[0]!;
  const get = async (path: string, withCookie = true) => {
    const res = await route.GET(new Request(`${ORIGIN}${path}`, { headers: withCookie ? { cookie } : {} }));
    return { status: res.status, headers: res.headers, html: await res.text() };
  };
  return { get, form, cookie };
}

describe("ops page, through its route handler", () => {
  beforeEach(() => {
    vi.stubEnv("SUPABASE_URL", stack.SUPABASE_URL);
    vi.stubEnv("SUPABASE_SERVICE_ROLE_KEY", stack.SUPABASE_SERVICE_ROLE_KEY);
    vi.stubEnv("OPS_TOKEN", OPS_TOKEN);
    vi.stubEnv("HEALTH_TOKEN", undefined);
    vi.stubEnv("METRICS_TOKEN", undefined);
  });
  afterEach(() => vi.unstubAllEnvs());

  it("signs in, shows every panel with a run's link, the run in full, and after sign-out only the form", async () => {
    await seedExports({ count: 3, ageHours: 30, withFiles: true });
    await runJob(exportFileCleanup, { sweep_orphans: "false" });
    const { rows } = await sql().query<{ run_id: string }>("select run_id from export_ops_runs order by started_at desc limit 1");
    const runId = rows[0]!.run_id;
    const { get, form, cookie } = await page();

    const signedOut = await get("/ops", false);
    expect(signedOut.status).toBe(200);
    expect(signedOut.html).toContain("Ops token");
    expect(signedOut.html).not.toContain("export-file-cleanup");

    const dashboard = await get("/ops");
    expect(dashboard.status).toBe(200);
    expect(dashboard.headers.get("content-security-policy")).toMatch(
      /^default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+';/,
    );
    for (const heading of ["Jobs", "Alerts", "Exports", "Cleanup", "Recent runs"]) expect(dashboard.html).toContain(`>${heading}</h2>`);
    expect(dashboard.html).toContain(`<tr data-run="${runId}">`);
    expect(dashboard.html).toContain(`<a href="/ops/runs/${runId}">details</a> (script)`);
    expect(dashboard.html).toContain('<tr data-bucket="exports">');
    expect(dashboard.html.match(/<figure class="chart"/g)).toHaveLength(3);
    expect(dashboard.html).not.toContain("Could not read");

    const run = await get(`/ops/runs/${runId}`);
    expect(run.status).toBe(200);
    expect(run.html).toContain(`<code data-field="run_id">${runId}</code>`);
    expect(run.html).toMatch(/<pre data-field="result">\{[^<]*&quot;deleted_count&quot;: 3/);
    expect((await get(`/ops/runs/${randomUUID()}`)).status).toBe(404);
    expect((await get(`/ops/runs/${runId}`, false)).status).toBe(307);
    expect((await get("/ops/runs/%E0%A4%A")).status).toBe(404);

    const out = await form("/ops/sign-out", "", { cookie });
    expect(out.status).toBe(303);
    expect(out.headers.get("x-frame-options")).toBe("DENY");
    expect((await get("/ops")).html).toContain("Ops token"); // the same cookie, replayed: the session ended
    expect((await get(`/ops/runs/${runId}`)).status).toBe(307);
  });

  it("shows a failed read's message in that panel's place, and every other panel its figures", async () => {
    await seedExports({ count: 3, ageHours: 30, withFiles: true });
    await runJob(exportFileCleanup, {});
    const real = ports().db;
    const failing = {
      call: ((fn: string, args?: Record<string, unknown>) =>
        fn === "export_ops_page_exports"
          ? Promise.reject(new DatabaseError("export_ops_page_exports failed: canceling statement due to statement timeout"))
          : real.call(fn as never, args as never)) as typeof real.call,
    };
    const panels = await readOpsPanels(failing, jobs, settings, fixedClock(NOW));
    expect(panels.exports).toMatchObject({
      ok: false,
      message: "export_ops_page_exports failed: canceling statement due to statement timeout",
    });
    for (const panel of [panels.jobs, panels.alerts, panels.cleanup, panels.runs]) expect(panel.ok).toBe(true);

    const { html } = await (await page(failing)).get("/ops");
    expect(html.match(/Could not read this panel/g)).toHaveLength(1);
    expect(html).toContain("statement timeout");
    for (const heading of ["Jobs", "Alerts", "Exports", "Cleanup", "Recent runs"]) expect(html).toContain(`>${heading}</h2>`);
    expect(html).toContain('data-job="export-file-cleanup"');
    expect(html).toContain('data-field="storage_objects"');
    expect(html).not.toContain('data-field="total_24h"');
  });
});
