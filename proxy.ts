// Runs before routing, on the raw path: a run id that is not a UUID (malformed percent-escapes included, which
// would otherwise fail in the router's decoding as a bare 500) is answered 404 before anything else, signed in or
// not, so nobody learns more from it than that there is no such page.
import { NextResponse, type NextRequest } from "next/server";

const RUN_PATH = /^\/ops\/runs\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/?$/i;

export function proxy(request: NextRequest) {
  if (RUN_PATH.test(request.nextUrl.pathname)) return NextResponse.next();
  return new NextResponse("Not found\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
}

export const config = { matcher: ["/ops/runs/:path*"] };
