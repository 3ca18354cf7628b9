// The root proxy.ts, given the raw URL as Next hands it over with skipProxyUrlNormalize (next.config.ts).
import { randomBytes } from "node:crypto";
import { NextRequest } from "next/server";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { config, proxy } from "../../proxy";

const SECRET = randomBytes(24).toString("base64url");
const passedOn = (res: Response) => res.headers.get("x-middleware-next") === "1";
const cron = (query: string, authorization?: string) =>
  proxy(
    new NextRequest(`http://localhost:3000/api/cron/export-file-cleanup?${query}`, { headers: authorization ? { authorization } : {} }),
  );

beforeEach(() => vi.stubEnv("CRON_SECRET", SECRET));
afterEach(() => vi.unstubAllEnvs());

describe("proxy: a cron route's query as sent", () => {
  it("runs on the cron routes and the ops page only", () => {
    expect(config.matcher).toEqual(["/ops/:path*", "/api/cron/:path*"]);
  });

  it.each(["__proto__=1", "%5F%5Fproto%5F%5F=1", "dry_run=true&__proto__=", "__proto__"])(
    "answers ?%s with the bearer 400, naming __proto__, as the handler answers an unknown parameter",
    async (query) => {
      const res = cron(query, `Bearer ${SECRET}`);
      expect(res.status).toBe(400);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(await res.json()).toMatchObject({
        success: false,
        error: { code: "bad_request", message: "Unknown query parameter: __proto__", details: { parameter: "__proto__" } },
      });
    },
  );

  it("passes a call without the right bearer on, so that the handler answers 401 as for any query", () => {
    expect(passedOn(cron("__proto__=1"))).toBe(true);
    expect(passedOn(cron("__proto__=1", "Bearer wrong"))).toBe(true);
  });

  it("passes it on while CRON_SECRET is unusable, so that the handler refuses to run and records why", () => {
    vi.stubEnv("CRON_SECRET", "short");
    expect(passedOn(cron("__proto__=1", "Bearer short"))).toBe(true);
  });

  it("passes every other query on to the handler, whose rules apply (constructor, repeats, unknown names)", () => {
    for (const query of ["", "dry_run=true", "constructor=1", "dry_run=true&dry_run=false", "not_an_option=1", "proto=1"]) {
      expect(passedOn(cron(query, `Bearer ${SECRET}`))).toBe(true);
    }
  });
});

describe("proxy: the ops page", () => {
  it("passes every path the router can decode on to the ops page's handler, and answers a malformed escape its 404", async () => {
    for (const p of ["/ops", "/ops/runs/0b9f6a3e-2f4e-4a8a-9d8e-1f2a3b4c5d6e", "/ops/runs/not-a-uuid"])
      expect(passedOn(proxy(new NextRequest(`http://localhost:3000${p}`))), p).toBe(true);
    for (const p of ["/ops/runs/%E0%A4%A", "/ops/%", "/ops/x%E0"]) {
      const res = proxy(new NextRequest(`http://localhost:3000${p}`));
      expect(res.status, p).toBe(404);
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });
});
