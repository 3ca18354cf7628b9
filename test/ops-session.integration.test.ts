/**
 * The ops page's sign-in and sign-out against the local stack: a session lives in export_ops_ops_sessions, so
 * signing out ends it for whoever holds the cookie, "sign out everywhere" ends them all, and the cookie's
 * `Secure` follows what the deployment really is.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_FORM_BYTES, opsAccess, signIn as signInWith, signOut, type SessionOverrides } from "../lib/http/ops-session";
import { memorySignInThrottle, type SignInThrottle } from "../lib/ops/sign-in-throttle";
import { captureLogger, fixedClock } from "./doubles";
import { closeSql, sql, stack } from "./helpers/stack";

const TOKEN = "ops-sign-in-test-token-0123456789";
const clock = fixedClock(new Date().toISOString());
// each test its own throttle (the route's is one per instance)
let throttle: SignInThrottle;
const signIn = (overrides: SessionOverrides = {}) => signInWith({ throttle, ...overrides });

beforeEach(async () => {
  throttle = memorySignInThrottle();
  vi.stubEnv("SUPABASE_URL", stack.SUPABASE_URL);
  vi.stubEnv("SUPABASE_SERVICE_ROLE_KEY", stack.SUPABASE_SERVICE_ROLE_KEY);
  vi.stubEnv("OPS_TOKEN", TOKEN);
  vi.stubEnv("HEALTH_TOKEN", "the-health-token-of-this-test-0123");
  vi.stubEnv("VERCEL", undefined);
  vi.stubEnv("EXPORT_OPS_BASE_URL", undefined);
  await sql().query("truncate export_ops_ops_sessions");
});
afterEach(() => vi.unstubAllEnvs());
afterAll(closeSql);

const post = (path: string, form: Record<string, string> | null, headers: Record<string, string> = {}) =>
  new Request(`http://localhost:3000${path}`, {
    method: "POST",
    headers: {
      host: "ops.example.com",
      origin: "https://ops.example.com",
      "content-type": "application/x-www-form-urlencoded",
      ...headers,
    },
    body: form ? new URLSearchParams(form) : null,
  });

const cookieValue = (res: Response) => /^export_ops_session=([^;]*)/.exec(res.headers.get("set-cookie") ?? "")?.[1];
const signedIn = async () => cookieValue(await signIn({ clock })(post("/ops/sign-in", { token: TOKEN })))!;
const withCookie = (value: string, form: Record<string, string> | null = null) =>
  post("/ops/sign-out", form, { cookie: `other=1; export_ops_session=${value}` });
const sessions = async () => (await sql().query("select count(*)::int as n from export_ops_ops_sessions")).rows[0].n;

describe("POST /ops/sign-in", () => {
  it("opens a session and sets its signed cookie for the right token", async () => {
    const res = await signIn({ clock })(post("/ops/sign-in", { token: TOKEN }));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/ops");
    expect(res.headers.get("set-cookie")).toMatch(
      /^export_ops_session=v2\.[^;]+; Path=\/ops; Max-Age=43200; HttpOnly; SameSite=Strict; Secure$/,
    );
    expect(await sessions()).toBe(1);
    expect(await opsAccess(cookieValue(res), { clock })).toBe("signed_in");
  });

  it("refuses a wrong or missing token, and HEALTH_TOKEN, with a message on the form; no cookie, no session, no token logged", async () => {
    const capture = captureLogger();
    for (const form of [{ token: `${TOKEN}x` }, { token: "" }, {}, { token: "the-health-token-of-this-test-0123" }] as Record<
      string,
      string
    >[]) {
      const res = await signIn({ clock, logger: capture.logger })(post("/ops/sign-in", form, { "x-forwarded-for": "198.51.100.7" }));
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/ops?sign_in=refused");
      expect(res.headers.get("set-cookie")).toBeNull();
    }
    expect(await sessions()).toBe(0);
    // the first refusal is logged at once; the others are counted (a line per client and window, not per attempt)
    expect(capture.lines()).toEqual([
      expect.objectContaining({ level: "warn", type: "request_unauthorized", route: "ops/sign-in", client: "198.51.100.7", failures: 1 }),
    ]);
    expect(capture.raw.join("\n")).not.toContain(TOKEN);
  });

  describe("guessing", () => {
    const from = (client: string, token: string) => post("/ops/sign-in", { token }, { "x-forwarded-for": `${client}, 10.0.0.1` });
    const minutes = (n: number) => n * 60_000;

    it("answers 429 with Retry-After once a client has failed 10 times, before the token is read: the right one too", async () => {
      const capture = captureLogger();
      const clock = fixedClock(new Date().toISOString());
      const route = signIn({ clock, logger: capture.logger });
      for (let i = 0; i < 10; i++) expect((await route(from("198.51.100.7", `${TOKEN}-${i}`))).status).toBe(303);
      clock.advance(minutes(5));
      const held = await route(from("198.51.100.7", TOKEN));
      expect(held.status).toBe(429);
      expect(held.headers.get("retry-after")).toBe("600");
      expect(held.headers.get("set-cookie")).toBeNull();
      expect((await held.json()).error).toMatchObject({ code: "too_many_requests", details: { retry_after_seconds: 600 } });
      expect(await sessions()).toBe(0);
      // another address is not held off
      expect((await route(from("198.51.100.8", TOKEN))).status).toBe(303);
      expect(await sessions()).toBe(1);
      expect(capture.lines()).toHaveLength(1);

      // the window is over: the client may try again, and its window is logged once, with its counts
      clock.advance(minutes(10));
      const again = await route(from("198.51.100.7", TOKEN));
      expect(again.status).toBe(303);
      expect(again.headers.get("location")).toBe("/ops");
      expect(capture.lines()).toHaveLength(2);
      expect(capture.lines()[1]).toMatchObject({
        level: "warn",
        type: "request_unauthorized",
        route: "ops/sign-in",
        scope: "client",
        client: "198.51.100.7",
        failures: 10,
        throttled: 1,
      });
      expect(capture.raw.join("\n")).not.toContain(TOKEN);
    });

    it("answers 429 to everyone once the instance has seen 100 failures in the window, from however many addresses", async () => {
      const capture = captureLogger();
      const route = signIn({ clock, logger: capture.logger });
      for (let i = 0; i < 100; i++) expect((await route(from(`203.0.113.${i}`, `${TOKEN}-${i}`))).status).toBe(303);
      const held = await route(from("192.0.2.1", TOKEN));
      expect(held.status).toBe(429);
      expect(Number(held.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await sessions()).toBe(0);
      const overall = capture.lines().filter((l) => l.scope === "overall");
      expect(overall).toEqual([
        expect.objectContaining({ level: "warn", type: "request_unauthorized", route: "ops/sign-in", failures: 100, clients: 100 }),
      ]);
      expect(capture.lines()).toHaveLength(101);
    });

    it("counts no failure for a refused cross-site form or an oversized body (no token was tried)", async () => {
      const route = signIn({ clock });
      for (let i = 0; i < 12; i++) {
        expect(
          (await route(post("/ops/sign-in", { token: "x" }, { origin: "https://evil.example", "x-forwarded-for": "198.51.100.7" }))).status,
        ).toBe(403);
        expect(
          (await route(post("/ops/sign-in", null, { "content-length": String(1024 * 1024), "x-forwarded-for": "198.51.100.7" }))).status,
        ).toBe(413);
      }
      expect((await route(from("198.51.100.7", TOKEN))).status).toBe(303);
      expect(await sessions()).toBe(1);
    });
  });

  it("refuses a body over the limit before reading it whole: declared, or streamed without a length", async () => {
    const declared = await signIn({ clock })(post("/ops/sign-in", null, { "content-length": String(400 * 1024 * 1024) }));
    expect(declared.status).toBe(413);
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new TextEncoder().encode(`token=${"x".repeat(1024)}`));
      },
    });
    const streamed = await signIn({ clock })(
      new Request("http://localhost:3000/ops/sign-in", {
        method: "POST",
        body: endless,
        duplex: "half",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      } as RequestInit),
    );
    expect(streamed.status).toBe(413);
    expect((await streamed.json()).error).toMatchObject({ code: "payload_too_large", details: { limit_bytes: MAX_FORM_BYTES } });
    expect(pulled).toBeLessThan(10);
    expect(await sessions()).toBe(0);
  });

  it("refuses a form posted from another site", async () => {
    const res = await signIn({ clock })(post("/ops/sign-in", { token: TOKEN }, { origin: "https://evil.example" }));
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("answers 404 while OPS_TOKEN is unset, unusable, guessable, or the same as another secret", async () => {
    vi.stubEnv("METRICS_TOKEN", "the-metrics-token-of-this-test-0123");
    vi.stubEnv("CRON_SECRET", "the-cron-secret-of-this-test-0123");
    for (const value of [
      "",
      "short",
      "ops-".repeat(10),
      "the-health-token-of-this-test-0123",
      "the-metrics-token-of-this-test-0123",
      "the-cron-secret-of-this-test-0123",
    ]) {
      vi.stubEnv("OPS_TOKEN", value);
      expect((await signIn({ clock })(post("/ops/sign-in", { token: value }))).status).toBe(404);
      expect(await opsAccess(undefined, { clock })).toBe("off");
    }
  });

  it.each([
    [
      "behind a TLS proxy (forwarded https)",
      { host: "localhost:3000", "x-forwarded-proto": "https", origin: "https://localhost:3000" },
      true,
    ],
    ["at a public Host", { host: "ops.example.com", origin: "https://ops.example.com" }, true],
    ["on localhost over plain HTTP", { host: "localhost:3000", origin: "http://localhost:3000" }, false],
  ])("sets a cookie that is Secure %s: %s", async (_, headers, secure) => {
    const res = await signIn({ clock })(post("/ops/sign-in", { token: TOKEN }, headers));
    expect(res.headers.get("set-cookie")!.endsWith("; Secure")).toBe(secure);
  });
});

describe("POST /ops/sign-out", () => {
  it("ends the session server-side: the same cookie replayed no longer opens the page", async () => {
    const mine = await signedIn();
    const other = await signedIn();
    const res = await signOut({ clock })(withCookie(mine));
    expect(res.status).toBe(303);
    expect(res.headers.get("set-cookie")).toMatch(/^export_ops_session=; Path=\/ops; Max-Age=0;/);
    expect(await opsAccess(mine, { clock })).toBe("signed_out");
    expect(await opsAccess(other, { clock })).toBe("signed_in");
  });

  it("signs out everywhere: every session ends, a stolen cookie's included", async () => {
    const stolen = await signedIn();
    const mine = await signedIn();
    await signOut({ clock })(withCookie(mine, { everywhere: "true" }));
    expect(await opsAccess(stolen, { clock })).toBe("signed_out");
    expect(await opsAccess(mine, { clock })).toBe("signed_out");
    expect(await sessions()).toBe(0);
  });

  it("cannot sign others out with an ended session's cookie", async () => {
    const old = await signedIn();
    await signOut({ clock })(withCookie(old));
    const live = await signedIn();
    await signOut({ clock })(withCookie(old, { everywhere: "true" }));
    expect(await opsAccess(live, { clock })).toBe("signed_in");
  });

  it("refuses a cross-site sign-out", async () => {
    const mine = await signedIn();
    expect(
      (await signOut({ clock })(post("/ops/sign-out", null, { origin: "https://evil.example", cookie: `export_ops_session=${mine}` })))
        .status,
    ).toBe(403);
    expect(await opsAccess(mine, { clock })).toBe("signed_in");
  });
});

describe("the page gate", () => {
  it("is signed out without a cookie, with an expired one, and after the token is rotated", async () => {
    expect(await opsAccess(undefined, { clock })).toBe("signed_out");
    const session = await signedIn();
    expect(await opsAccess(session, { clock })).toBe("signed_in");
    expect(await opsAccess(session, { clock: fixedClock(new Date(Date.now() + 13 * 3600_000).toISOString()) })).toBe("signed_out");
    vi.stubEnv("OPS_TOKEN", "the-rotated-ops-token-0123456789");
    expect(await opsAccess(session, { clock })).toBe("signed_out");
  });

  it("prunes ended sessions when someone signs in", async () => {
    await sql().query(
      "insert into export_ops_ops_sessions (session_id, expires_at) values (gen_random_uuid(), now() - interval '1 minute')",
    );
    await signedIn();
    expect(await sessions()).toBe(1);
  });
});
