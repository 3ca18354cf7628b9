import { describe, expect, it } from "vitest";
import { SESSION_SECONDS, sessionCookie, signSession, tokenMatches, verifySession } from "./session";

const TOKEN = "ops-session-test-token-0123456789";
const at = new Date("2026-11-25T12:00:00Z");

describe("ops session cookie", () => {
  it("verifies a session it signed until it expires after 12 hours", () => {
    const { value, maxAgeSeconds } = signSession(TOKEN, at);
    expect(maxAgeSeconds).toBe(SESSION_SECONDS);
    expect(verifySession(value, TOKEN, at)).toBe(true);
    expect(verifySession(value, TOKEN, new Date(at.getTime() + SESSION_SECONDS * 1000 - 1000))).toBe(true);
    expect(verifySession(value, TOKEN, new Date(at.getTime() + SESSION_SECONDS * 1000))).toBe(false);
  });

  it("refuses a forged, altered or extended cookie and every session once the token is rotated", () => {
    const { value } = signSession(TOKEN, at);
    const [, expires, mac] = value.split(".");
    expect(verifySession(`v1.${Number(expires) + 3600}.${mac}`, TOKEN, at)).toBe(false);
    expect(verifySession(`v1.${expires}.${mac!.slice(0, -1)}${mac!.endsWith("A") ? "B" : "A"}`, TOKEN, at)).toBe(false);
    expect(verifySession(signSession("someone-elses-token-0123456789", at).value, TOKEN, at)).toBe(false);
    expect(verifySession(value, "the-rotated-token-0123456789", at)).toBe(false);
    for (const junk of [undefined, "", "v1", "v1..", `v2.${expires}.${mac}`, TOKEN]) expect(verifySession(junk, TOKEN, at)).toBe(false);
  });

  it("never carries the token", () => {
    expect(signSession(TOKEN, at).value).not.toContain(TOKEN);
  });

  it("compares tokens whole, whatever their lengths", () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(TOKEN.slice(0, -1), TOKEN)).toBe(false);
    expect(tokenMatches(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(tokenMatches("", TOKEN)).toBe(false);
  });

  it("is httpOnly, SameSite=Strict, scoped to /ops, and Secure everywhere but localhost", () => {
    const deployed = sessionCookie("v", 60, "https://exports.example.com/ops/sign-in");
    expect(deployed.split("; ")).toEqual(["export_ops_session=v", "Path=/ops", "Max-Age=60", "HttpOnly", "SameSite=Strict", "Secure"]);
    expect(sessionCookie("v", 60, "http://localhost:3000/ops/sign-in")).not.toContain("Secure");
    expect(sessionCookie("v", 60, "http://127.0.0.1:3000/ops/sign-in")).not.toContain("Secure");
  });
});
