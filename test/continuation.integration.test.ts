/**
 * A backlog finishes without waiting for the next schedule: with a test-only time budget, a log-cleanup backlog
 * needing several invocations is finished through continuations — the route calling itself after its response —
 * each recorded with its trigger, none overlapping, bounded per day.
 */
import { createServer, type Server } from "node:http";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_CONTINUATIONS_PER_DAY } from "../lib/http/continuation";
import { withCron } from "../lib/http/with-cron";
import { exportLogCleanup } from "../lib/jobs";
import { captureLogger, tickingClock } from "./doubles";
import { resetData, seedExports } from "./helpers/exports";
import { closeSql, sql, stack } from "./helpers/stack";

const SECRET = "continuation-test-cron-secret-0123456789";
let server: Server;
let base = "";
/** Every promise handed to waitUntil: each hand-over, and each continuation's run after its 202. */
let pending: Promise<unknown>[] = [];
let logged: ReturnType<typeof captureLogger>;

beforeEach(async () => {
  await resetData();
  pending = [];
  vi.stubEnv("SUPABASE_URL", stack.SUPABASE_URL);
  vi.stubEnv("SUPABASE_SERVICE_ROLE_KEY", stack.SUPABASE_SERVICE_ROLE_KEY);
  vi.stubEnv("CRON_SECRET", SECRET);
  // the route as a deployment serves it, with a budget counted in clock readings rather than real time (each
  // reading moves the clock 10 ms, the budget is 80 ms): a few 500-row batches per invocation on any machine
  logged = captureLogger();
  const handler = withCron(exportLogCleanup, {
    logger: logged.logger,
    clock: tickingClock(10),
    deadline: (startedAt) => startedAt + 80,
    waitUntil: (p) => void pending.push(p),
  });
  server = createServer((req, res) => {
    void handler(new Request(`${base}${req.url}`, { headers: req.headers as Record<string, string> })).then(async (response) => {
      res.writeHead(response.status, { "content-type": "application/json" });
      res.end(await response.text());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await new Promise((resolve) => server.close(resolve));
});
afterAll(closeSql);

async function runs() {
  const { rows } = await sql().query(
    "select trigger, status, started_at, finished_at, (result->>'has_more')::boolean as has_more, (result->>'deleted_count')::int as deleted from export_ops_runs where job = 'export-log-cleanup' order by started_at",
  );
  return rows;
}

/**
 * The runs once the chain of continuations has ended: when every promise handed to waitUntil has settled and no
 * new one was handed over meanwhile. Each link hands the next over before it settles (a run hands over its
 * continuation before it ends; a continuation's route hands over its run before it answers 202), so nothing is
 * left running then.
 */
async function settled() {
  for (let seen = -1; seen !== pending.length;) {
    seen = pending.length;
    await Promise.allSettled(pending);
  }
  return runs();
}

describe("continuations", () => {
  it("finish a backlog that needs several invocations, each recorded, none overlapping", async () => {
    await seedExports({ count: 9_000, status: "expired", ageHours: 40 * 24 });
    const first = await fetch(`${base}/api/cron/export-log-cleanup?batch_size=500&prune_metrics=false`, {
      headers: { authorization: `Bearer ${SECRET}` },
    });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ result: { has_more: true }, continuation: "scheduled" });

    const history = await settled();
    expect(history.length).toBeGreaterThanOrEqual(3);
    expect(history.length).toBeLessThanOrEqual(18);
    expect(history[0].trigger).toBe("manual");
    expect(history.slice(1).every((r) => r.trigger === "continuation")).toBe(true);
    expect(history.every((r) => r.status === "succeeded" || r.status === "partial")).toBe(true);
    for (let i = 1; i < history.length; i += 1)
      expect(history[i].started_at.getTime()).toBeGreaterThanOrEqual(history[i - 1].finished_at.getTime());
    expect(history.reduce((n, r) => n + r.deleted, 0)).toBe(9_000);
    expect((await sql().query("select count(*)::int as n from export_logs")).rows[0].n).toBe(0);
    // every hand-over was answered 202 and logged, none waited out the hand-over time, and each continuation handed
    // waitUntil its hand-over and its run, all settled
    const handedOver = logged.lines().filter((l) => l.type === "continuation_called");
    expect(handedOver).toHaveLength(history.length - 1);
    expect(handedOver.every((l) => l.status === 202)).toBe(true);
    expect(logged.lines().filter((l) => l.type === "continuation_unconfirmed")).toEqual([]);
    expect(pending).toHaveLength(2 * (history.length - 1));
  });

  it("stops at the daily bound, and says so", async () => {
    await seedExports({ count: 20_000, status: "expired", ageHours: 40 * 24 });
    await sql().query(
      `insert into export_ops_runs (run_id, job, trigger, started_at, finished_at, deadline_at, status)
       select gen_random_uuid(), 'export-log-cleanup', 'continuation', now(), now(), now(), 'partial' from generate_series(1, $1)`,
      [MAX_CONTINUATIONS_PER_DAY],
    );
    const res = await fetch(`${base}/api/cron/export-log-cleanup?batch_size=500&prune_metrics=false`, {
      headers: { authorization: `Bearer ${SECRET}` },
    });
    expect(await res.json()).toMatchObject({ result: { has_more: true }, continuation: "daily_limit_reached" });
  });

  it("does not continue a dry run, or a run that finished", async () => {
    await seedExports({ count: 10, status: "expired", ageHours: 40 * 24 });
    const dry = await fetch(`${base}/api/cron/export-log-cleanup?dry_run=true`, { headers: { authorization: `Bearer ${SECRET}` } });
    expect(await dry.json()).toMatchObject({ continuation: null });
    const done = await fetch(`${base}/api/cron/export-log-cleanup`, { headers: { authorization: `Bearer ${SECRET}` } });
    expect(await done.json()).toMatchObject({ result: { has_more: false }, continuation: null });
  });
});
