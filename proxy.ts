// Runs before routing. With next.config.ts's `skipProxyUrlNormalize: true` Next hands it the URL as it was sent;
// without it, a URL whose query Next rebuilt from its parsed object, where `__proto__` is already gone.
//
// /ops/…: a path with a malformed percent-escape, which would otherwise fail in the router's decoding as a bare
// 500, is answered the ops page's own 404; every other path goes to the ops page's handler, which answers 404 to
// anything it does not serve (a run id that is not a UUID included).
//
// This file is this deployment's own hardening, not part of what `export-ops init` writes: a host app may copy
// either check into its middleware.
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
import { notFoundResponse } from "./lib/ops-page/document";

const CRON_PATH = /^\/api\/cron\/([a-z0-9-]+)\/?$/;
/** The query names no handler can see: each one sets the parsed query's prototype. */
const UNSEEN = "__proto__";

export function proxy(request: NextRequest) {
  const { pathname } = request.nextUrl;
  const cron = CRON_PATH.exec(pathname);
  if (cron) return cronQuery(request, cron[1]!);
  if (pathname.startsWith("/api/cron/")) return NextResponse.next();
  try {
    decodeURIComponent(pathname);
    return NextResponse.next();
  } catch {
    return notFoundResponse();
  }
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

export const config = { matcher: ["/ops/:path*", "/api/cron/:path*"] };
