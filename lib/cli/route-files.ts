/**
 * The route files `export-ops init` writes into a host's App Router, derived from the job registry: each is a few
 * lines that mount a handler of `export-ops/next`. Route segment config (`dynamic`, `maxDuration`) is written as
 * literals, since Next reads it from the file without running it. This repository's own app holds the same files
 * (a test keeps them equal).
 */
import { jobs } from "../jobs";

export interface RouteFile {
  /** Inside the app folder (`app` or `src/app`). */
  path: string;
  content: string;
  /** The call that mounts the handler (`cronRoute("export-file-cleanup"`): a host's own file with it mounts it too. */
  mounts: string;
}

const header = (what: string) =>
  `// ${what}\n// Written by \`npx export-ops init\`; \`npx export-ops remove\` deletes it while it is unchanged.\n`;

function cronRoute(job: (typeof jobs)[number]): RouteFile {
  return {
    path: `api/cron/${job.id}/route.ts`,
    mounts: `cronRoute("${job.id}"`,
    content:
      header(`export-ops, ${job.id} (${job.schedule} UTC, in vercel.json): ${job.description}.`) +
      `import { cronRoute } from "export-ops/next";\n\n` +
      `export const dynamic = "force-dynamic";\n` +
      `export const maxDuration = ${job.maxDurationSeconds};\n\n` +
      `export const { GET } = cronRoute("${job.id}");\n`,
  };
}

function route(path: string, what: string, factory: string, methods: string, maxDuration: number): RouteFile {
  return {
    path,
    mounts: `${factory}(`,
    content:
      header(`export-ops: ${what}.`) +
      `import { ${factory} } from "export-ops/next";\n\n` +
      `export const dynamic = "force-dynamic";\n` +
      `export const maxDuration = ${maxDuration};\n\n` +
      `export const { ${methods} } = ${factory}();\n`,
  };
}

/** Every route a host mounts, in the order init writes them. */
export function routeFiles(): RouteFile[] {
  return [
    ...jobs.map(cronRoute),
    route("api/health/route.ts", "liveness, without the database or any secret (GET /api/health)", "healthRoute", "GET", 10),
    route(
      "api/health/detailed/route.ts",
      "detailed health behind HEALTH_TOKEN (GET /api/health/detailed)",
      "detailedHealthRoute",
      "GET",
      30,
    ),
    route("api/metrics/route.ts", "Prometheus metrics behind METRICS_TOKEN (GET /api/metrics)", "metricsRoute", "GET", 30),
    route(
      "ops/[[...path]]/route.ts",
      "the ops page behind OPS_TOKEN (/ops, sign-in, sign-out, a run's detail)",
      "opsPageRoute",
      "GET, POST",
      30,
    ),
  ];
}

/** The paths a host's middleware must let through unauthenticated: Vercel Cron, monitors and the ops page's own sign-in. */
export const PUBLIC_PATHS = ["api/cron/export-", "api/health", "api/metrics", "ops"] as const;
