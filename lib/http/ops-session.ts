/**
 * Sign-in and sign-out of the ops page. POST /ops/sign-in takes the HEALTH_TOKEN from a form body (never a URL),
 * compares it in constant time and answers 303 to /ops with a signed session cookie, or 303 to
 * /ops?sign_in=refused; POST /ops/sign-out clears the cookie. Both answer 404 while HEALTH_TOKEN is unset, as
 * detailed health does, and refuse a form posted from another site (its Origin is not this host).
 */
import { getReadToken } from "../env";
import { ForbiddenError, publicError } from "../errors";
import { logger as rootLogger, type Logger } from "../logger";
import { sessionCookie, signSession, tokenMatches, verifySession } from "../ops/session";
import { systemClock, type Clock } from "../ports";
import { respond } from "./with-bearer";

export interface SessionOverrides {
  clock?: Clock;
  logger?: Logger;
}

/** Whether the ops page may be shown: `off` while HEALTH_TOKEN is unset or unusable. */
export function opsAccess(cookieValue: string | undefined, clock: Clock = systemClock): "off" | "signed_out" | "signed_in" {
  let token: string;
  try {
    token = getReadToken("HEALTH_TOKEN");
  } catch {
    return "off";
  }
  return verifySession(cookieValue, token, clock.now()) ? "signed_in" : "signed_out";
}

const seeOther = (location: string, cookie?: string) =>
  new Response(null, { status: 303, headers: { location, "cache-control": "no-store", ...(cookie ? { "set-cookie": cookie } : {}) } });

/** Browsers send Origin on every form POST; one naming another host is a cross-site request. */
function assertSameOrigin(request: Request, action: string): void {
  const origin = request.headers.get("origin");
  if (origin === null) return;
  const host = request.headers.get("x-forwarded-host") ?? request.headers.get("host");
  let originHost: string | null = null;
  try {
    originHost = new URL(origin).host;
  } catch {
    // a malformed Origin is not this host
  }
  if (originHost !== host) throw new ForbiddenError(`${action} from another site is refused`);
}

async function formToken(request: Request): Promise<string | null> {
  try {
    const value = (await request.formData()).get("token");
    return typeof value === "string" ? value.trim() : null;
  } catch {
    return null;
  }
}

async function answer(clock: Clock, handler: () => Promise<Response>): Promise<Response> {
  try {
    return await handler();
  } catch (error) {
    const { status, body } = publicError(error);
    return respond(status, { success: false, error: body, timestamp: clock.now().toISOString() });
  }
}

export function signIn(overrides: SessionOverrides = {}) {
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? rootLogger;
  return (request: Request): Promise<Response> =>
    answer(clock, async () => {
      const token = getReadToken("HEALTH_TOKEN");
      assertSameOrigin(request, "sign-in");
      const given = await formToken(request);
      if (given === null || !tokenMatches(given, token)) {
        logger.warn({ type: "request_unauthorized", route: "ops/sign-in" }, "ops/sign-in: the token was refused");
        return seeOther("/ops?sign_in=refused");
      }
      const session = signSession(token, clock.now());
      return seeOther("/ops", sessionCookie(session.value, session.maxAgeSeconds, request.url));
    });
}

export function signOut(overrides: Pick<SessionOverrides, "clock"> = {}) {
  const clock = overrides.clock ?? systemClock;
  return (request: Request): Promise<Response> =>
    answer(clock, () => {
      assertSameOrigin(request, "sign-out");
      return Promise.resolve(seeOther("/ops", sessionCookie("", 0, request.url)));
    });
}
