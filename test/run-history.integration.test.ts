/**
 * Run history, leases, detailed health and the Prometheus scrape, against the local stack.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DatabaseError } from "../lib/errors";
import { healthDetailed, prometheusMetrics } from "../lib/http/monitoring-routes";
import { withCron } from "../lib/http/with-cron";
import { exportFileCleanup, exportLogCleanup, exportMetricsAggregate } from "../lib/jobs";
import { captureLogger, fixedClock } from "./doubles";
import { invokeJob, ports, resetData, runJob, seedExports } from "./helpers/exports";
import { closeSql, itStandIn, sql, stack, standIn } from "./helpers/stack";

const CRON_SECRET = "run-history-test-cron-secret-0123456789";
const METRICS_TOKEN = "run-history-test-metrics-token-0123456789";
const HEALTH_TOKEN = "run-history-test-health-token-0123456789";

async function runs(job: string) {
  const { rows } = await sql().query(
    "select run_id, trigger, status, dry_run, result, error, finished_at from export_ops_runs where job = $1 order by started_at",
    [job],
  );
  return rows;
}

beforeEach(async () => {
  await standIn.clearFaults();
  await resetData();
  vi.stubEnv("SUPABASE_URL", stack.SUPABASE_URL);
  vi.stubEnv("SUPABASE_SERVICE_ROLE_KEY", stack.SUPABASE_SERVICE_ROLE_KEY);
  vi.stubEnv("CRON_SECRET", CRON_SECRET);
  vi.stubEnv("METRICS_TOKEN", METRICS_TOKEN);
  vi.stubEnv("HEALTH_TOKEN", HEALTH_TOKEN);
});
afterEach(() => vi.unstubAllEnvs());
afterAll(closeSql);

describe("run history", () => {
  it("records each invocation with its trigger, status, dry run, result and times", async () => {
    await seedExports({ count: 5, ageHours: 30, withFiles: true });
    await runJob(exportFileCleanup, { dry_run: "true" });
    const real = await runJob(exportFileCleanup, {});
    const history = await runs("export-file-cleanup");
    expect(history.map((r) => [r.trigger, r.status, r.dry_run])).toEqual([
      ["script", "succeeded", true],
      ["script", "succeeded", false],
    ]);
    expect(history[1].result).toMatchObject({ deleted_count: 5 });
    expect(history.every((r) => r.finished_at instanceof Date)).toBe(true);
    expect(real.deleted_count).toBe(5);
  });

  itStandIn("fault injection")(
    "records progress with failures as partial, failures without progress as failed, and a run that threw as failed",
    async () => {
      await seedExports({ count: 3, ageHours: 30, withFiles: true });
      // one batch of three fails: some progress
      await standIn.addFault({ method: "DELETE", pathPrefix: "/storage/v1/object/exports", status: 500, times: 1 });
      expect(await runJob(exportFileCleanup, { sweep_orphans: "false", batch_size: "1" })).toMatchObject({
        deleted_count: 2,
        failed_count: 1,
      });
      // every delete fails: no progress at all
      await seedExports({ count: 30, ageHours: 30, withFiles: true });
      await standIn.addFault({ method: "DELETE", pathPrefix: "/storage/v1/object/exports", status: 500, times: 100 });
      // (the batch that failed above stays claimed by its run until its lease expires)
      expect(await runJob(exportFileCleanup, { sweep_orphans: "false" })).toMatchObject({ deleted_count: 0, failed_count: 30 });
      await standIn.clearFaults();
      await standIn.addFault({ pathPrefix: "/rest/v1/rpc/export_ops_file_cleanup_batch", status: 500, times: 1 });
      await expect(runJob(exportFileCleanup, {})).rejects.toBeInstanceOf(DatabaseError);
      const history = await runs("export-file-cleanup");
      expect(history.map((r) => r.status)).toEqual(["partial", "failed", "failed"]);
      expect(history[1].error).toBeNull();
      expect(history[2].error).toMatchObject({ code: "database_error" });
    },
  );

  it("recognises Vercel Cron by its user agent and schedule header; anything else is manual", async () => {
    const handler = withCron(exportFileCleanup, { logger: captureLogger().logger });
    const call = (headers: Record<string, string>) =>
      handler(
        new Request("http://localhost/api/cron/export-file-cleanup?dry_run=true", {
          headers: { authorization: `Bearer ${CRON_SECRET}`, ...headers },
        }),
      );
    expect((await call({ "user-agent": "vercel-cron/1.0", "x-vercel-cron-schedule": "0 2 * * *" })).status).toBe(200);
    expect((await call({ "user-agent": "curl/8.5.0" })).status).toBe(200);
    expect((await call({ "user-agent": "vercel-cron/1.0" })).status).toBe(200);
    expect((await runs("export-file-cleanup")).map((r) => r.trigger)).toEqual(["vercel_cron", "manual", "manual"]);
  });

  it("keeps history bounded but always keeps each job's latest success", async () => {
    const old = new Date(Date.now() - 200 * 86_400_000);
    for (const [status, days] of [
      ["succeeded", 200],
      ["failed", 199],
      ["succeeded", 198],
      ["failed", 197],
    ] as const) {
      await sql().query(
        "insert into export_ops_runs (run_id, job, trigger, started_at, finished_at, deadline_at, status) values ($1, 'export-log-cleanup', 'vercel_cron', $2, $2, $2, $3)",
        [randomUUID(), new Date(Date.now() - days * 86_400_000), status],
      );
    }
    const { rows } = await sql().query("select public.export_ops_prune_runs($1) as n", [new Date(old.getTime() + 10 * 86_400_000)]);
    expect(rows[0].n).toBe(3);
    expect((await runs("export-log-cleanup")).map((r) => r.status)).toEqual(["succeeded"]);
  });
});

describe("overlap control", () => {
  it("runs one of two simultaneous invocations of a leased job and skips the other, recording both", async () => {
    // the first run is held inside its work, lease taken, until the second has asked for the lease: by construction
    let started!: () => void;
    let release!: () => void;
    const leaseTaken = new Promise<void>((resolve) => (started = resolve));
    const held = new Promise<void>((resolve) => (release = resolve));
    const real = ports();
    const holding = {
      ...real,
      db: {
        call: (async (fn: string, args?: Record<string, unknown>) => {
          const out = await real.db.call(fn as never, args as never);
          if (fn === "export_ops_start_run") {
            started();
            await held;
          }
          return out;
        }) as typeof real.db.call,
      },
    };
    const first = invokeJob(exportMetricsAggregate, {}, { ports: holding });
    await leaseTaken;
    const b = await invokeJob(exportMetricsAggregate, {});
    release();
    const a = await first;
    expect("skipped" in a).toBe(false);
    expect(b).toMatchObject({ skipped: true, reason: "another run holds the lease", held_by: expect.any(String) });
    const history = await runs("export-metrics-aggregate");
    expect(history.map((r) => r.status).sort()).toEqual(["skipped", "succeeded"]);
    expect(history.find((r) => r.status === "skipped").result.held_by).toBe(history.find((r) => r.status === "succeeded").run_id);
    const { rows } = await sql().query("select count(*)::int as n from export_ops_leases");
    expect(rows[0].n).toBe(0); // released when the run finished
  });

  it("answers a skipped invocation over HTTP with 200 and skipped: true", async () => {
    await sql().query(
      "insert into export_ops_leases (job, run_id, expires_at) values ('export-log-cleanup', $1, now() + interval '5 minutes')",
      [randomUUID()],
    );
    const res = await withCron(exportLogCleanup, { logger: captureLogger().logger })(
      new Request("http://localhost/api/cron/export-log-cleanup", { headers: { authorization: `Bearer ${CRON_SECRET}` } }),
    );
    expect(res.status).toBe(200);
    expect((await res.json()).result).toMatchObject({ skipped: true });
  });

  it("lets a new run take over a dead run's expired lease", async () => {
    await sql().query(
      "insert into export_ops_leases (job, run_id, expires_at) values ('export-log-cleanup', $1, now() - interval '1 second')",
      [randomUUID()],
    );
    const result = await invokeJob(exportLogCleanup, {});
    expect("skipped" in result).toBe(false);
    expect((await runs("export-log-cleanup")).map((r) => r.status)).toEqual(["succeeded"]);
  });

  it("lets the file cleanup run in parallel: it is safe by design", async () => {
    await seedExports({ count: 100, ageHours: 30, withFiles: true });
    const results = await Promise.all([invokeJob(exportFileCleanup, {}), invokeJob(exportFileCleanup, {})]);
    expect(results.every((r) => !("skipped" in r))).toBe(true);
  });
});

describe("health and metrics", () => {
  const now = new Date("2026-03-10T12:40:00Z");
  const clock = fixedClock(now.toISOString());

  async function history(job: string, finishedAt: string, status = "succeeded") {
    await sql().query(
      "insert into export_ops_runs (run_id, job, trigger, started_at, finished_at, deadline_at, status) values ($1, $2, 'vercel_cron', $3::timestamptz - interval '2 seconds', $3, $3, $4)",
      [randomUUID(), job, finishedAt, status],
    );
  }

  const get = (handler: (r: Request) => Promise<Response>, token?: string) =>
    handler(new Request("http://localhost/api/x", { headers: token ? { authorization: `Bearer ${token}` } : {} }));

  it("is healthy when every job succeeded on schedule", async () => {
    await history("export-file-cleanup", "2026-03-10T02:00:30Z");
    await history("export-log-cleanup", "2026-03-01T03:01:00Z");
    await history("export-metrics-aggregate", "2026-03-10T12:00:20Z");
    const res = await get(healthDetailed({ clock }), HEALTH_TOKEN);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      status: "healthy",
      database: { reachable: true, latency_ms: expect.any(Number) },
      alerts: {},
      exports_stuck: 0,
    });
    expect(body.jobs.map((j: { job: string; status: string }) => [j.job, j.status])).toEqual([
      ["export-file-cleanup", "ok"],
      ["export-log-cleanup", "ok"],
      ["export-metrics-aggregate", "ok"],
    ]);
  });

  it("turns unhealthy (503) when a job's last success is older than its schedule plus grace, and the scrape shows it stale", async () => {
    await history("export-file-cleanup", "2026-03-10T02:00:30Z");
    await history("export-log-cleanup", "2026-03-01T03:01:00Z");
    await history("export-metrics-aggregate", "2026-03-10T09:00:00Z"); // the 10:00, 11:00 and 12:00 runs never came
    const res = await get(healthDetailed({ clock }), HEALTH_TOKEN);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.status).toBe("unhealthy");
    expect(body.jobs.find((j: { job: string }) => j.job === "export-metrics-aggregate")).toMatchObject({
      status: "overdue",
      staleness_seconds: 13200,
      max_staleness_seconds: 5400,
    });

    const scrape = await get(prometheusMetrics({ clock }), METRICS_TOKEN);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get("content-type")).toContain("text/plain");
    const text = await scrape.text();
    expect(text).toContain('export_ops_job_staleness_seconds{cron_job="export-metrics-aggregate"} 13200');
    expect(text).toContain('export_ops_job_max_staleness_seconds{cron_job="export-metrics-aggregate"} 5400');
    expect(text).toContain('export_ops_job_overdue{cron_job="export-metrics-aggregate"} 1');
    expect(text).toContain('export_ops_job_overdue{cron_job="export-file-cleanup"} 0');
  });

  it("is degraded when a job's last real run failed; a job installed since its last scheduled time awaits its first run", async () => {
    await sql().query("update export_ops_installation set installed_at = '2026-03-10T08:00:00Z'");
    await history("export-file-cleanup", "2026-03-10T02:00:30Z", "failed");
    await history("export-metrics-aggregate", "2026-03-10T12:00:20Z");
    const body = await (await get(healthDetailed({ clock }), HEALTH_TOKEN)).json();
    expect(body.status).toBe("degraded");
    expect(body.jobs.map((j: { status: string }) => j.status)).toEqual(["failing", "awaiting_first_run", "ok"]);
    expect(body.jobs[1]).toMatchObject({ last_success_at: null, staleness_seconds: 4 * 3600 + 40 * 60 });
  });

  it("is unhealthy when the database cannot be reached, and says so without secrets", async () => {
    vi.stubEnv("SUPABASE_URL", "http://127.0.0.1:9");
    const res = await get(healthDetailed({ clock }), HEALTH_TOKEN);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body).toMatchObject({ status: "unhealthy", database: { reachable: false } });
    expect(JSON.stringify(body)).not.toContain(stack.SUPABASE_SERVICE_ROLE_KEY);
  });

  it("exposes counters from the run totals and the export gauges", async () => {
    await seedExports({ count: 7, ageHours: 30, withFiles: true });
    await runJob(exportFileCleanup, {});
    await sql().query(
      `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms, error_type)
       select gen_random_uuid(), gen_random_uuid(), 'csv', case when g <= 3 then 'failed' else 'completed' end, 1, 'small', 10,
              case when g <= 3 then 'TimeoutError' end
       from generate_series(1, 12) g`,
    );
    const text = await (await get(prometheusMetrics(), METRICS_TOKEN)).text();
    expect(text).toContain('export_ops_files_deleted_total{cron_job="export-file-cleanup"} 7');
    expect(text).toContain('export_ops_job_runs_total{cron_job="export-file-cleanup",status="succeeded"} 1');
    expect(text).toContain('export_ops_exports_last_hour{format="csv",status="failed"} 3');
    expect(text).toContain("export_ops_export_failure_rate_last_hour 0.25");
    expect(text).toContain('export_ops_export_duration_p95_seconds{format="csv"} 0.01');
    expect(text).toContain('export_ops_alert_firing{alert="export_failure_rate"} 0');
    expect(text).toMatch(/# TYPE export_ops_job_runs_total counter/);
  });

  it("exposes every metric the Grafana dashboard and the alert rules use", async () => {
    // one export recorded, so the last export's time has a value
    await sql().query(
      "insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms) values (gen_random_uuid(), gen_random_uuid(), 'csv', 'completed', 1, 'small', 10)",
    );
    const text = await (await get(prometheusMetrics(), METRICS_TOKEN)).text();
    const exposed = new Set([...text.matchAll(/^# TYPE (\w+) /gm)].map((m) => m[1]));
    const used = new Set<string>();
    for (const file of ["monitoring/grafana/export-ops-dashboard.json", "monitoring/prometheus/alerts.yml"]) {
      for (const m of readFileSync(file, "utf8").matchAll(/\bexport_ops_\w+/g)) used.add(m[0]);
    }
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((name) => !exposed.has(name))).toEqual([]);
  });

  it("guards the scrape and detailed health with their own read-only tokens, never CRON_SECRET", async () => {
    expect((await get(prometheusMetrics())).status).toBe(401);
    expect((await get(prometheusMetrics(), CRON_SECRET)).status).toBe(401);
    expect((await get(prometheusMetrics(), HEALTH_TOKEN)).status).toBe(401);
    expect((await get(healthDetailed())).status).toBe(401);
    expect((await get(healthDetailed(), CRON_SECRET)).status).toBe(401);
    expect((await get(healthDetailed(), METRICS_TOKEN)).status).toBe(401);
    expect((await get(healthDetailed(), HEALTH_TOKEN)).status).toBe(200);
  });

  it.each([
    ["METRICS_TOKEN", prometheusMetrics, METRICS_TOKEN],
    ["HEALTH_TOKEN", healthDetailed, HEALTH_TOKEN],
  ] as const)(
    "answers 404 while %s is unset or unusable, and reveals nothing of the environment before a caller is authenticated",
    async (name, route, token) => {
      for (const value of ["", "short"]) {
        vi.stubEnv(name, value);
        const off = await get(route(), token);
        expect(off.status).toBe(404);
        expect(await off.json()).toMatchObject({ success: false, error: { code: "not_found", message: "Not found" } });
      }
      vi.stubEnv(name, token);
      vi.stubEnv("SUPABASE_URL", "");
      const anonymous = await get(route());
      expect(anonymous.status).toBe(401);
      expect(JSON.stringify(await anonymous.json())).not.toContain("SUPABASE_URL");
      expect((await get(route(), token)).status).toBe(500);
    },
  );
});
