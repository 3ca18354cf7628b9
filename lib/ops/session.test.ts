import { describe, expect, it } from "vitest";
import { SESSION_SECONDS, cookieOf, sessionCookie, signSession, tokenMatches, verifySession } from "./session";

const TOKEN = "ops-session-test-token-0123456789";
const at = new Date("2026-11-25T12:00:00Z");

describe("ops session cookie", () => {
  it("names a fresh session and verifies it until it expires after 12 hours", () => {
    const session = signSession(TOKEN, at);
    expect(session.maxAgeSeconds).toBe(SESSION_SECONDS);
    expect(session.expiresAt.getTime()).toBe(at.getTime() + SESSION_SECONDS * 1000);
    expect(signSession(TOKEN, at).id).not.toBe(session.id);
    expect(verifySession(session.value, TOKEN, at)).toEqual({ id: session.id, expiresAt: session.expiresAt });
    expect(verifySession(session.value, TOKEN, new Date(at.getTime() + SESSION_SECONDS * 1000 - 1000))).not.toBeNull();
    expect(verifySession(session.value, TOKEN, new Date(at.getTime() + SESSION_SECONDS * 1000))).toBeNull();
  });

  it("refuses a forged, altered, re-pointed or extended cookie and every session once the token is rotated", () => {
    const { value } = signSession(TOKEN, at);
    const [, id, expires, mac] = value.split(".") as [string, string, string, string];
    expect(verifySession(`v2.${id}.${Number(expires) + 3600}.${mac}`, TOKEN, at)).toBeNull();
    expect(verifySession(`v2.${signSession(TOKEN, at).id}.${expires}.${mac}`, TOKEN, at)).toBeNull();
    expect(verifySession(`v2.${id}.${expires}.${mac.slice(0, -1)}${mac.endsWith("A") ? "B" : "A"}`, TOKEN, at)).toBeNull();
    expect(verifySession(signSession("someone-elses-token-0123456789", at).value, TOKEN, at)).toBeNull();
    expect(verifySession(value, "the-rotated-token-0123456789", at)).toBeNull();
    for (const junk of [undefined, "", "v2", "v2...", `v1.${expires}.${mac}`, TOKEN]) expect(verifySession(junk, TOKEN, at)).toBeNull();
  });

  it("never carries the token, nor a MAC keyed by the token itself", () => {
    const { value } = signSession(TOKEN, at);
    expect(value).not.toContain(TOKEN);
  });

  it("compares tokens whole, whatever their lengths", () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(TOKEN.slice(0, -1), TOKEN)).toBe(false);
    expect(tokenMatches(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(tokenMatches("", TOKEN)).toBe(false);
  });

  it("is httpOnly, SameSite=Strict, scoped to /ops, and Secure when asked", () => {
    expect(sessionCookie("v", 60, true).split("; ")).toEqual([
      "export_ops_session=v",
      "Path=/ops",
      "Max-Age=60",
      "HttpOnly",
      "SameSite=Strict",
      "Secure",
    ]);
    expect(sessionCookie("v", 60, false)).not.toContain("Secure");
  });

  it("finds its value in a Cookie header among others", () => {
    expect(cookieOf("a=1; export_ops_session=v2.x.y.z; b=2")).toBe("v2.x.y.z");
    expect(cookieOf("a=1")).toBeUndefined();
    expect(cookieOf(null)).toBeUndefined();
  });
});
