/**
 * The ops page's session cookie: the operator types OPS_TOKEN once and gets a cookie, so the token itself never
 * sits in a URL, a bookmark or the browser's history. The cookie names a session (a row of
 * export_ops_ops_sessions, which sign-out deletes) and its expiry, with an HMAC of both keyed by a key derived from
 * the token (never the token itself), so it cannot be forged without the token, ends at sign-out or after 12
 * hours, and every session ends when the token is rotated.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from "node:crypto";

export const SESSION_COOKIE = "export_ops_session";
export const SESSION_SECONDS = 12 * 60 * 60;

const sha256 = (value: string) => createHash("sha256").update(value).digest();

/** Constant time whatever the lengths: both sides are hashed first. */
export function tokenMatches(given: string, token: string): boolean {
  return timingSafeEqual(sha256(given), sha256(token));
}

/** The cookie-signing key: derived from the token, for this one use. */
const signingKey = (token: string) => createHmac("sha256", token).update("export-ops ops session signing key v2").digest();

function mac(sessionId: string, expires: number, token: string): string {
  return createHmac("sha256", signingKey(token)).update(`${sessionId}:${expires}`).digest("base64url");
}

export interface Session {
  id: string;
  expiresAt: Date;
}

export function signSession(token: string, now: Date): Session & { value: string; maxAgeSeconds: number } {
  const id = randomUUID();
  const expires = Math.floor(now.getTime() / 1000) + SESSION_SECONDS;
  return {
    id,
    expiresAt: new Date(expires * 1000),
    value: `v2.${id}.${expires}.${mac(id, expires, token)}`,
    maxAgeSeconds: SESSION_SECONDS,
  };
}

/** The session a cookie names, when it is signed with this token and not expired; whether it is live is SQL's. */
export function verifySession(value: string | undefined, token: string, now: Date): Session | null {
  const match = /^v2\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(
    value ?? "",
  );
  if (!match) return null;
  const [, id, expiresText, given] = match as unknown as [string, string, string, string];
  const expires = Number(expiresText);
  if (expires * 1000 <= now.getTime() || !tokenMatches(given, mac(id, expires, token))) return null;
  return { id, expiresAt: new Date(expires * 1000) };
}

/** The session cookie's value in a Cookie header. */
export function cookieOf(header: string | null): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === SESSION_COOKIE) return rest.join("=");
  }
  return undefined;
}

/** The Set-Cookie header for a session (or, with maxAge 0, for clearing it). */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    "Path=/ops",
    `Max-Age=${maxAgeSeconds}`,
    "HttpOnly",
    "SameSite=Strict",
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}
