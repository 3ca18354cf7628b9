/**
 * Monitoring that never calls a broken job healthy, against the local stack: run outcomes that mean what they
 * say, runs that outlive their deadline closed as abandoned, jobs that never succeeded turning overdue, refused
 * calls of a misconfigured deployment recorded, the exports-stopped alert, stuck exports, and time taken from the
 * database (rollup hour boundaries, leases).
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { healthDetailed, prometheusMetrics } from "../lib/http/monitoring-routes";
import { withCron } from "../lib/http/with-cron";
import { exportFileCleanup, exportLogCleanup, exportMetricsAggregate } from "../lib/jobs";
import { captureLogger, fixedClock } from "./doubles";
import { invokeJob, resetData, runJob, seedExports, testEnv } from "./helpers/exports";
import { closeSql, itStandIn, sql, stack, standIn } from "./helpers/stack";

const HEALTH_TOKEN = "monitoring-test-health-token-0123456789";
const METRICS_TOKEN = "monitoring-test-metrics-token-0123456789";

beforeEach(async () => {
  await standIn.clearFaults();
  await resetData();
  vi.stubEnv("SUPABASE_URL", stack.SUPABASE_URL);
  vi.stubEnv("SUPABASE_SERVICE_ROLE_KEY", stack.SUPABASE_SERVICE_ROLE_KEY);
  vi.stubEnv("CRON_SECRET", "monitoring-test-cron-secret-0123456789");
  vi.stubEnv("HEALTH_TOKEN", HEALTH_TOKEN);
  vi.stubEnv("METRICS_TOKEN", METRICS_TOKEN);
});
afterEach(() => vi.unstubAllEnvs());
afterAll(closeSql);

const get = (handler: (r: Request) => Promise<Response>, token: string) =>
  handler(new Request("http://localhost/api/x", { headers: { authorization: `Bearer ${token}` } }));
const health = async () => (await get(healthDetailed(), HEALTH_TOKEN)).json();
const scrape = async () => (await get(prometheusMetrics(), METRICS_TOKEN)).text();
const jobHealth = async (job: string) => (await health()).jobs.find((j: { job: string }) => j.job === job);
const series = (text: string, name: string, labels: string) =>
  text.match(new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ""} (\\S+)$`, "m"))?.[1];

async function runs(job: string) {
  const { rows } = await sql().query("select status, dry_run, error from export_ops_runs where job = $1 order by started_at", [job]);
  return rows;
}

describe("run outcomes", () => {
  itStandIn("fault injection")(
    "records a run whose every Storage delete failed as failed, keeps health from calling it ok, and a later dry run changes none of that",
    async () => {
      await seedExports({ count: 30, ageHours: 30, withFiles: true });
      await runJob(exportFileCleanup, { sweep_orphans: "false" }); // a success first: the job was fine yesterday
      await seedExports({ count: 30, ageHours: 30, withFiles: true });
      await standIn.addFault({ method: "DELETE", pathPrefix: "/storage/v1/object/exports", status: 500, times: 1000 });

      expect(await runJob(exportFileCleanup, { sweep_orphans: "false" })).toMatchObject({ deleted_count: 0, failed_count: 30 });

      const check = async () => {
        expect(await jobHealth("export-file-cleanup")).toMatchObject({ status: "failing", last_status: "failed", consecutive_failures: 1 });
        const text = await scrape();
        expect(series(text, "export_ops_job_last_run_failed", 'cron_job="export-file-cleanup"')).toBe("1");
        expect(series(text, "export_ops_job_consecutive_failures", 'cron_job="export-file-cleanup"')).toBe("1");
        expect(series(text, "export_ops_job_runs_total", 'cron_job="export-file-cleanup",status="failed"')).toBe("1");
      };
      await check();
      expect((await health()).status).toBe("degraded");

      // the documented smoke test's dry runs, over HTTP
      await standIn.clearFaults();
      const res = await withCron(exportFileCleanup, { logger: captureLogger().logger })(
        new Request("http://localhost/api/cron/export-file-cleanup?dry_run=true", {
          headers: { authorization: "Bearer monitoring-test-cron-secret-0123456789" },
        }),
      );
      expect(res.status).toBe(200);
      await check();
      expect(series(await scrape(), "export_ops_job_dry_runs_total", 'cron_job="export-file-cleanup"')).toBe("1");
      expect((await runs("export-file-cleanup")).map((r) => [r.status, r.dry_run])).toEqual([
        ["succeeded", false],
        ["failed", false],
        ["succeeded", true],
      ]);
    },
  );

  it("closes a run still running past its deadline as abandoned, on the next run of any job or the next health read, and counts it", async () => {
    const runId = randomUUID();
    await sql().query("select export_ops_start_run($1, 'export-log-cleanup', 'vercel_cron', false, 300, 600)", [runId]);
    // a health read before the deadline leaves it running, and its lease holds
    expect((await jobHealth("export-log-cleanup")).last_status).toBeNull();
    expect((await runs("export-log-cleanup")).map((r) => r.status)).toEqual(["running"]);
    expect(await invokeJob(exportLogCleanup, {})).toMatchObject({ skipped: true });

    // its function was killed: time passes beyond maxDuration plus the margin
    await sql().query(
      "update export_ops_runs set started_at = started_at - interval '362 seconds', deadline_at = deadline_at - interval '362 seconds' where run_id = $1",
      [runId],
    );
    const body = await health();
    expect(body.jobs.find((j: { job: string }) => j.job === "export-log-cleanup")).toMatchObject({
      status: "failing",
      last_status: "abandoned",
      last_error: { code: "abandoned" },
    });
    expect(series(await scrape(), "export_ops_job_runs_total", 'cron_job="export-log-cleanup",status="abandoned"')).toBe("1");
    // the lease it held is freed with it: the next run is not skipped
    expect(await invokeJob(exportLogCleanup, {})).not.toHaveProperty("skipped");

    // and the next invocation of another job closes one too
    const other = randomUUID();
    await sql().query("select export_ops_start_run($1, 'export-file-cleanup', 'vercel_cron', false, 300)", [other]);
    await sql().query("update export_ops_runs set deadline_at = now() - interval '1 second' where run_id = $1", [other]);
    await runJob(exportMetricsAggregate, {});
    expect((await runs("export-file-cleanup")).map((r) => r.status)).toEqual(["abandoned"]);
  });
});

describe("jobs that never succeeded", () => {
  it("turn overdue once their first expected run since the install plus grace has passed, with staleness counted from the install", async () => {
    await sql().query("update export_ops_installation set installed_at = now() - interval '40 days'");
    const res = await get(healthDetailed(), HEALTH_TOKEN);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.status).toBe("unhealthy");
    expect(body.jobs.map((j: { status: string }) => j.status)).toEqual(["overdue", "overdue", "overdue"]);
    const text = await scrape();
    for (const job of ["export-file-cleanup", "export-log-cleanup", "export-metrics-aggregate"]) {
      expect(Number(series(text, "export_ops_job_staleness_seconds", `cron_job="${job}"`))).toBeGreaterThanOrEqual(40 * 86400);
      expect(series(text, "export_ops_job_overdue", `cron_job="${job}"`)).toBe("1");
    }
  });

  it("await their first run while it is not yet due", async () => {
    await sql().query("update export_ops_installation set installed_at = now()");
    const body = await health();
    expect(body.status).toBe("healthy");
    expect(body.jobs.map((j: { status: string }) => j.status)).toEqual(["awaiting_first_run", "awaiting_first_run", "awaiting_first_run"]);
    expect(series(await scrape(), "export_ops_job_staleness_seconds", 'cron_job="export-log-cleanup"')).toMatch(/^\d+$/);
  });
});

describe("a misconfigured deployment", () => {
  const call = () =>
    withCron(exportFileCleanup, { logger: captureLogger().logger })(
      new Request("http://localhost/api/cron/export-file-cleanup", { headers: { authorization: "Bearer whatever-the-caller-sends" } }),
    );

  it.each([
    ["unset", ""],
    ["a placeholder", "undefined"],
  ])("records a call refused because CRON_SECRET is %s as a failed run (config_error), at most once a minute", async (_, value) => {
    vi.stubEnv("CRON_SECRET", value);
    expect((await call()).status).toBe(500);
    expect((await call()).status).toBe(500);
    const history = await runs("export-file-cleanup");
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ status: "failed", dry_run: false, error: { code: "config_error" } });
    expect(JSON.stringify(history[0].error)).not.toContain(value || "\u0000");
    expect(await jobHealth("export-file-cleanup")).toMatchObject({ status: "failing", last_error: { code: "config_error" } });
  });

  it("only logs a call with a wrong bearer", async () => {
    expect((await call()).status).toBe(401);
    expect(await runs("export-file-cleanup")).toEqual([]);
  });
});

describe("exports stopped", () => {
  let server: Server;
  let received: { text: string; export_ops: { alert: string; state: string } }[] = [];
  let url = "";
  beforeEach(async () => {
    received = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        res.end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  });
  afterEach(() => new Promise((resolve) => server.close(resolve)));

  const T = new Date("2026-06-15T14:00:00Z");
  const at = (hours: number) => new Date(T.getTime() + hours * 3_600_000);
  /** One export an hour at every hour in [from, to). */
  const exportsBetween = (from: number, to: number) =>
    sql().query(
      `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms, recorded_at)
       select gen_random_uuid(), gen_random_uuid(), 'csv', 'completed', 1, 'small', 100, $1::timestamptz + make_interval(hours => h)
       from generate_series(0, $2 - 1) h`,
      [at(from), to - from],
    );
  const run = (hours: number) =>
    runJob(
      exportMetricsAggregate,
      {},
      { clock: fixedClock(at(hours).toISOString()), env: testEnv({ ALERT_WEBHOOK_URL: url, EXPORT_SILENCE_ALERT_HOURS: "6" }) },
    );

  it("fires once when a usually busy product records no exports for the configured hours, and resolves once", async () => {
    await exportsBetween(-7 * 24, -5); // a busy week, then silence from T-5h
    const quiet = await run(0);
    expect(quiet.exports_stopped).toMatchObject({ state: "ok", transition: null, judged: true, recent: 1 });

    const fired = await run(2); // nothing since T-5h: 6 hours without an export at T+1h
    expect(fired.exports_stopped).toMatchObject({ state: "firing", transition: "fired", alert: true, recent: 0, busy_days: 7 });
    expect((await run(3)).exports_stopped).toMatchObject({ state: "firing", transition: null });
    const text = await scrape();
    expect(series(text, "export_ops_alert_firing", 'alert="exports_stopped"')).toBe("1");
    expect(series(text, "export_ops_alert_firing", 'alert="export_failure_rate"')).toBe("0");
    expect((await health()).alerts.exports_stopped.state).toBe("firing");

    await exportsBetween(3, 4);
    expect((await run(4)).exports_stopped).toMatchObject({ state: "ok", transition: "resolved" });
    expect((await run(5)).exports_stopped).toMatchObject({ state: "ok", transition: null });
    expect(received.filter((r) => r.export_ops.alert === "exports_stopped").map((r) => r.export_ops.state)).toEqual(["firing", "ok"]);
    expect(received[0]!.text).toContain("No exports recorded for 6 hours");
  });

  it("is not judged for a product whose same hours were quiet on most of the previous days", async () => {
    await exportsBetween(-24 - 6, -24); // only yesterday had exports at this time
    const result = await run(0);
    expect(result.exports_stopped).toMatchObject({ state: "ok", judged: false, busy_days: 1 });
    expect(received).toEqual([]);
  });

  it("exposes the last export's time", async () => {
    await exportsBetween(-3, -2);
    expect(Number(series(await scrape(), "export_ops_last_export_timestamp_seconds", ""))).toBe(at(-3).getTime() / 1000);
  });
});

describe("a daily aggregation (Vercel Hobby)", () => {
  it("judges the failure rate over the whole day since the alert's last evaluation, not only the last hour", async () => {
    const day = new Date("2026-06-20T04:00:00Z");
    const run = (hours: number) =>
      runJob(exportMetricsAggregate, {}, { clock: fixedClock(new Date(day.getTime() + hours * 3_600_000).toISOString()) });
    expect((await run(0)).alert).toMatchObject({ state: "ok", total_count: 0 });
    // failures through the morning, a quiet last hour before the next daily run
    await sql().query(
      `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms, error_type, recorded_at)
       select gen_random_uuid(), gen_random_uuid(), 'csv', case when g % 2 = 0 then 'failed' else 'completed' end, 1, 'small', 100,
              case when g % 2 = 0 then 'TimeoutError' end, $1::timestamptz + make_interval(mins => g * 10)
       from generate_series(1, 40) g`,
      [new Date(day.getTime() + 2 * 3_600_000)],
    );
    const next = await run(24);
    expect(next.alert).toMatchObject({ state: "firing", transition: "fired", failed_count: 20, total_count: 40 });
  });
});

describe("stuck exports", () => {
  it("counts exports queued or processing longer than EXPORT_STUCK_HOURS, and health is degraded", async () => {
    await seedExports({ count: 2, status: "processing", ageHours: 30 });
    await seedExports({ count: 1, status: "queued", ageHours: 26 });
    await seedExports({ count: 4, status: "processing", ageHours: 2 });
    await runJob(exportMetricsAggregate, {});
    const body = await health();
    expect(body).toMatchObject({ status: "degraded", exports_stuck: 3 });
    expect(series(await scrape(), "export_ops_exports_stuck", "")).toBe("3");
    vi.stubEnv("EXPORT_STUCK_HOURS", "48");
    expect((await health()).exports_stuck).toBe(0);
  });
});

describe("the database owns time", () => {
  it("rolls a metric committed just after its hour ended into that hour", async () => {
    const hour = new Date("2026-06-15T10:00:00Z");
    const clock = (iso: string) => fixedClock(iso);
    await sql().query(
      "insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms, recorded_at) values (gen_random_uuid(), gen_random_uuid(), 'csv', 'completed', 1, 'small', 100, $1)",
      [new Date(hour.getTime() - 3_600_000)],
    );
    // the hourly run fires at 11:00:01, while an export's transaction stamped 10:59:59.9 has not committed yet
    const early = await runJob(exportMetricsAggregate, {}, { clock: clock("2026-06-15T11:00:01Z") });
    expect(early.last_hour).toBe("2026-06-15T09:00:00.000Z");
    await sql().query(
      "insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms, recorded_at) values (gen_random_uuid(), gen_random_uuid(), 'csv', 'completed', 1, 'small', 100, '2026-06-15T10:59:59.9Z')",
    );
    const later = await runJob(exportMetricsAggregate, {}, { clock: clock("2026-06-15T11:05:01Z") });
    expect(later.last_hour).toBe("2026-06-15T10:00:00.000Z");
    const { rows } = await sql().query("select total from export_ops_metric_hours where hour = '2026-06-15T10:00:00Z'");
    expect(rows).toEqual([{ total: 1 }]);
  });

  it("judges a lease by the database clock, whatever the app's clock says", async () => {
    await sql().query(
      "insert into export_ops_leases (job, run_id, expires_at) values ('export-log-cleanup', $1, now() + interval '10 minutes')",
      [randomUUID()],
    );
    const fast = { now: () => new Date(Date.now() + 15 * 60_000) }; // an app clock 15 minutes fast
    const dbNow = async () => (await sql().query<{ now: Date }>("select clock_timestamp() as now")).rows[0]!.now.getTime();
    const before = await dbNow();
    expect(await invokeJob(exportLogCleanup, {}, { clock: fast })).toMatchObject({ skipped: true });
    const after = await dbNow();
    const { rows } = await sql().query("select status, started_at from export_ops_runs where job = 'export-log-cleanup'");
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe("skipped");
    // the run's time is the database's: between two readings of its clock around the call, not the app's
    expect(rows[0].started_at.getTime()).toBeGreaterThanOrEqual(before);
    expect(rows[0].started_at.getTime()).toBeLessThanOrEqual(after);
  });
});
