/**
 * The ops page's sign-in and sign-out against the local stack: a session lives in export_ops_ops_sessions, so
 * signing out ends it for whoever holds the cookie, "sign out everywhere" ends them all, and the cookie's
 * `Secure` follows what the deployment really is.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_FORM_BYTES, opsAccess, signIn, signOut } from "../lib/http/ops-session";
import { captureLogger, fixedClock } from "./doubles";
import { closeSql, sql, stack } from "./helpers/stack";

const TOKEN = "ops-sign-in-test-token-0123456789";
const clock = fixedClock(new Date().toISOString());

beforeEach(async () => {
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
    headers: { host: "ops.example.com", origin: "https://ops.example.com", "content-type": "application/x-www-form-urlencoded", ...headers },
    body: form ? new URLSearchParams(form) : null,
  });

const cookieValue = (res: Response) => /^export_ops_session=([^;]*)/.exec(res.headers.get("set-cookie") ?? "")?.[1];
const signedIn = async () => cookieValue(await signIn({ clock })(post("/ops/sign-in", { token: TOKEN })))!;
const withCookie = (value: string, form: Record<string, string> | null = null) => post("/ops/sign-out", form, { cookie: `other=1; export_ops_session=${value}` });
const sessions = async () => (await sql().query("select count(*)::int as n from export_ops_ops_sessions")).rows[0].n;

describe("POST /ops/sign-in", () => {
  it("opens a session and sets its signed cookie for the right token", async () => {
    const res = await signIn({ clock })(post("/ops/sign-in", { token: TOKEN }));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/ops");
    expect(res.headers.get("set-cookie")).toMatch(/^export_ops_session=v2\.[^;]+; Path=\/ops; Max-Age=43200; HttpOnly; SameSite=Strict; Secure$/);
    expect(await sessions()).toBe(1);
    expect(await opsAccess(cookieValue(res), { clock })).toBe("signed_in");
  });

  it("refuses a wrong or missing token, and HEALTH_TOKEN, with a message on the form; no cookie, no session, no token logged", async () => {
    const capture = captureLogger();
    for (const form of [{ token: `${TOKEN}x` }, { token: "" }, {}, { token: "the-health-token-of-this-test-0123" }] as Record<string, string>[]) {
      const res = await signIn({ clock, logger: capture.logger })(post("/ops/sign-in", form));
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/ops?sign_in=refused");
      expect(res.headers.get("set-cookie")).toBeNull();
    }
    expect(await sessions()).toBe(0);
    expect(capture.lines()).toHaveLength(4);
    expect(capture.raw.join("\n")).not.toContain(TOKEN);
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
      new Request("http://localhost:3000/ops/sign-in", { method: "POST", body: endless, duplex: "half", headers: { "content-type": "application/x-www-form-urlencoded" } } as RequestInit),
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

  it("answers 404 while OPS_TOKEN is unset, unusable, or the same as HEALTH_TOKEN", async () => {
    for (const value of ["", "short", "the-health-token-of-this-test-0123"]) {
      vi.stubEnv("OPS_TOKEN", value);
      expect((await signIn({ clock })(post("/ops/sign-in", { token: value }))).status).toBe(404);
      expect(await opsAccess(undefined, { clock })).toBe("off");
    }
  });

  it.each([
    ["behind a TLS proxy (forwarded https)", { host: "localhost:3000", "x-forwarded-proto": "https", origin: "https://localhost:3000" }, true],
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
    expect((await signOut({ clock })(post("/ops/sign-out", null, { origin: "https://evil.example", cookie: `export_ops_session=${mine}` }))).status).toBe(403);
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
    await sql().query("insert into export_ops_ops_sessions (session_id, expires_at) values (gen_random_uuid(), now() - interval '1 minute')");
    await signedIn();
    expect(await sessions()).toBe(1);
  });
});
