// A small rule set, run by `npm test`: promises are awaited or handled, the layers of lib/ hold (below), no
// function runs over 80 lines, and only lib/env.ts reads process.env.
import boundaries from "eslint-plugin-boundaries";
import tseslint from "typescript-eslint";

/**
 * The layers, lowest first. A file may import its own layer and the layers it names, nothing else: type-only
 * imports count too (a type is an arrow like any other), except where `types` allows a layer for types alone.
 * `packages` are the npm packages it may import (Node's own modules are open to all; `typePackages`: for types
 * alone). Checked import by import; since every layer's imports are held in the same way, what a layer reaches
 * through others is held too: the host library reaches only itself, zod and the OpenTelemetry API.
 */
const layers = {
  /** The host library's foundation: errors, setting bounds, the SQL API contract, spans. */
  base: {
    files: ["lib/errors.ts", "lib/setting-bounds.ts", "lib/sql-contract.ts", "lib/alert-payload.ts", "lib/tracing.ts"],
    packages: ["zod", "@opentelemetry/api"],
    typePackages: ["@opentelemetry/sdk-trace-base", "@vercel/otel"],
  },
  /** Settings (the only reader of process.env), the logger, and the ports jobs depend on. */
  runtime: { files: ["lib/env.ts", "lib/logger.ts", "lib/ports.ts"], imports: ["base"], packages: ["zod", "pino"] },
  /** The host library (`export-ops`, what a host's export endpoint bundles): never the app's settings, logger or jobs. */
  host: {
    files: ["lib/index.ts", "lib/host/**", "lib/supabase/sql-api.ts"],
    imports: ["base"],
    types: ["runtime"],
    packages: ["zod", "@opentelemetry/api"],
  },
  /** What the batch jobs and the erasure share: pacing, the batch claims' lease, deleting raw metrics. */
  batches: { files: ["lib/batches/**"], imports: ["runtime", "base"] },
  /** The exports and archive buckets: their judgement, export paths, deleting for good where a bucket keeps versions. */
  files: { files: ["lib/files/**"], imports: ["host", "runtime", "base"] },
  /** Export-log deletion and archive objects (the log cleanup, the erasure, scripts/archive.ts). */
  archive: { files: ["lib/archive/**"], imports: ["batches", "files", "runtime", "base"] },
  alerting: { files: ["lib/alerting/**"], imports: ["host", "runtime", "base"] },
  checkins: { files: ["lib/checkins/**"], imports: ["runtime", "base"] },
  /** The jobs, their runner and registry: the database and Storage through the ports only, nothing of HTTP or the platform. */
  jobs: {
    files: ["lib/jobs/**"],
    imports: ["archive", "batches", "files", "alerting", "checkins", "runtime", "base"],
    packages: ["zod", "cron-parser"],
  },
  /** Per-user erasure: beside the jobs, not above them. */
  erasure: { files: ["lib/erasure/**"], imports: ["archive", "batches", "files", "runtime", "base"], packages: ["zod"] },
  /** The archive's S3-compatible store: the only code that imports the AWS SDK (on first use, never at load). */
  s3: { files: ["lib/s3/**"], imports: ["runtime", "base"], packages: ["@aws-sdk/client-s3"] },
  /** The only code that imports supabase-js; its storage port reaches an S3 archive bucket through lib/s3. */
  adapters: { files: ["lib/supabase/**"], imports: ["s3", "host", "runtime", "base"], packages: ["@supabase/supabase-js"] },
  reporting: {
    files: ["lib/reporting/**"],
    imports: ["jobs", "files", "alerting", "checkins", "runtime", "base"],
    packages: ["cron-parser", "prom-client"],
  },
  ops: {
    files: ["lib/ops/**"],
    imports: ["reporting", "jobs", "files", "checkins", "runtime", "base"],
    packages: ["cron-parser", "cronstrue"],
  },
  /** Route wrappers: the bearer guard (which knows nothing of jobs), the cron wrapper (the only user of @vercel/functions). */
  http: { files: ["lib/http/**"], imports: ["ops", "reporting", "jobs", "checkins", "adapters", "runtime", "base"], packages: ["zod"] },
  /** The ops page: plain HTML, no framework. */
  "ops-page": { files: ["lib/ops-page/**"], imports: ["http", "ops", "jobs", "checkins", "adapters", "runtime", "base"] },
  /** `export-ops/next`: Web Request to Response, no import of next. */
  next: { files: ["lib/next/**"], imports: ["ops-page", "http", "jobs", "runtime", "base"] },
  /** The `export-ops` command. */
  cli: { files: ["lib/cli/**"], imports: ["jobs"] },
  /** This repository's own Next.js app: what `export-ops init` writes, and the deployment's own files. */
  app: {
    files: ["app/**", "proxy.ts", "instrumentation.ts"],
    imports: ["next", "ops-page", "http", "jobs", "runtime", "base"],
    packages: ["next", "next/*", "react", "export-ops", "export-ops/*", "@vercel/otel"],
  },
};

const ONLY_WITH_CRON = "lib/http/with-cron.ts";

/**
 * No function over 80 lines, nested functions counted in (tests' describe blocks aside): a long function is split
 * into named steps.
 */
const MAX_FUNCTION_LINES = 80;
const maxLines = (max) => ({ "max-lines-per-function": ["error", { max, skipBlankLines: false, skipComments: false, IIFEs: true }] });

const inLayers = (names) => ({ file: { categories: names } });
const layerPolicies = Object.entries(layers).flatMap(([name, layer]) => [
  { from: inLayers(name), allow: { to: inLayers([name, ...(layer.imports ?? [])]) } },
  ...(layer.types ? [{ from: inLayers(name), allow: { to: inLayers(layer.types), dependency: { kind: "type" } } }] : []),
  ...(layer.packages ? [{ from: inLayers(name), allow: { to: { module: { origin: "external", source: layer.packages } } } }] : []),
  ...(layer.typePackages
    ? [
        {
          from: inLayers(name),
          allow: { to: { module: { origin: "external", source: layer.typePackages } }, dependency: { kind: "type" } },
        },
      ]
    : []),
]);

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      ".next/**",
      "next-env.d.ts",
      "coverage/**",
      "lib/dist/**",
      ".pack/**",
      "test/adoption/host-app/**",
      "test/adoption/host-app-latest/**",
    ],
  },
  {
    files: ["**/*.ts", "**/*.tsx", "**/*.mts"],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { "@typescript-eslint": tseslint.plugin },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/await-thenable": "error",
    },
  },
  {
    files: ["**/*.ts", "**/*.tsx", "**/*.mts", "**/*.mjs"],
    ignores: ["**/*.test.ts", "**/*.test.tsx"],
    rules: maxLines(MAX_FUNCTION_LINES),
  },
  {
    files: ["lib/**/*.ts", "app/**/*.ts", "app/**/*.tsx"],
    ignores: ["lib/env.ts", "**/*.test.ts"],
    rules: {
      "no-restricted-properties": ["error", { object: "process", property: "env", message: "Only lib/env.ts reads process.env." }],
    },
  },
  {
    // the layers: every file of lib/ and the app but tests (which may reach anything they check); a file in no layer is an error
    files: ["lib/**/*.ts", "app/**/*.ts", "app/**/*.tsx", "proxy.ts", "instrumentation.ts"],
    ignores: ["**/*.test.ts", "**/*.test.tsx"],
    plugins: { boundaries },
    settings: {
      "import/resolver": { node: { extensions: [".ts", ".tsx", ".mts", ".js", ".mjs"] } },
      "boundaries/files": Object.entries(layers).map(([name, layer]) => ({ category: name, pattern: layer.files })),
      // a file is in the first layer that names it (lib/supabase/sql-api.ts is the host library's, not an adapter)
      "boundaries/files-single-match": true,
    },
    rules: {
      "boundaries/no-unknown-files": "error",
      "boundaries/dependencies": [
        "error",
        {
          default: "disallow",
          checkAllOrigins: true,
          checkUnknownLocals: true,
          checkInternals: true,
          policies: [
            ...layerPolicies,
            { allow: { to: { module: { origin: "core" } } } },
            { from: { file: { path: ONLY_WITH_CRON } }, allow: { to: { module: { origin: "external", source: "@vercel/functions" } } } },
            {
              // the app may use Next and React, but not the route that mounts the ops page: the page brings no framework
              from: { file: { path: "app/ops/**" } },
              disallow: {
                to: {
                  module: {
                    origin: "external",
                    source: ["next", "next/*", "react", "react/*", "react-dom", "react-dom/*", "react-is", "recharts"],
                  },
                },
              },
              message: "The ops page brings no framework: its route mounts export-ops/next's handler and nothing else.",
            },
            {
              from: { file: { path: "lib/http/with-bearer.ts" } },
              disallow: { to: inLayers("jobs") },
              message: "The bearer guard knows nothing of jobs: lib/http/with-cron.ts runs them.",
            },
            // the app's page lists the jobs through tsconfig's `@/` alias, which the resolver does not follow: that one import only
            { from: inLayers("app"), allow: { to: { module: { source: "@/lib" } }, dependency: { source: "@/lib/jobs" } } },
          ],
        },
      ],
    },
  },
);
