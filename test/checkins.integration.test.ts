/**
 * Check-ins against local receivers standing in for Healthchecks.io, Cronitor, Sentry Crons and a heartbeat: the
 * exact requests of a succeeded, a failed, a skipped and a killed-then-abandoned run, in order, through the real
 * runner and run history; a receiver that hangs or answers 500 changes nothing in the run. And scheduled
 * deliveries: a second delivery of one occurrence is recorded `skipped` and does nothing, for every job.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { describeCheckinTargets } from "../lib/checkins/checkins";
import { withCron } from "../lib/http/with-cron";
import { loadOpsRun, readOpsPanels } from "../lib/ops/page-data";
import { detailedHealth } from "../lib/reporting/health";
import { exportFileCleanup, exportLogCleanup, exportMetricsAggregate, jobs } from "../lib/jobs";
import type { JobDefinition } from "../lib/jobs/job";
import { executeJob } from "../lib/jobs/runner";
import { captureLogger, fixedClock } from "./doubles";
import { schedulesHeaders, SCHEDULE_ID } from "./fixtures/schedule-deliveries";
import { ports, resetData, testEnv } from "./helpers/exports";
import { closeSql, sql, stack } from "./helpers/stack";

interface Received {
  method: string;
  path: string;
  query: Record<string, string[]>;
  body: unknown;
}

let receiver: Server;
let base = "";
let received: Received[] = [];
let mode: "ok" | "hang" | "500" = "ok";
/** Per request left unanswered (mode "hang"): resolves when the sender has given up on it and closed the connection. */
let givenUp: Promise<void>[] = [];
const KEY = "s3cr3t-ping-key-0123456789";

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://receiver");
      const query: Record<string, string[]> = {};
      for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
      received.push({ method: req.method ?? "", path: url.pathname, query, body: body ? JSON.parse(body) : null });
      if (mode === "hang") return void givenUp.push(new Promise((resolve) => res.on("close", resolve))); // never answers
      res.writeHead(mode === "500" ? 500 : 200).end("OK");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
});
afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  await closeSql();
});
beforeEach(async () => {
  await resetData();
  received = [];
  givenUp = [];
  mode = "ok";
});
afterEach(() => vi.unstubAllEnvs());

const URLS = {
  healthchecks: () => `${base}/${KEY}/{job}`,
  cronitor: () => `${base}/p/${KEY}/{job}`,
  sentry: () => `${base}/api/42/cron/{job}/${KEY}/`,
  heartbeat: () => `${base}/api/v1/heartbeat/${KEY}-{job}`,
} as const;
type ProviderName = keyof typeof URLS;

function envFor(provider: ProviderName, overrides: Record<string, string> = {}) {
  return testEnv({ EXPORT_OPS_CHECKIN_URL: URLS[provider](), EXPORT_OPS_CHECKIN_PROVIDER: provider, ...overrides });
}

async function run(
  job: JobDefinition,
  provider: ProviderName,
  options: { env?: Record<string, string>; clock?: ReturnType<typeof fixedClock>; runId?: string; dryRun?: boolean } = {},
) {
  const logged = captureLogger();
  const runId = options.runId ?? randomUUID();
  const clock = options.clock ?? fixedClock(new Date().toISOString());
  const result = await executeJob(
    job,
    { env: envFor(provider, options.env), ports: ports(), clock, logger: logged.logger, trigger: "vercel_cron", runId },
    job.optionsSchema.parse(options.dryRun ? { dry_run: "true" } : {}),
  ).catch((error: unknown) => ({ thrown: error }));
  return { result, runId, logged };
}

/** The requests as "METHOD path?query" (query in sent order), with the receiver's base and key left out. */
const shown = () =>
  received.map((r) => {
    const q = Object.entries(r.query).flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`));
    return `${r.method} ${r.path.replace(KEY, "KEY")}${q.length ? `?${q.join("&")}` : ""}`;
  });

async function status(runId: string) {
  const { rows } = await sql().query("select status from export_ops_runs where run_id = $1", [runId]);
  return rows[0]?.status as string | undefined;
}

/** A failed run: the file cleanup refuses a bucket that does not exist (ConfigError before any work). */
const failing = { env: { EXPORTS_BUCKET: "no-such-bucket-here" } };
const job = exportFileCleanup;
const J = job.id;

describe("check-ins: the exact requests per provider", () => {
  it("Healthchecks.io: /start, then success or /fail, each with rid; nothing for a skipped run", async () => {
    const ok = await run(job, "healthchecks");
    expect(await status(ok.runId)).toBe("succeeded");
    expect(shown()).toEqual([`GET /KEY/${J}/start?rid=${ok.runId}`, `GET /KEY/${J}?rid=${ok.runId}`]);

    received = [];
    const bad = await run(job, "healthchecks", failing);
    expect(await status(bad.runId)).toBe("failed");
    expect(shown()).toEqual([`GET /KEY/${J}/start?rid=${bad.runId}`, `GET /KEY/${J}/fail?rid=${bad.runId}`]);

    received = [];
    const other = randomUUID();
    await sql().query(
      "insert into export_ops_leases (job, run_id, acquired_at, expires_at) values ($1, $2, now(), now() + interval '1 hour')",
      [exportLogCleanup.id, other],
    );
    const skipped = await run(exportLogCleanup, "healthchecks");
    expect(skipped.result).toMatchObject({ skipped: true, reason: "another run holds the lease" });
    expect(shown()).toEqual([]);

    const dry = await run(job, "healthchecks", { dryRun: true });
    expect(await status(dry.runId)).toBe("succeeded");
    expect(shown()).toEqual([]); // dry runs send nothing
  });

  it("Cronitor: state=run, then complete or fail, with series and the duration, count and error_count metrics", async () => {
    const ok = await run(job, "cronitor");
    const bad = await run(job, "cronitor", failing);
    const s = shown().map((line) => line.replace(/duration:[0-9.]+/, "duration:D"));
    expect(s).toEqual([
      `GET /p/KEY/${J}?state=run&series=${ok.runId}`,
      `GET /p/KEY/${J}?state=complete&series=${ok.runId}&metric=duration:D&metric=count:0&metric=error_count:0`,
      `GET /p/KEY/${J}?state=run&series=${bad.runId}`,
      `GET /p/KEY/${J}?state=fail&series=${bad.runId}&metric=duration:D&metric=count:0&metric=error_count:1`,
    ]);
  });

  it("Sentry Crons: a POST in_progress that upserts the monitor from the registry, then ok or error with the same check_in_id", async () => {
    const ok = await run(job, "sentry");
    const bad = await run(job, "sentry", failing);
    expect(shown()).toEqual([
      `POST /api/42/cron/${J}/KEY/`,
      `GET /api/42/cron/${J}/KEY/?check_in_id=${ok.runId}&status=ok`,
      `POST /api/42/cron/${J}/KEY/`,
      `GET /api/42/cron/${J}/KEY/?check_in_id=${bad.runId}&status=error`,
    ]);
    expect(received[0]!.body).toEqual({
      check_in_id: ok.runId,
      status: "in_progress",
      monitor_config: {
        schedule: { type: "crontab", value: job.schedule },
        checkin_margin: 180,
        max_runtime: Math.ceil(job.maxDurationSeconds / 60),
        timezone: "UTC",
      },
    });
  });

  it("heartbeat: one GET on success, nothing on start or failure", async () => {
    await run(job, "heartbeat");
    await run(job, "heartbeat", failing);
    expect(shown()).toEqual([`GET /api/v1/heartbeat/KEY-${J}`]);
  });

  it.each(["healthchecks", "cronitor", "sentry"] as const)(
    "%s: a run killed after its start is reported failed by the next run, before that run's own start",
    async (provider) => {
      const t0 = fixedClock(new Date().toISOString());
      const killed = randomUUID();
      let entered = () => {};
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const hanging = { ...exportMetricsAggregate, run: () => (entered(), new Promise<never>(() => undefined)) } as JobDefinition;
      void run(hanging, provider, { clock: t0, runId: killed }); // never finishes: the process is "killed"
      await inside; // the runner is past the start check-in (told, and recorded as told): the job itself hangs
      expect(received).toHaveLength(1);
      expect(await status(killed)).toBe("running");

      const later = fixedClock(new Date(t0.now().getTime() + (2 * exportMetricsAggregate.maxDurationSeconds + 120) * 1000).toISOString());
      const next = await run(exportMetricsAggregate, provider, { clock: later });
      expect(await status(killed)).toBe("abandoned");
      expect(await status(next.runId)).toBe("succeeded");
      const ids = received.map(
        (r) =>
          r.query.rid?.[0] ?? r.query.series?.[0] ?? r.query.check_in_id?.[0] ?? (r.body as { check_in_id?: string } | null)?.check_in_id,
      );
      const events = received.map(
        (r) => r.query.state?.[0] ?? r.query.status?.[0] ?? (r.body as { status?: string } | null)?.status ?? r.path.split("/").pop(),
      );
      expect(ids).toEqual([killed, killed, next.runId, next.runId]);
      expect(events).toEqual(
        {
          healthchecks: ["start", "fail", "start", exportMetricsAggregate.id],
          cronitor: ["run", "fail", "run", "complete"],
          sentry: ["in_progress", "error", "in_progress", "ok"],
        }[provider],
      );

      // told once: a third run reports nothing more about the killed one
      received = [];
      await run(exportMetricsAggregate, provider, { clock: fixedClock(new Date(later.now().getTime() + 3_600_000).toISOString()) });
      expect(received).toHaveLength(2);
    },
  );
});

describe("check-ins never change a run", () => {
  it.each(["hang", "500"] as const)(
    "a receiver that %s: the run succeeds as without one, the failure is logged without the URL, recorded and counted",
    async (m) => {
      mode = m;
      const { runId, result, logged } = await run(job, "healthchecks");
      // a hanging receiver did not hold the run: the sender gave up on each check-in (its connection closed unanswered)
      expect(givenUp).toHaveLength(m === "hang" ? 2 : 0);
      await Promise.all(givenUp);
      expect(result).toMatchObject({ deleted_count: 0 });
      expect(await status(runId)).toBe("succeeded");
      const failed = logged.lines().filter((l) => l.type === "checkin_failed");
      expect(failed.map((l) => [l.event, l.error])).toEqual([
        ["start", m === "hang" ? "no answer within 3000 ms" : "HTTP 500"],
        ["success", m === "hang" ? "no answer within 3000 ms" : "HTTP 500"],
      ]);
      expect(logged.raw.join("\n")).not.toContain(KEY);
      const { rows } = await sql().query(
        "select event, delivered, http_status, error from export_ops_checkins where run_id = $1 order by event",
        [runId],
      );
      expect(rows.map((r) => [r.event, r.delivered, r.http_status])).toEqual([
        ["start", false, m === "500" ? 500 : null],
        ["success", false, m === "500" ? 500 : null],
      ]);
      const totals = await sql().query("select value::int from export_ops_job_totals where job = $1 and metric = 'checkins_failed'", [J]);
      expect(totals.rows[0]?.value).toBe(2);
    },
  );

  it("a run with no check-in target configured sends nothing and records nothing", async () => {
    const logged = captureLogger();
    const runId = randomUUID();
    await executeJob(
      job,
      { env: testEnv(), ports: ports(), clock: fixedClock(new Date().toISOString()), logger: logged.logger, trigger: "manual", runId },
      job.optionsSchema.parse({}),
    );
    expect(received).toEqual([]);
    expect((await sql().query("select count(*)::int as n from export_ops_checkins")).rows[0].n).toBe(0);
  });
});

describe("health and the ops page show each job's check-in target", () => {
  const read = async (env: ReturnType<typeof testEnv>) => {
    const clock = fixedClock(new Date().toISOString());
    const checkinTargets = describeCheckinTargets(
      env,
      jobs.map((j) => j.id),
    );
    const health = await detailedHealth(ports().db, jobs, clock, { stuckHours: 24, env, checkinTargets });
    const panels = await readOpsPanels(
      ports().db,
      jobs,
      { exportsBucket: "exports", fileRetentionHours: 24, logRetentionDays: 30, checkinTargets },
      clock,
    );
    if (!panels.jobs.ok) throw panels.jobs.error;
    return { health, page: panels.jobs.value };
  };

  it("per job: the provider and host (never the key), and the latest check-in's result; an undelivered one degrades health", async () => {
    // the provider read from each URL (auto): the receiver's address is no known provider's, so a heartbeat
    const env = envFor("healthchecks", {
      EXPORT_OPS_CHECKIN_PROVIDER: "auto",
      EXPORT_OPS_CHECKIN_URL_EXPORT_LOG_CLEANUP: `https://cronitor.link/p/${KEY}/logs`,
    });
    const before = await read(env);
    expect(before.health.checkins?.map((c) => [c.job, c.target?.provider, c.last_checkin])).toEqual([
      [exportFileCleanup.id, "heartbeat", null],
      [exportLogCleanup.id, "cronitor", null],
      [exportMetricsAggregate.id, "heartbeat", null],
    ]);
    expect(JSON.stringify(before)).not.toContain(KEY);

    await run(job, "healthchecks");
    mode = "500";
    const last = await run(exportMetricsAggregate, "healthchecks");
    const after = await read(env);
    const state = (id: string) => after.health.checkins?.find((c) => c.job === id)?.last_checkin;
    expect(state(J)).toMatchObject({ event: "success", delivered: true, http_status: 200, provider: "healthchecks" });
    expect(state(exportMetricsAggregate.id)).toMatchObject({
      event: "success",
      delivered: false,
      http_status: 500,
      error: "HTTP 500",
      run_id: last.runId,
    });
    expect(after.health.status).toBe("degraded");
    const pageJob = after.page.find((j) => j.id === exportMetricsAggregate.id)!;
    expect(pageJob.checkinTarget).toMatchObject({
      provider: "heartbeat",
      host: new URL(base).host,
      last: { delivered: false, error: "HTTP 500" },
    });
    expect(after.page.find((j) => j.id === J)!.checkinTarget?.last).toMatchObject({ delivered: true });

    const none = await read(testEnv());
    expect(none.page.every((j) => j.checkinTarget === null)).toBe(true);
    expect(none.health.checkins?.every((c) => c.target === null)).toBe(true);
  });
});

describe("scheduled deliveries: one occurrence runs once", () => {
  const SECRET = "checkins-test-cron-secret-0123456789";
  beforeEach(() => {
    vi.stubEnv("SUPABASE_URL", stack.SUPABASE_URL);
    vi.stubEnv("SUPABASE_SERVICE_ROLE_KEY", stack.SUPABASE_SERVICE_ROLE_KEY);
    vi.stubEnv("CRON_SECRET", SECRET);
  });
  const deliver = (j: JobDefinition, clock: ReturnType<typeof fixedClock>) =>
    withCron(j, { clock, logger: captureLogger().logger })(
      new Request(`http://app.test/api/cron/${j.id}`, {
        headers: { authorization: `Bearer ${SECRET}`, "user-agent": "vercel-cron/1.0", "x-vercel-cron-schedule": j.schedule },
      }),
    );

  it.each(jobs.map((j) => [j.id, j] as const))(
    "%s: a second delivery is answered and recorded skipped (duplicate), the next occurrence runs",
    async (_id, j) => {
      const clock = fixedClock("2026-12-01T03:00:20Z");
      const first = await deliver(j, clock);
      expect(first.status).toBe(200);
      expect((await first.json()).result.skipped).toBeUndefined();

      clock.advance(40_000); // a redelivery of the same occurrence, 40 s later
      const second = await deliver(j, clock);
      const body = await second.json();
      expect(second.status).toBe(200);
      expect(body.result).toMatchObject({ skipped: true, reason: "duplicate delivery" });
      expect(body.result.occurrence).toMatch(new RegExp(`^${j.schedule.replace(/[*]/g, "\\*")}@`));

      const { rows } = await sql().query(
        "select trigger, status, result->>'reason' as reason, result->>'first_run_id' as first from export_ops_runs where job = $1 order by started_at, status desc",
        [j.id],
      );
      expect(rows.map((r) => [r.trigger, r.status, r.reason])).toEqual([
        ["vercel_cron", expect.stringMatching(/succeeded|partial/), null],
        ["vercel_cron", "skipped", "duplicate delivery"],
      ]);
      expect(rows[1].first).toBe(body.result.first_run_id);

      // the schedule's next occurrence is a new one
      const period = { "0 * * * *": 3_600_000 }[j.schedule] ?? (j.schedule.split(" ")[2] === "*" ? 86_400_000 : 31 * 86_400_000);
      clock.advance(period);
      const third = await deliver(j, clock);
      expect((await third.json()).result.skipped).toBeUndefined();
    },
  );

  it.each(jobs.map((j) => [j.id, j] as const))(
    "%s: a dry run with Vercel's headers claims nothing, and the real delivery after it runs",
    async (_id, j) => {
      const clock = fixedClock("2026-12-01T03:00:20Z");
      const before = await sql().query("select count(*)::int as n from export_ops_occurrences where job = $1", [j.id]);
      const dry = await withCron(j as JobDefinition, { clock, logger: captureLogger().logger })(
        new Request(`http://app.test/api/cron/${j.id}?dry_run=true`, {
          headers: { authorization: `Bearer ${SECRET}`, "user-agent": "vercel-cron/1.0", "x-vercel-cron-schedule": j.schedule },
        }),
      );
      const dryBody = await dry.json();
      expect(dry.status).toBe(200);
      expect(dryBody.result).toMatchObject({ dry_run: true });
      expect(dryBody.result.skipped).toBeUndefined();
      const after = await sql().query("select count(*)::int as n from export_ops_occurrences where job = $1", [j.id]);
      expect(after.rows[0].n).toBe(before.rows[0].n);

      clock.advance(10_000); // the real delivery of the same occurrence
      const real = await deliver(j, clock);
      const body = await real.json();
      expect(body.result.skipped).toBeUndefined();
      expect(body.result.dry_run).toBeFalsy();
      const { rows } = await sql().query("select status, dry_run from export_ops_runs where job = $1 order by started_at", [j.id]);
      expect(rows.map((r) => [r.dry_run, r.status])).toEqual([
        [true, expect.stringMatching(/succeeded|partial/)],
        [false, expect.stringMatching(/succeeded|partial/)],
      ]);
    },
  );

  const leased = jobs.filter((j) => j.overlap === "skip");
  it.each(leased.map((j) => [j.id, j] as const))(
    "%s: a dry run holds no lease, so the real delivery arriving while it runs is not skipped",
    async (_id, j) => {
      expect(leased.length).toBeGreaterThan(0);
      const clock = fixedClock("2026-12-01T03:00:20Z");
      const base = ports();
      let realDuringDryRun: { skipped?: boolean } | undefined;
      const call = (async (fn: string, args: Record<string, unknown>) => {
        // the dry run has started and is doing its work: the scheduled delivery arrives now
        if (fn !== "export_ops_start_run" && realDuringDryRun === undefined) {
          realDuringDryRun = { skipped: false };
          realDuringDryRun = (await (await deliver(j, clock)).json()).result;
        }
        return (base.db.call as unknown as (f: string, a: Record<string, unknown>) => Promise<unknown>)(fn, args);
      }) as unknown as typeof base.db.call;
      const options = j.optionsSchema.parse({ dry_run: "true" });
      const dry = await executeJob(
        j as JobDefinition,
        { env: testEnv(), ports: { ...base, db: { call } }, clock, logger: captureLogger().logger, trigger: "manual" },
        options,
      );
      expect("skipped" in dry && dry.skipped).toBeFalsy();
      expect(realDuringDryRun).toBeDefined();
      expect(realDuringDryRun!.skipped).toBeUndefined();
    },
  );

  const schedule = (
    j: JobDefinition,
    clock: ReturnType<typeof fixedClock>,
    scheduledAt: Date,
    options: Parameters<typeof schedulesHeaders>[4] = {},
  ) =>
    withCron(j, { clock, logger: captureLogger().logger })(
      new Request(`http://app.test/api/cron/${j.id}`, { headers: schedulesHeaders(SECRET, j.schedule, j.id, scheduledAt, options) }),
    );

  it("Vercel Schedules: two deliveries of one execution ID run once, and the run shows the execution and when it was scheduled", async () => {
    const clock = fixedClock("2026-12-01T03:00:20Z");
    const scheduledAt = new Date("2026-12-01T03:00:00Z");
    const first = (await (await schedule(exportLogCleanup, clock, scheduledAt)).json()).result;
    expect(first.skipped).toBeUndefined();
    clock.advance(90_000); // a redelivery: the same execution, a later ce-time
    const second = (await (await schedule(exportLogCleanup, clock, scheduledAt, { firedAt: clock.now() })).json()).result;
    expect(second).toMatchObject({
      skipped: true,
      reason: "duplicate delivery",
      occurrence: `execution:${SCHEDULE_ID}:${scheduledAt.getTime()}`,
    });

    const { rows } = await sql().query("select run_id, status from export_ops_runs where job = $1 order by started_at", [
      exportLogCleanup.id,
    ]);
    expect(rows.map((r) => r.status)).toEqual([expect.stringMatching(/succeeded|partial/), "skipped"]);
    const run = await loadOpsRun(ports().db, rows[0].run_id);
    expect(run?.delivery).toEqual({
      occurrence: `execution:${SCHEDULE_ID}:${scheduledAt.getTime()}`,
      scheduled_at: expect.stringMatching(/^2026-12-01T03:00:00/),
      deliveries: 2,
    });
  });

  it("Vercel Schedules: two executions scheduled for the same minute both run (only the execution ID says which is which)", async () => {
    const clock = fixedClock("2026-12-01T03:00:20Z");
    const minute = new Date("2026-12-01T03:00:00Z");
    const one = (await (await schedule(exportMetricsAggregate, clock, minute)).json()).result;
    const other = (await (await schedule(exportMetricsAggregate, clock, new Date(minute.getTime() + 1))).json()).result;
    expect([one.skipped, other.skipped]).toEqual([undefined, undefined]);
    const { rows } = await sql().query(
      "select count(*)::int as n from export_ops_occurrences where job = $1 and occurrence like 'execution:%'",
      [exportMetricsAggregate.id],
    );
    expect(rows[0].n).toBe(2);
  });

  it("Vercel Schedules with ce-time and no ce-vssscheduledat: the scheduled time comes from ce-time", async () => {
    const clock = fixedClock("2026-12-01T03:00:20Z");
    const fired = new Date("2026-12-01T03:00:01.500Z");
    await schedule(exportFileCleanup, clock, new Date("2026-12-01T03:00:00Z"), { withScheduledAt: false, firedAt: fired });
    const { rows } = await sql().query("select scheduled_at from export_ops_occurrences where job = $1", [exportFileCleanup.id]);
    expect(rows.map((r) => (r.scheduled_at as Date).toISOString())).toEqual([fired.toISOString()]);
  });

  it("a manual call or a continuation is never taken for a duplicate", async () => {
    const clock = fixedClock("2026-12-01T03:00:20Z");
    for (let i = 0; i < 2; i++) {
      const res = await withCron(exportFileCleanup, { clock, logger: captureLogger().logger })(
        new Request(`http://app.test/api/cron/${exportFileCleanup.id}`, { headers: { authorization: `Bearer ${SECRET}` } }),
      );
      expect((await res.json()).result.skipped).toBeUndefined();
    }
  });
});
