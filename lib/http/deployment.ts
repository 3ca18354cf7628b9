/**
 * The deployment's own address, decided in one place: where a continuation calls back to, and whether the ops
 * page's cookie must be `Secure`. `request.url` cannot say: under `next start` behind a TLS proxy it is built
 * from the listen address with the scheme the proxy forwarded (`https://localhost:3000` on a plain-HTTP server).
 *
 * - `EXPORT_OPS_BASE_URL` set (self-hosting behind a proxy, or a LAN address over plain HTTP): that, for both.
 * - On Vercel (`VERCEL=1`): the continuation calls this very deployment, `https://$VERCEL_URL` (Vercel's system
 *   variable: the deployment's generated domain, without a scheme), so a chain never jumps to a newer deployment;
 *   every Vercel address is HTTPS, so the cookie is `Secure`.
 * - Otherwise (`next start`, `next dev`): the continuation calls the server directly over plain HTTP at the
 *   address it listens on; the cookie is `Secure` unless the browser reached a loopback host over plain HTTP, as
 *   the forwarded headers (`x-forwarded-proto`, `x-forwarded-host`) or `Host` say.
 */
import { getDeploymentEnv } from "../env";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

const firstValue = (header: string | null) => header?.split(",")[0]?.trim() || undefined;

/** The host (and port) the browser addressed: the proxy's forwarded host, else Host, else the request URL's. */
export function publicHost(request: Request): string {
  const base = getDeploymentEnv().baseUrl;
  if (base) return base.host;
  return firstValue(request.headers.get("x-forwarded-host")) ?? request.headers.get("host") ?? new URL(request.url).host;
}

/** Whether the browser reached this deployment over HTTPS or at a non-loopback address (so: a Secure cookie). */
export function servedSecurely(request: Request): boolean {
  const { baseUrl: base, onVercel } = getDeploymentEnv();
  if (base) return base.protocol === "https:";
  if (onVercel) return true;
  if (firstValue(request.headers.get("x-forwarded-proto")) === "https") return true;
  const hostname = new URL(`http://${publicHost(request)}`).hostname;
  return !LOOPBACK.has(hostname);
}

/** The URL this deployment calls itself at for the same path and query as `request`. */
export function selfUrl(request: Request): URL {
  const { pathname, search, host } = new URL(request.url);
  const { baseUrl, vercelUrl } = getDeploymentEnv();
  const origin = baseUrl?.origin ?? (vercelUrl ? `https://${vercelUrl}` : `http://${host}`);
  return new URL(`${pathname}${search}`, origin);
}
