import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { captureLogger } from "../../test/doubles";
import { idleLoad } from "../jobs/pacing";
import { continueLater } from "./continuation";

let server: Server | undefined;
// the hand-over's timer is fake: it fires only when a test moves the time, so no answer races it on a slow machine
beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] }));
afterEach(async () => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/**
 * A stand-in for the deployment: `answer` decides what the continuation's request gets. `arrived` resolves when
 * the first request has come in, `closed` when its connection has closed (the caller gave up or was answered).
 */
async function deployment(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const requests: { url: string; authorization?: string }[] = [];
  let arrived = () => {};
  let closed = () => {};
  const events = { arrived: new Promise<void>((r) => (arrived = r)), closed: new Promise<void>((r) => (closed = r)) };
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? "", authorization: req.headers.authorization });
    res.on("close", closed);
    arrived();
    answer(req, res);
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { base: `http://127.0.0.1:${(server!.address() as { port: number }).port}`, requests, ...events };
}

/** Schedules a continuation to `base`; `handedOver` is the promise handed to waitUntil, `settled` says whether it has. */
async function schedule(base: string, handoffMs = 5_000) {
  const capture = captureLogger();
  const handed: Promise<unknown>[] = [];
  const state = await continueLater({
    job: "export-log-cleanup",
    request: new Request(`${base}/api/cron/export-log-cleanup?batch_size=500`),
    result: { has_more: true, dry_run: false },
    db: { call: vi.fn(async () => true) } as never,
    secret: "continuation-unit-test-secret",
    logger: capture.logger,
    waitUntil: (p) => void handed.push(p),
    handoffMs,
  });
  expect(state).toBe("scheduled");
  expect(handed).toHaveLength(1);
  let settled = false;
  const handedOver = handed[0]!.finally(() => (settled = true));
  return { handedOver, settled: () => settled, lines: () => capture.lines() };
}

describe("continueLater", () => {
  it("settles on the answer's status line while the body streams forever, and logs the status", async () => {
    const { base, requests, closed } = await deployment((_req, res) => {
      res.writeHead(202, { "content-type": "application/json" });
      const drip = setInterval(() => res.write(" "), 50);
      res.on("close", () => clearInterval(drip));
    });
    // the hand-over time never passes here: only the status line can settle the promise, and the body never ends
    const { handedOver, lines } = await schedule(base);
    await handedOver;
    await closed; // and the caller hung up rather than read the body
    expect(requests).toEqual([
      { url: "/api/cron/export-log-cleanup?batch_size=500&continuation=true", authorization: "Bearer continuation-unit-test-secret" },
    ]);
    expect(lines()).toContainEqual(
      expect.objectContaining({ type: "continuation_called", status: 202, level: "info", msg: expect.any(String) }),
    );
    expect(lines().some((l) => l.type === "continuation_unconfirmed")).toBe(false);
  });

  it("stops waiting after the hand-over time when no answer comes, and says it is unconfirmed", async () => {
    const { base, arrived, closed } = await deployment(() => undefined); // never answers
    const { handedOver, settled, lines } = await schedule(base, 300);
    await arrived;
    await vi.advanceTimersByTimeAsync(299);
    expect(settled()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await handedOver;
    await closed;
    expect(lines()).toContainEqual(expect.objectContaining({ type: "continuation_unconfirmed", timeout_ms: 300, level: "warn" }));
  });

  it.each([401, 307, 500])("logs an answer %i as refused, with its status", async (status) => {
    const { base } = await deployment((_req, res) => {
      res.writeHead(status, status === 307 ? { location: "https://vercel.com/sso" } : {});
      res.end();
    });
    const { handedOver, lines } = await schedule(base);
    await handedOver;
    expect(lines()).toContainEqual(expect.objectContaining({ type: "continuation_refused", status, level: "warn" }));
    expect(lines().some((l) => l.type === "continuation_called")).toBe(false);
  });

  it("holds back a run the load governor stopped: no call, and the answer and the log say why", async () => {
    const capture = captureLogger();
    const handed: Promise<unknown>[] = [];
    const db = { call: vi.fn(async () => true) };
    const reason = "3 log delete batches in a row took 12 times or more the time per row of the run's fastest (stop_factor 10)";
    const state = await continueLater({
      job: "export-log-cleanup",
      request: new Request("http://127.0.0.1:1/api/cron/export-log-cleanup"),
      result: { has_more: true, dry_run: false, load: { ...idleLoad(), stopped_for_load: reason } },
      db: db as never,
      secret: "continuation-unit-test-secret",
      logger: capture.logger,
      waitUntil: (p) => void handed.push(p),
    });
    expect(state).toBe("held_for_load");
    expect(handed).toEqual([]);
    expect(db.call).not.toHaveBeenCalled(); // not counted against the day's continuations either
    expect(capture.lines()).toContainEqual(expect.objectContaining({ type: "continuation_held_for_load", level: "info", reason }));
  });

  it("logs a call that could not be sent", async () => {
    const { base } = await deployment(() => undefined);
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    const { handedOver, lines } = await schedule(base);
    await handedOver;
    expect(lines()).toContainEqual(expect.objectContaining({ type: "continuation_failed", level: "warn", error: expect.any(String) }));
  });
});
