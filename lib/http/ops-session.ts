/**
 * Sign-in and sign-out of the ops page. POST /ops/sign-in takes OPS_TOKEN from a form body (never a URL, at most
 * MAX_FORM_BYTES, refused before it is read whole), compares it in constant time, records a session
 * (export_ops_ops_sessions) and answers 303 to /ops with the session's signed cookie, or 303 to
 * /ops?sign_in=refused. POST /ops/sign-out ends that session server-side and clears the cookie; with
 * `everywhere=true` it ends every session (a stolen cookie included). Both answer 404 while OPS_TOKEN is unset,
 * and refuse a form posted from another site (its Origin is not this deployment's host). Whether the cookie is
 * `Secure` is ./deployment.ts's call. Failed sign-ins are throttled per client and overall
 * (../ops/sign-in-throttle.ts): 429 with Retry-After, before the form is read; they are logged a line per client
 * and window (the first failure at once, the window's counts when it ends), never a line per attempt.
 */
import { getEnv, getReadToken, type Env } from "../env";
import { ForbiddenError, PayloadTooLargeError, publicError } from "../errors";
import { logger as rootLogger, type Logger } from "../logger";
import { cookieOf, sessionCookie, signSession, tokenMatches, verifySession } from "../ops/session";
import { SIGN_IN_LIMITS, clientOf, memorySignInThrottle, type EndedWindow, type SignInThrottle } from "../ops/sign-in-throttle";
import { systemClock, type Clock, type SqlApi } from "../ports";
import { createSupabasePorts } from "../supabase";
import { publicHost, servedSecurely } from "./deployment";
import { respond } from "./with-bearer";

/** The sign-in form is one token: anything much bigger is not a sign-in. */
export const MAX_FORM_BYTES = 4096;

export interface SessionOverrides {
  clock?: Clock;
  logger?: Logger;
  makeDb?: (env: Env) => SqlApi;
  /** Where failed sign-ins are counted; this instance's memory by default. */
  throttle?: SignInThrottle;
}

/** This instance's count of failed sign-ins (see ../ops/sign-in-throttle.ts for why memory is enough). */
const instanceThrottle = memorySignInThrottle();
const WINDOW_MINUTES = SIGN_IN_LIMITS.windowSeconds / 60;

const dbOf = (overrides: SessionOverrides) => (overrides.makeDb ?? ((env: Env) => createSupabasePorts(env).db))(getEnv());

export type OpsAccess = "off" | "signed_out" | "signed_in";

/** Whether the ops page may be shown: `off` while OPS_TOKEN is unset or unusable; signed in only while the session is live. */
export async function opsAccess(cookieValue: string | undefined, overrides: SessionOverrides = {}): Promise<OpsAccess> {
  const clock = overrides.clock ?? systemClock;
  let token: string;
  try {
    token = getReadToken("OPS_TOKEN");
  } catch {
    return "off";
  }
  const session = verifySession(cookieValue, token, clock.now());
  if (!session) return "signed_out";
  try {
    return (await dbOf(overrides).call("export_ops_session_live", { p_session_id: session.id })) ? "signed_in" : "signed_out";
  } catch (error) {
    const { body } = publicError(error);
    (overrides.logger ?? rootLogger).error(
      { type: "ops_page_failed", error: body, err: error },
      `ops page: the session could not be checked: ${body.message}`,
    );
    return "signed_out"; // fail closed
  }
}

const seeOther = (location: string, cookie?: string) =>
  new Response(null, { status: 303, headers: { location, "cache-control": "no-store", ...(cookie ? { "set-cookie": cookie } : {}) } });

/** Browsers send Origin on every form POST; one naming another host is a cross-site request. */
function assertSameOrigin(request: Request, action: string): void {
  const origin = request.headers.get("origin");
  if (origin === null) return;
  let originHost: string | null = null;
  try {
    originHost = new URL(origin).host;
  } catch {
    // a malformed Origin is not this host
  }
  if (originHost !== publicHost(request)) throw new ForbiddenError(`${action} from another site is refused`);
}

/** The urlencoded form, read up to MAX_FORM_BYTES; a bigger body is refused before more of it is read. */
async function readForm(request: Request): Promise<URLSearchParams | null> {
  if (Number(request.headers.get("content-length") ?? 0) > MAX_FORM_BYTES) throw new PayloadTooLargeError(MAX_FORM_BYTES);
  if (!request.headers.get("content-type")?.startsWith("application/x-www-form-urlencoded") || !request.body) return null;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_FORM_BYTES) {
      await reader.cancel();
      throw new PayloadTooLargeError(MAX_FORM_BYTES);
    }
    chunks.push(value);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

async function answer(clock: Clock, handler: () => Promise<Response>): Promise<Response> {
  try {
    return await handler();
  } catch (error) {
    const { status, body } = publicError(error);
    return respond(status, { success: false, error: body, timestamp: clock.now().toISOString() });
  }
}

/** One line per ended window with its counts (a window with a single failure was logged when it happened). */
function logEnded(logger: Logger, ended: EndedWindow[]): void {
  for (const w of ended) {
    const fields = { type: "request_unauthorized", route: "ops/sign-in", ...w, since: w.since.toISOString(), until: w.until.toISOString() };
    const held = w.throttled ? `; ${w.throttled} more were answered 429 unread` : "";
    const who = w.scope === "client" ? `from ${w.client}` : `on this instance, from ${w.clients} clients`;
    logger.warn(fields, `ops/sign-in: ${w.failures} refused sign-ins ${who} between ${fields.since} and ${fields.until}${held}`);
  }
}

const tooMany = (clock: Clock, wait: { seconds: number; scope: "client" | "overall" }) => {
  const minutes = Math.ceil(wait.seconds / 60);
  const whose = wait.scope === "client" ? "from this address" : "on this server";
  return respond(
    429,
    {
      success: false,
      error: {
        code: "too_many_requests",
        message: `Too many refused sign-ins ${whose}: try again in ${minutes} minute${minutes === 1 ? "" : "s"}`,
        details: { retry_after_seconds: wait.seconds },
      },
      timestamp: clock.now().toISOString(),
    },
    { "retry-after": String(wait.seconds) },
  );
};

export function signIn(overrides: SessionOverrides = {}) {
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? rootLogger;
  const throttle = overrides.throttle ?? instanceThrottle;
  return (request: Request): Promise<Response> =>
    answer(clock, async () => {
      const token = getReadToken("OPS_TOKEN");
      assertSameOrigin(request, "sign-in");
      const client = clientOf(request.headers);
      const admission = await throttle.admit(client, clock.now());
      logEnded(logger, admission.ended);
      if (admission.wait) return tooMany(clock, admission.wait);
      const given = (await readForm(request))?.get("token")?.trim();
      const ok = given ? tokenMatches(given, token) : false;
      const outcome = await throttle.record(client, ok, clock.now());
      logEnded(logger, outcome.ended);
      if (!ok) {
        if (outcome.first) {
          logger.warn(
            { type: "request_unauthorized", route: "ops/sign-in", status: 303, client, failures: 1 },
            `ops/sign-in: the token was refused (from ${client}; further refusals from it in the next ${WINDOW_MINUTES} minutes are counted and logged together)`,
          );
        }
        if (outcome.overallReached) {
          const { failures, clients } = outcome.overallReached;
          logger.warn(
            { type: "request_unauthorized", route: "ops/sign-in", status: 429, scope: "overall", failures, clients },
            `ops/sign-in: ${failures} refused sign-ins on this instance from ${clients} clients: every sign-in is answered 429 for the rest of the ${WINDOW_MINUTES} minutes`,
          );
        }
        return seeOther("/ops?sign_in=refused");
      }
      const session = signSession(token, clock.now());
      await dbOf(overrides).call("export_ops_open_session", { p_session_id: session.id, p_expires_at: session.expiresAt.toISOString() });
      return seeOther("/ops", sessionCookie(session.value, session.maxAgeSeconds, servedSecurely(request)));
    });
}

export function signOut(overrides: SessionOverrides = {}) {
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? rootLogger;
  return (request: Request): Promise<Response> =>
    answer(clock, async () => {
      const token = getReadToken("OPS_TOKEN");
      assertSameOrigin(request, "sign-out");
      const session = verifySession(cookieOf(request.headers.get("cookie")), token, clock.now());
      if (session) {
        // everywhere: only from a live session, so a stale or stolen-then-revoked cookie cannot sign others out
        const everywhere = (await readForm(request))?.get("everywhere") === "true";
        const db = dbOf(overrides);
        const live = everywhere && (await db.call("export_ops_session_live", { p_session_id: session.id }));
        const ended = await db.call("export_ops_end_sessions", { p_session_id: live ? null : session.id });
        logger.info(
          { type: "ops_signed_out", everywhere: Boolean(live), sessions_ended: ended },
          live ? `ops page: signed out everywhere (${ended} sessions)` : "ops page: signed out",
        );
      }
      return seeOther("/ops", sessionCookie("", 0, servedSecurely(request)));
    });
}
