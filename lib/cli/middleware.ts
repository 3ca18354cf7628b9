/**
 * A host's middleware (`middleware.ts`, or `proxy.ts` from Next 16, at the root or in `src/`) that sends requests
 * without a session elsewhere — Vercel's Supabase starters do — would answer Vercel Cron, a monitor and the ops
 * page's sign-in with a redirect. init lets export-ops' paths through by adding them to the matcher's negative
 * lookahead, the form the starters use (`"/((?!_next/static|…).*)"`); remove takes exactly that text out again.
 * A middleware in any other form is not edited: init prints the change to make and does not claim success.
 */
import { PUBLIC_PATHS } from "./route-files";

export const MIDDLEWARE_FILES = ["middleware.ts", "middleware.js", "proxy.ts", "proxy.js"].flatMap((f) => [f, `src/${f}`]);

/** What the lookahead gains: export-ops' paths, each ending at a segment boundary where it is a whole segment. */
export const EXCLUSION = `${PUBLIC_PATHS.map((p) => (p.endsWith("-") ? p : `${p}(?:/|$)`)).join("|")}|`;

const LOOKAHEAD = /(["'`])\/\(\(\?!/g;

export type MiddlewarePatch =
  { kind: "patched"; content: string } | { kind: "unchanged"; reason: string } | { kind: "manual"; reason: string };

/** The host's middleware with export-ops' paths let through. */
export function patchMiddleware(source: string): MiddlewarePatch {
  if (source.includes(EXCLUSION)) return { kind: "unchanged", reason: "it already lets export-ops' paths through" };
  const matcher = /\bmatcher\s*:/.exec(source);
  if (!matcher) return { kind: "manual", reason: "it has no `config.matcher`, so it runs on every path, export-ops' included" };
  const rest = source.slice(matcher.index);
  const starts = [...rest.matchAll(LOOKAHEAD)];
  if (starts.length === 0) {
    if (!coversExportOpsPaths(rest)) return { kind: "unchanged", reason: "its matcher does not reach export-ops' paths" };
    return { kind: "manual", reason: "its matcher is not the `/((?!…).*)` form init knows how to extend" };
  }
  let content = source;
  for (const start of starts.reverse()) {
    const at = matcher.index + start.index + start[0].length;
    content = content.slice(0, at) + EXCLUSION + content.slice(at);
  }
  return { kind: "patched", content };
}

/** The middleware as it was before init patched it, or `undefined` when it does not hold init's exact change. */
export function unpatchMiddleware(source: string): string | undefined {
  if (!source.includes(EXCLUSION)) return undefined;
  return source.split(EXCLUSION).join("");
}

/** What a person must change by hand when init cannot: printed by init, never applied. */
export function manualChange(file: string): string {
  return [
    `${file} must let these paths through without a session (Vercel Cron and monitors carry none, and follow no redirect):`,
    ...PUBLIC_PATHS.map((p) => `  /${p}${p.endsWith("-") ? "*" : ""}`),
    "For instance, first in the middleware function:",
    `  if (/^\\/(${EXCLUSION.slice(0, -1).replaceAll("/", "\\/")})/.test(request.nextUrl.pathname)) return NextResponse.next();`,
    "then run init again with --skip-middleware.",
  ].join("\n");
}

/** A plain matcher list (`"/dashboard/:path*"`, …) reaches export-ops' paths when one of them is under it. */
function coversExportOpsPaths(matcherSource: string): boolean {
  const literals = [...matcherSource.matchAll(/(["'`])(\/[^"'`]*)\1/g)].map((m) => m[2]!);
  return literals.some((pattern) => {
    const prefix = pattern.split(/[:(*]/)[0]!.replace(/\/$/, "");
    return PUBLIC_PATHS.some((p) => `/${p}`.startsWith(prefix) || prefix.startsWith(`/${p.replace(/-$/, "")}`));
  });
}
