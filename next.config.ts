import type { NextConfig } from "next";
import { assertBuildEnv } from "./lib/env";

// A deployment whose environment is invalid fails its build here, naming each bad variable, in one message and
// without a stack trace. (SKIP_ENV_VALIDATION=1 builds without one, as CI does.)
try {
  assertBuildEnv();
} catch (error) {
  console.error(
    `\n${(error as Error).message.replace(/^Invalid environment: /, "Invalid environment:\n  ").replace(/; /g, "\n  ")}\n\nSet them (see .env.example), or build without checking: SKIP_ENV_VALIDATION=1 npm run build\n`,
  );
  process.exit(1);
}

/**
 * Every answer may not be framed or sniffed. The app's own pages (the index) also get a content security policy:
 * their own scripts and styles only (Next inlines its hydration data, hence 'unsafe-inline'; `next dev` also needs
 * 'unsafe-eval'), no plugins, no other origins, forms posted only to itself. The API routes answer JSON or text, so
 * theirs allows nothing at all. /ops is left out: its handler (lib/ops-page/route.ts) sends these headers itself,
 * with a stricter policy (no 'unsafe-inline': its one style block and one script are allowed by their hashes), as
 * it does in a host app whose next.config it does not touch.
 */
const dev = process.env.NODE_ENV === "development";
const common = [
  { key: "X-Frame-Options", value: "DENY" },
  { key: "X-Content-Type-Options", value: "nosniff" },
  // same-origin, not no-referrer: with no-referrer the browser sends `Origin: null` on its own form posts, which the
  // sign-in refuses as cross-site
  { key: "Referrer-Policy", value: "same-origin" },
];
const pagePolicy = [
  "default-src 'self'",
  `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ""}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  headers: async () => [
    { source: "/((?!api/|ops(?:/|$)).*)", headers: [...common, { key: "Content-Security-Policy", value: pagePolicy }] },
    {
      source: "/api/:path*",
      headers: [...common, { key: "Content-Security-Policy", value: "default-src 'none'; frame-ancestors 'none'" }],
    },
  ],
  // pino and supabase-js run as plain Node modules in the functions instead of being bundled.
  serverExternalPackages: ["pino"],
  // proxy.ts sees each URL as it was sent: Next's normalized one has lost a `__proto__` query parameter already.
  skipProxyUrlNormalize: true,
};

export default nextConfig;
