/** HS256 JWTs as Supabase issues them: API keys are JWTs whose `role` claim picks the Postgres role. */
import { createHmac, timingSafeEqual } from "node:crypto";

const b64url = (value: Buffer | string) => Buffer.from(value).toString("base64url");

export function signJwt(claims: Record<string, unknown>, secret: string): string {
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify(claims));
  const signature = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${signature}`;
}

/** The claims of a token signed with `secret` and not expired, or null. */
export function verifyJwt(token: string, secret: string): Record<string, unknown> | null {
  const [head, body, signature] = token.split(".");
  if (!head || !body || !signature) return null;
  const expected = createHmac("sha256", secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Record<string, unknown>;
    if (typeof claims.exp === "number" && claims.exp * 1000 < Date.now()) return null;
    return claims;
  } catch {
    return null;
  }
}

/** The anon and service_role API keys for a stack, valid for ten years like Supabase's local keys. */
export function mintKeys(secret: string): { anonKey: string; serviceRoleKey: string } {
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + 10 * 365 * 24 * 3600;
  return {
    anonKey: signJwt({ iss: "export-ops-local", role: "anon", iat, exp }, secret),
    serviceRoleKey: signJwt({ iss: "export-ops-local", role: "service_role", iat, exp }, secret),
  };
}

/** A signed-in user's access token (role `authenticated`, `sub` = the user id). */
export function userToken(userId: string, secret: string): string {
  const iat = Math.floor(Date.now() / 1000);
  return signJwt({ iss: "export-ops-local", role: "authenticated", sub: userId, aud: "authenticated", iat, exp: iat + 3600 }, secret);
}
