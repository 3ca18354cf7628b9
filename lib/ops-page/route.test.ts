/**
 * The ops page's handler without a database: its routing (and every 404), the sign-in form, the dashboard and a
 * run's detail read from a fake SQL API holding hostile text, and the headers, the strict content security policy
 * above all: no 'unsafe-inline', and the hashes in it are those of the page's one style block and one script.
 */
import { createHash, randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DatabaseError } from "../errors";
import type { SqlApi } from "../ports";
import { signSession } from "../ops/session";
import { captureLogger, fixedClock } from "../../test/doubles";
import { opsPageRoute, routeOf } from "./route";

const TOKEN = "ops-page-route-test-token-0123456789";
const NOW = "2026-11-25T12:30:00Z";
const RUN_ID = "0b7c2a52-8a0e-4d0c-9a55-2d8f2f0e7c11";
const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

const hours = Array.from({ length: 48 }, (_, i) =>
  new Date(Date.parse("2026-11-23T13:00:00Z") + i * 3_600_000).toISOString().replace(".000Z", "+00:00"),
);
const days = Array.from({ length: 30 }, (_, i) => new Date(Date.parse("2026-10-27T00:00:00Z") + i * 86_400_000).toISOString().slice(0, 10));

const fixtures: Record<string, unknown> = {
  export_ops_session_live: true,
  export_ops_close_abandoned_runs: 0,
  export_ops_page_jobs: {
    "export-file-cleanup": {
      last_status: "failed",
      last_started_at: "2026-11-25T02:00:00+00:00",
      last_finished_at: "2026-11-25T02:00:05+00:00",
      last_duration_ms: 5000,
      last_error: { code: "storage_error", message: HOSTILE },
      last_success_at: "2026-11-24T02:00:04+00:00",
      consecutive_failures: 1,
      running: 0,
      installed_at: "2026-10-01T00:00:00+00:00",
      totals: {},
      last_run_id: RUN_ID,
      last_trigger: "vercel_cron",
      has_more: true,
      backlog: 100_000,
    },
  },
  export_ops_checkin_states: {},
  export_ops_page_alerts: {
    alerts: {
      export_failure_rate: { state: "firing", changed_at: "2026-11-25T11:00:00+00:00", evaluated_at: "2026-11-25T12:00:00+00:00" },
    },
    transitions: [{ alert: "export_failure_rate", state: "firing", at: "2026-11-25T11:00:00+00:00", message: HOSTILE }],
  },
  export_ops_page_exports: {
    per_hour: hours.map((hour, i) => ({ hour, completed: i === 47 ? null : i, failed: i === 47 ? null : i % 3 })),
    per_day: days.map((day, i) => ({ day, completed: i * 10, failed: i, hours: 24 })),
    success_rate_24h: 0.9,
    success_rate_30d: 0.95,
    total_24h: 300,
    total_30d: 5000,
    p95_by_format: [{ format: HOSTILE, completed: 10, p95_ms: 2400 }],
    failures_by_error_type: [{ error_type: HOSTILE, count: 3 }],
  },
  export_ops_page_cleanup: {
    files_deleted_per_day: days.map((day, i) => ({ day, files: i, orphans: i % 2 })),
    quarantined: 2,
    log_backlog: 7,
    log_backlog_age_seconds: 86_400,
    archive_objects_30d: 1,
    archive_objects_total: 3,
    archived_rows_30d: 500,
    storage_objects: 10,
    storage_bytes: 123_456,
  },
  export_ops_bucket_states: { installed_at: null, buckets: { exports: { exists: true, public: false, created_by_export_ops: true } } },
  export_ops_page_runs: [
    {
      run_id: RUN_ID,
      job: "export-file-cleanup",
      trigger: "vercel_cron",
      status: "failed",
      dry_run: false,
      started_at: "2026-11-25T02:00:00+00:00",
      duration_ms: 5000,
      has_more: true,
      counts: { deleted_count: 3 },
      error: { code: "storage_error", message: HOSTILE },
    },
  ],
  export_ops_page_run: {
    run_id: RUN_ID,
    job: "export-file-cleanup",
    trigger: "vercel_cron",
    status: "failed",
    dry_run: false,
    started_at: "2026-11-25T02:00:00+00:00",
    duration_ms: 5000,
    finished_at: "2026-11-25T02:00:05+00:00",
    deadline_at: "2026-11-25T02:05:00+00:00",
    error: { code: "storage_error", message: HOSTILE },
    result: { has_more: true, note: HOSTILE },
  },
};

/** A SQL API answering each function from `answers`; a function given as an Error rejects with it. */
function fakeDb(answers: Record<string, unknown> = fixtures): SqlApi & { calls: string[] } {
  const calls: string[] = [];
  const call = (fn: string, args?: { p_run_id?: string }) => {
    calls.push(fn);
    if (!(fn in answers)) return Promise.reject(new Error(`unexpected call: ${fn}`));
    const answer = answers[fn];
    if (answer instanceof Error) return Promise.reject(answer);
    if (fn === "export_ops_page_run" && args?.p_run_id !== RUN_ID) return Promise.resolve(null);
    return Promise.resolve(structuredClone(answer));
  };
  return { call: call as SqlApi["call"], calls };
}

const clock = fixedClock(NOW);
const cookie = () => `theme=dark; export_ops_session=${signSession(TOKEN, clock.now()).value}`;
const get = (path: string, headers: Record<string, string> = {}) => new Request(`http://localhost:3000${path}`, { headers });

beforeEach(() => {
  vi.stubEnv("SUPABASE_URL", "http://127.0.0.1:9");
  vi.stubEnv("SUPABASE_SERVICE_ROLE_KEY", "service-role-key-of-this-test");
  vi.stubEnv("OPS_TOKEN", TOKEN);
  vi.stubEnv("HEALTH_TOKEN", undefined);
  vi.stubEnv("METRICS_TOKEN", undefined);
  vi.stubEnv("CRON_SECRET", undefined);
});
afterEach(() => vi.unstubAllEnvs());

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

/** The page's inline blocks, each checked against the policy sent with it. */
function expectStrictPolicy(res: Response, body: string): void {
  const policy = res.headers.get("content-security-policy")!;
  expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|unsafe-hashes|nonce-|\*|https?:/);
  const directives = Object.fromEntries(policy.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1)]));
  expect(directives["default-src"]).toEqual(["'none'"]);
  expect(directives["frame-ancestors"]).toEqual(["'none'"]);
  const styles = [...body.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
  const scripts = [...body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  expect(styles).toHaveLength(1);
  expect(scripts).toHaveLength(1);
  expect(directives["style-src"]).toEqual([sha256(styles[0]!)]);
  expect(directives["script-src"]).toEqual([sha256(scripts[0]!)]);
  // nothing else the policy would have to allow: no other script or style element, no style or on* attribute
  expect(body.match(/<script|<style/g)).toHaveLength(2);
  const tags = body.match(/<[a-z][^>]*>/gi) ?? [];
  expect(tags.filter((tag) => /\sstyle=|\son[a-z]+=/i.test(tag.replace(/"[^"]*"/g, '""')))).toEqual([]);
  expect(res.headers.get("x-frame-options")).toBe("DENY");
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("referrer-policy")).toBe("same-origin");
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
}

describe("routing", () => {
  it("reads the raw path under the base", () => {
    expect(routeOf("/ops", "/ops")).toEqual({ view: "dashboard" });
    expect(routeOf("/ops/", "/ops")).toEqual({ view: "dashboard" });
    expect(routeOf(`/ops/runs/${RUN_ID}`, "/ops")).toEqual({ view: "run", runId: RUN_ID });
    expect(routeOf("/ops/sign-in", "/ops")).toEqual({ view: "sign-in" });
    expect(routeOf("/ops/sign-out", "/ops")).toEqual({ view: "sign-out" });
    for (const path of [
      "/",
      "/opsx",
      "/ops/runs",
      "/ops/runs/",
      `/ops/runs/${RUN_ID}/x`,
      "/ops/runs/%E0%A4%A",
      `/ops/runs/${RUN_ID.slice(0, -2)}%31%32`,
      "/ops/sign-in/x",
      "/api/ops",
    ]) {
      expect(routeOf(path, "/ops"), path).toBeNull();
    }
    expect(routeOf("/admin/export-ops/runs/" + RUN_ID, "/admin/export-ops")).toEqual({ view: "run", runId: RUN_ID });
  });

  it.each([
    ["an unknown path", "/ops/nothing-here"],
    ["a path beside the base", "/opsx"],
    ["a run id that is not a UUID", "/ops/runs/not-a-uuid"],
    ["a malformed percent-escape", "/ops/runs/%E0%A4%A"],
    ["a lone percent sign", "/ops/runs/%"],
    ["a very long id", `/ops/runs/${"x".repeat(6000)}`],
    ["the sign-in route by GET", "/ops/sign-in"],
  ])("answers 404 to %s, signed in or not, before reading anything", async (_, path) => {
    const db = fakeDb();
    const { GET } = opsPageRoute({ overrides: { db, clock } });
    for (const headers of [{}, { cookie: cookie() }] as Record<string, string>[]) {
      const res = await GET(get(path, headers));
      expect(res.status).toBe(404);
      expect(await res.text()).toBe("Not found\n");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    }
    expect(db.calls).toEqual([]);
  });

  it.each([undefined, "", "short", "ops-".repeat(10)])("answers 404 to every path and method while OPS_TOKEN is %j", async (value) => {
    vi.stubEnv("OPS_TOKEN", value);
    const db = fakeDb();
    const { GET, POST } = opsPageRoute({ overrides: { db, clock } });
    for (const path of ["/ops", `/ops/runs/${RUN_ID}`]) expect((await GET(get(path, { cookie: cookie() }))).status).toBe(404);
    const form = {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost:3000" },
      body: `token=${TOKEN}`,
    };
    expect((await POST(new Request("http://localhost:3000/ops/sign-in", form))).status).toBe(404);
    expect((await POST(new Request("http://localhost:3000/ops", form))).status).toBe(404);
    expect(db.calls).toEqual([]);
  });

  it("answers POST to anything but sign-in and sign-out with 404", async () => {
    const { POST } = opsPageRoute({ overrides: { db: fakeDb(), clock } });
    for (const path of ["/ops", `/ops/runs/${RUN_ID}`, "/ops/nothing"])
      expect((await POST(new Request(`http://localhost:3000${path}`, { method: "POST" }))).status).toBe(404);
  });
});

describe("the page", () => {
  it("shows the sign-in form without a session, and the refusal after a wrong token, under a strict policy", async () => {
    const { GET } = opsPageRoute({ overrides: { db: fakeDb(), clock } });
    const res = await GET(get("/ops"));
    const body = await res.text();
    expect(res.status).toBe(200);
    expectStrictPolicy(res, body);
    expect(body).toContain('<form method="post" action="/ops/sign-in">');
    expect(body).toContain('<label for="token">Ops token</label>');
    expect(body).not.toContain("<h2");
    expect(body).not.toContain('role="alert"');
    const refused = await (await GET(get("/ops?sign_in=refused"))).text();
    expect(refused).toContain('<p role="alert" class="error">That token was refused');
  });

  it("shows every panel once signed in, every text escaped, under a strict policy", async () => {
    const logs = captureLogger();
    const { GET } = opsPageRoute({ overrides: { db: fakeDb(), clock, logger: logs.logger } });
    const res = await GET(get("/ops", { cookie: cookie() }));
    const body = await res.text();
    expect(res.status).toBe(200);
    expectStrictPolicy(res, body);
    for (const heading of ["Jobs", "Alerts", "Exports", "Cleanup", "Recent runs"]) expect(body).toContain(`>${heading}</h2>`);
    expect(body).not.toContain(HOSTILE);
    expect(body).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(body).toContain('<data value="100000" data-field="backlog">100,000+</data>');
    expect(body).toContain(`<tr data-run="${RUN_ID}">`);
    expect(body).toContain(`<a href="/ops/runs/${RUN_ID}">`);
    expect(body).toContain('<tr data-transition="export_failure_rate">');
    expect(body).toContain('<tr data-bucket="exports">');
    expect(body.match(/<figure class="chart"/g)).toHaveLength(3);
    expect(body).toContain('<button type="submit">Sign out</button>');
    expect(body).toContain('<time datetime="2026-11-25T12:30:00.000Z">2026-11-25 12:30 UTC</time>');
    expect(logs.lines()).toEqual([]);
  });

  it("shows a failed panel's message in its place, the other panels' figures, and logs it once", async () => {
    const logs = captureLogger();
    const db = fakeDb({ ...fixtures, export_ops_page_exports: new Error("canceling statement due to statement timeout") });
    const { GET } = opsPageRoute({ overrides: { db, clock, logger: logs.logger } });
    const body = await (await GET(get("/ops", { cookie: cookie() }))).text();
    expect(body.match(/Could not read this panel/g)).toHaveLength(1);
    expect(body).toContain('data-field="storage_objects"');
    expect(body).not.toContain('data-field="total_24h"');
    expect(logs.lines().filter((l) => l.type === "ops_page_failed")).toEqual([expect.objectContaining({ panel: "exports" })]);
  });

  it("says it could not read the database when a read fails as a whole", async () => {
    const logs = captureLogger();
    const db = fakeDb({ ...fixtures, export_ops_page_run: new DatabaseError("export_ops_page_run failed: connection refused") });
    const { GET } = opsPageRoute({ overrides: { db, clock, logger: logs.logger } });
    const res = await GET(get(`/ops/runs/${RUN_ID}`, { cookie: cookie() }));
    const body = await res.text();
    expectStrictPolicy(res, body);
    expect(body).toContain(
      '<p role="alert" class="error">Could not read the database: export_ops_page_run failed: connection refused. Check SUPABASE_URL',
    );
    expect(logs.lines()).toEqual([expect.objectContaining({ type: "ops_page_failed" })]);
  });

  it("shows a run in full once signed in, 404 for an unknown one, and sends a signed-out reader to sign in", async () => {
    const { GET } = opsPageRoute({ overrides: { db: fakeDb(), clock } });
    const res = await GET(get(`/ops/runs/${RUN_ID}`, { cookie: cookie() }));
    const body = await res.text();
    expect(res.status).toBe(200);
    expectStrictPolicy(res, body);
    expect(body).toContain(`<code data-field="run_id">${RUN_ID}</code>`);
    expect(body).toMatch(/<pre data-field="result">\{\n {2}&quot;has_more&quot;: true,/);
    expect(body).not.toContain(HOSTILE);
    const unknown = await GET(get(`/ops/runs/${randomUUID()}`, { cookie: cookie() }));
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain("There is no such run");
    const signedOut = await GET(get(`/ops/runs/${RUN_ID}`));
    expect(signedOut.status).toBe(307);
    expect(signedOut.headers.get("location")).toBe("/ops");
  });

  it("answers a failure of its own with 500, without its detail", async () => {
    const logs = captureLogger();
    const { GET } = opsPageRoute({
      overrides: {
        db: fakeDb(),
        clock: {
          now: () => {
            throw new Error(HOSTILE);
          },
        },
        logger: logs.logger,
      },
    });
    const res = await GET(get("/ops", { cookie: cookie() }));
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("alert");
    expect(logs.lines()).toEqual([expect.objectContaining({ type: "ops_page_failed" })]);
  });

  it("serves at another base: its links, forms, redirects and cookie path follow it", async () => {
    const { GET, POST } = opsPageRoute({
      basePath: "/admin/export-ops/",
      overrides: { db: fakeDb({ ...fixtures, export_ops_open_session: null }), clock },
    });
    expect((await GET(get("/ops"))).status).toBe(404);
    expect(await (await GET(get("/admin/export-ops"))).text()).toContain('action="/admin/export-ops/sign-in"');
    const dashboard = await (await GET(get("/admin/export-ops", { cookie: cookie() }))).text();
    expect(dashboard).toContain(`<a href="/admin/export-ops/runs/${RUN_ID}">`);
    expect(dashboard).toContain('action="/admin/export-ops/sign-out"');
    const headers = { "content-type": "application/x-www-form-urlencoded", host: "localhost:3000", origin: "http://localhost:3000" };
    const signedIn = await POST(
      new Request("http://localhost:3000/admin/export-ops/sign-in", { method: "POST", headers, body: `token=${TOKEN}` }),
    );
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get("location")).toBe("/admin/export-ops");
    expect(signedIn.headers.get("set-cookie")).toMatch(/; Path=\/admin\/export-ops; /);
    expect(signedIn.headers.get("x-frame-options")).toBe("DENY");
    const refused = await POST(
      new Request("http://localhost:3000/admin/export-ops/sign-in", {
        method: "POST",
        headers: { ...headers, "x-forwarded-for": "198.51.100.9" },
        body: "token=wrong-token-of-this-test-0123",
      }),
    );
    expect(refused.headers.get("location")).toBe("/admin/export-ops?sign_in=refused");
    expect(() => opsPageRoute({ basePath: "ops" })).toThrow(/basePath/);
  });
});
