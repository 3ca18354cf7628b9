import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { captureLogger } from "../../test/doubles";
import { continueLater } from "./continuation";

let server: Server | undefined;
afterEach(async () => {
  vi.unstubAllEnvs();
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A stand-in for the deployment: `answer` decides what the continuation's request gets. */
async function deployment(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const requests: { url: string; authorization?: string }[] = [];
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? "", authorization: req.headers.authorization });
    answer(req, res);
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { base: `http://127.0.0.1:${(server!.address() as { port: number }).port}`, requests };
}

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
  const started = Date.now();
  await handed[0];
  return { elapsed: Date.now() - started, lines: capture.lines() };
}

describe("continueLater", () => {
  it("settles on the answer's status line while the body streams forever, and logs the status", async () => {
    const { base, requests } = await deployment((_req, res) => {
      res.writeHead(202, { "content-type": "application/json" });
      const drip = setInterval(() => res.write(" "), 50);
      res.on("close", () => clearInterval(drip));
    });
    const { elapsed, lines } = await schedule(base);
    expect(elapsed).toBeLessThan(2_000);
    expect(requests).toEqual([{ url: "/api/cron/export-log-cleanup?batch_size=500&continuation=true", authorization: "Bearer continuation-unit-test-secret" }]);
    expect(lines).toContainEqual(expect.objectContaining({ type: "continuation_called", status: 202, level: "info", msg: expect.any(String) }));
  });

  it("stops waiting after the hand-over time when no answer comes, and says it is unconfirmed", async () => {
    const { base } = await deployment(() => undefined); // never answers
    const { elapsed, lines } = await schedule(base, 300);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2_000);
    expect(lines).toContainEqual(expect.objectContaining({ type: "continuation_unconfirmed", timeout_ms: 300, level: "warn" }));
  });

  it.each([401, 307, 500])("logs an answer %i as refused, with its status", async (status) => {
    const { base } = await deployment((_req, res) => {
      res.writeHead(status, status === 307 ? { location: "https://vercel.com/sso" } : {});
      res.end();
    });
    const { lines } = await schedule(base);
    expect(lines).toContainEqual(expect.objectContaining({ type: "continuation_refused", status, level: "warn" }));
    expect(lines.some((l) => l.type === "continuation_called")).toBe(false);
  });

  it("logs a call that could not be sent", async () => {
    const { base } = await deployment(() => undefined);
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    const { lines } = await schedule(base);
    expect(lines).toContainEqual(expect.objectContaining({ type: "continuation_failed", level: "warn", error: expect.any(String) }));
  });
});
