import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { captureLogger, fixedClock } from "../../test/doubles";
import { verifySession } from "../ops/session";
import { opsAccess, signIn, signOut } from "./ops-session";

const TOKEN = "ops-sign-in-test-token-0123456789";
const clock = fixedClock("2026-11-25T12:00:00Z");

beforeEach(() => vi.stubEnv("HEALTH_TOKEN", TOKEN));
afterEach(() => vi.unstubAllEnvs());

const post = (path: string, form: Record<string, string> | null, headers: Record<string, string> = {}) =>
  new Request(`https://ops.example.com${path}`, {
    method: "POST",
    headers: { host: "ops.example.com", origin: "https://ops.example.com", ...headers },
    body: form ? new URLSearchParams(form) : null,
  });

const cookieValue = (res: Response) => /^export_ops_session=([^;]*)/.exec(res.headers.get("set-cookie") ?? "")?.[1];

describe("POST /ops/sign-in", () => {
  it("sets a signed session cookie and sends the browser back to /ops for the right token", async () => {
    const res = await signIn({ clock })(post("/ops/sign-in", { token: TOKEN }));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/ops");
    expect(res.headers.get("set-cookie")).toMatch(/HttpOnly; SameSite=Strict; Secure$/);
    expect(verifySession(cookieValue(res), TOKEN, clock.now())).toBe(true);
    expect(opsAccess(cookieValue(res), clock)).toBe("signed_in");
  });

  it("refuses a wrong or missing token with a message on the sign-in form, sets no cookie, and logs no token", async () => {
    const capture = captureLogger();
    for (const form of [{ token: `${TOKEN}x` }, { token: "" }, {}] as Record<string, string>[]) {
      const res = await signIn({ clock, logger: capture.logger })(post("/ops/sign-in", form));
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/ops?sign_in=refused");
      expect(res.headers.get("set-cookie")).toBeNull();
    }
    expect(capture.lines()).toHaveLength(3);
    expect(capture.raw.join("\n")).not.toContain(TOKEN);
  });

  it("refuses a form posted from another site", async () => {
    const res = await signIn({ clock })(post("/ops/sign-in", { token: TOKEN }, { origin: "https://evil.example" }));
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden");
  });

  it("answers 404 and shows no page while HEALTH_TOKEN is unset or unusable", async () => {
    for (const value of ["", "short"]) {
      vi.stubEnv("HEALTH_TOKEN", value);
      expect((await signIn({ clock })(post("/ops/sign-in", { token: value }))).status).toBe(404);
      expect(opsAccess(undefined, clock)).toBe("off");
    }
  });
});

describe("POST /ops/sign-out", () => {
  it("clears the cookie", async () => {
    const res = await signOut({ clock })(post("/ops/sign-out", null));
    expect(res.status).toBe(303);
    expect(res.headers.get("set-cookie")).toMatch(/^export_ops_session=; Path=\/ops; Max-Age=0;/);
  });

  it("refuses a cross-site sign-out", async () => {
    expect((await signOut({ clock })(post("/ops/sign-out", null, { origin: "https://evil.example" }))).status).toBe(403);
  });
});

describe("the page gate", () => {
  it("is signed out without a cookie, with an expired one, and after the token is rotated", async () => {
    expect(opsAccess(undefined, clock)).toBe("signed_out");
    const session = cookieValue(await signIn({ clock })(post("/ops/sign-in", { token: TOKEN })));
    expect(opsAccess(session, clock)).toBe("signed_in");
    expect(opsAccess(session, fixedClock("2026-11-26T00:00:01Z"))).toBe("signed_out");
    vi.stubEnv("HEALTH_TOKEN", "the-rotated-health-token-0123456789");
    expect(opsAccess(session, clock)).toBe("signed_out");
  });
});
