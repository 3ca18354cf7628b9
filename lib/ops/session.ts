/**
 * The ops page's sign-in: the operator types HEALTH_TOKEN once and gets a session cookie, so the token itself
 * never sits in a URL, a bookmark or the browser's history. The cookie holds its expiry and an HMAC of it keyed by
 * the token, so it needs no server-side store, cannot be forged without the token, expires after 12 hours, and
 * every session ends when the token is rotated.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export const SESSION_COOKIE = "export_ops_session";
export const SESSION_SECONDS = 12 * 60 * 60;

const sha256 = (value: string) => createHash("sha256").update(value).digest();

/** Constant time whatever the lengths: both sides are hashed first. */
export function tokenMatches(given: string, token: string): boolean {
  return timingSafeEqual(sha256(given), sha256(token));
}

function mac(expires: number, token: string): string {
  return createHmac("sha256", token).update(`export-ops ops session v1:${expires}`).digest("base64url");
}

export function signSession(token: string, now: Date): { value: string; maxAgeSeconds: number } {
  const expires = Math.floor(now.getTime() / 1000) + SESSION_SECONDS;
  return { value: `v1.${expires}.${mac(expires, token)}`, maxAgeSeconds: SESSION_SECONDS };
}

export function verifySession(value: string | undefined, token: string, now: Date): boolean {
  const match = /^v1\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value ?? "");
  if (!match) return false;
  const expires = Number(match[1]);
  if (expires * 1000 <= now.getTime()) return false;
  return tokenMatches(match[2]!, mac(expires, token));
}

/** The Set-Cookie header for a session (or, with maxAge 0, for clearing it). Secure except on localhost. */
export function sessionCookie(value: string, maxAgeSeconds: number, requestUrl: string): string {
  const { hostname } = new URL(requestUrl);
  const local = hostname === "localhost" || hostname === "127.0.0.1" || hostname === "[::1]";
  return [
    `${SESSION_COOKIE}=${value}`,
    "Path=/ops",
    `Max-Age=${maxAgeSeconds}`,
    "HttpOnly",
    "SameSite=Strict",
    ...(local ? [] : ["Secure"]),
  ].join("; ");
}
