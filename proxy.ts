// Runs before routing. With next.config.ts's `skipProxyUrlNormalize: true` Next hands it the URL as it was sent;
// without it, a URL whose query Next rebuilt from its parsed object, where `__proto__` is already gone.
//
// /ops/runs/<id>: a run id that is not a UUID (malformed percent-escapes included, which would otherwise fail in
// the router's decoding as a bare 500) is answered 404 before anything else, signed in or not, so nobody learns
// more from it than that there is no such page.
//
// /api/cron/<job>: Next parses the query into a plain object before a route handler's request.url is built, and
// `__proto__=…` sets that object's prototype instead of becoming a parameter, so the handler would run the job
// with its defaults instead of refusing the parameter. Here, where the query is still the one sent, a cron call
// naming `__proto__` (however it is escaped) is answered 400 as the handler answers any unknown parameter — once
// its bearer is right, as there, so a caller without it learns nothing more. Every other parameter reaches the
// handler as sent, and its rules apply there (lib/http/with-cron.ts parseQuery).
import { NextResponse, type NextRequest } from "next/server";
import { getCronSecret } from "./lib/env";
import { ValidationError, publicError } from "./lib/errors";
import { isAuthorized, respond } from "./lib/http/with-bearer";
import { logger } from "./lib/logger";

const RUN_PATH = /^\/ops\/runs\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/?$/i;
const CRON_PATH = /^\/api\/cron\/([a-z0-9-]+)\/?$/;
/** The query names no handler can see: each one sets the parsed query's prototype. */
const UNSEEN = "__proto__";

export function proxy(request: NextRequest) {
  const { pathname } = request.nextUrl;
  const cron = CRON_PATH.exec(pathname);
  if (cron) return cronQuery(request, cron[1]!);
  if (pathname.startsWith("/api/cron/")) return NextResponse.next();
  if (RUN_PATH.test(pathname)) return NextResponse.next();
  return new NextResponse("Not found\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
}

function cronQuery(request: NextRequest, job: string) {
  if (!new URL(request.url).searchParams.has(UNSEEN)) return NextResponse.next();
  let secret: string;
  try {
    secret = getCronSecret();
  } catch {
    return NextResponse.next(); // the handler refuses to run and records why
  }
  if (!isAuthorized(request.headers.get("authorization"), secret)) return NextResponse.next(); // the handler's 401
  const { status, body } = publicError(new ValidationError(`Unknown query parameter: ${UNSEEN}`, { parameter: UNSEEN }));
  logger.warn({ type: "request_invalid", route: job, job, status, error: body }, `${job}: ${body.message}`);
  return respond(status, { success: false, error: body, timestamp: new Date().toISOString() });
}

export const config = { matcher: ["/ops/runs/:path*", "/api/cron/:path*"] };
