/**
 * The ops page as one route handler: plain server-rendered HTML, no React and no client bundle, so it works in any
 * host app (Next 14.2 to 16, React 18 or 19) without touching the host's React, CSS or next.config. A host mounts
 * it with one file, `app/ops/[[...path]]/route.ts`:
 *
 *   export const dynamic = "force-dynamic";
 *   export const maxDuration = 30;
 *   export const { GET, POST } = opsPageRoute();
 *
 * It routes on the request's own path (never Next's `params`, whose shape differs between Next 14 and 15+):
 *
 *   GET  <base>                 the dashboard, or the sign-in form without a live session
 *   GET  <base>/runs/<uuid>     one run in full (a redirect to <base> without a session)
 *   POST <base>/sign-in         ../http/ops-session.ts signIn
 *   POST <base>/sign-out        ../http/ops-session.ts signOut
 *
 * Anything else is 404, as is every path while OPS_TOKEN is unset, and a run id that is not a UUID (malformed
 * percent-escapes included), signed in or not, before anything is read. Every answer carries the security headers
 * of ./document.ts; pages carry its strict content security policy.
 */
import { opsAccess, signIn, signOut, type SessionOverrides } from "../http/ops-session";
import { logger as rootLogger, type Logger } from "../logger";
import { loadOpsRun } from "../ops/page-data";
import { cookieOf } from "../ops/session";
import { systemClock, type Clock, type ObjectStorage, type SqlApi } from "../ports";
import { logPanelFailures, opsRead, readPanels, type ReadContext } from "./access";
import { dashboardView } from "./dashboard";
import { BARE_POLICY, SECURITY_HEADERS, htmlResponse, notFoundResponse } from "./document";
import { noSuchRun, runView } from "./run";
import { opsShell, readFailed, signInView } from "./shell";

export interface OpsPageOverrides {
  db?: SqlApi;
  /** With `db`: Storage, for the buckets' versioning (not read when left out). */
  storage?: ObjectStorage;
  clock?: Clock;
  logger?: Logger;
}

export interface OpsPageRouteOptions {
  /** The path the page is served at, as the browser sees it (next.config's basePath included); "/ops" by default. */
  basePath?: string;
  /** For tests: the database, the clock and the logger. */
  overrides?: OpsPageOverrides;
}

export type OpsPageHandler = (request: Request) => Promise<Response>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PAGE_TITLE = "export-ops · ops";
const RUN_TITLE = "export-ops · run";

export type OpsRoute = { view: "dashboard" } | { view: "run"; runId: string } | { view: "sign-in" } | { view: "sign-out" };

interface Context extends ReadContext {
  base: string;
  session: SessionOverrides;
}

/** What a (raw, still percent-encoded) path asks for under `base`; null for anything the page does not serve. */
export function routeOf(pathname: string, base: string): OpsRoute | null {
  if (pathname !== base && !pathname.startsWith(`${base}/`)) return null;
  const rest = pathname.slice(base.length).replace(/\/$/, "");
  if (rest === "") return { view: "dashboard" };
  if (rest === "/sign-in") return { view: "sign-in" };
  if (rest === "/sign-out") return { view: "sign-out" };
  const run = /^\/runs\/([^/]*)$/.exec(rest);
  return run && UUID.test(run[1]!) ? { view: "run", runId: run[1]! } : null;
}

function basePathOf(basePath: string): string {
  const base = basePath.replace(/\/+$/, "");
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(base) || base === "")
    throw new Error(`opsPageRoute: basePath must be a path such as "/ops", not ${JSON.stringify(basePath)}`);
  return base;
}

export function opsPageRoute(options: OpsPageRouteOptions = {}): { GET: OpsPageHandler; POST: OpsPageHandler } {
  const overrides = options.overrides ?? {};
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? rootLogger;
  const db = overrides.db;
  const session: SessionOverrides = { clock, logger, ...(db ? { makeDb: () => db } : {}) };
  const context: Context = { base: basePathOf(options.basePath ?? "/ops"), db, storage: overrides.storage, clock, logger, session };
  const forms = { "sign-in": signIn(session), "sign-out": signOut(session) };
  return {
    GET: (request) => answer(context, () => get(request, context)),
    POST: (request) =>
      answer(context, async () => {
        const route = routeOf(new URL(request.url).pathname, context.base);
        if (route?.view !== "sign-in" && route?.view !== "sign-out") return notFoundResponse();
        return secured(rebased(await forms[route.view](request), context.base));
      }),
  };
}

async function get(request: Request, context: Context): Promise<Response> {
  const url = new URL(request.url);
  const route = routeOf(url.pathname, context.base);
  if (route?.view !== "dashboard" && route?.view !== "run") return notFoundResponse();
  const access = await opsAccess(cookieOf(request.headers.get("cookie")), context.session);
  if (access === "off") return notFoundResponse();
  if (route.view === "run") return access === "signed_in" ? runPage(route.runId, context) : redirect(context.base);
  if (access === "signed_out")
    return htmlResponse(200, PAGE_TITLE, signInView(context.base, url.searchParams.get("sign_in") === "refused"));
  const read = await opsRead(context, (db, env, storage) => readPanels(db, env, context.clock, storage));
  if (!read.ok) return htmlResponse(200, PAGE_TITLE, opsShell(context.base, readFailed(read.message)));
  logPanelFailures(read.value, context.logger);
  return htmlResponse(200, PAGE_TITLE, opsShell(context.base, dashboardView(read.value, context.base)));
}

async function runPage(runId: string, context: Context): Promise<Response> {
  const read = await opsRead(context, (db) => loadOpsRun(db, runId));
  if (!read.ok) return htmlResponse(200, RUN_TITLE, opsShell(context.base, readFailed(read.message)));
  // null: unknown, or pruned (the monthly log cleanup keeps 90 days of run history)
  if (read.value === null) return htmlResponse(404, RUN_TITLE, opsShell(context.base, noSuchRun(context.base)));
  return htmlResponse(200, RUN_TITLE, opsShell(context.base, runView(read.value, context.base)));
}

const redirect = (location: string) => new Response(null, { status: 307, headers: { ...SECURITY_HEADERS, location } });

/** The security headers on an answer of sign-in or sign-out (a redirect, or an error in JSON). */
function secured(response: Response): Response {
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers.set(name, value);
  headers.set("content-security-policy", BARE_POLICY);
  return new Response(response.body, { status: response.status, headers });
}

/**
 * Sign-in and sign-out answer for the page at /ops: their redirect goes to /ops and their cookie is scoped to it.
 * Served at another base, both are moved there.
 */
function rebased(response: Response, base: string): Response {
  if (base === "/ops") return response;
  const location = response.headers.get("location");
  if (location !== null && /^\/ops(?=$|[/?#])/.test(location)) response.headers.set("location", base + location.slice(4));
  const cookie = response.headers.get("set-cookie");
  if (cookie !== null) response.headers.set("set-cookie", cookie.replace(/(^|;\s*)Path=\/ops(?=;|$)/i, `$1Path=${base}`));
  return response;
}

/** Whatever fails unexpectedly is logged and answered 500, without its detail. */
async function answer(context: Context, handle: () => Promise<Response>): Promise<Response> {
  try {
    return await handle();
  } catch (error) {
    context.logger.error({ type: "ops_page_failed", err: error }, "ops page: the request failed");
    return new Response("The ops page failed; see the server log.\n", {
      status: 500,
      headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", "content-security-policy": BARE_POLICY },
    });
  }
}
