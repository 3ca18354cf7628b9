/**
 * `export-ops/next`: export-ops' routes for a host's App Router (Next 14.2 to 16). Each factory answers an object
 * of Web handlers, `(request: Request) => Promise<Response>`, which a route file of the host exports as they are
 * (`npx export-ops init` writes those files: lib/cli/route-files.ts):
 *
 *   export const { GET } = cronRoute("export-file-cleanup");   // app/api/cron/export-file-cleanup/route.ts
 *
 * Nothing here imports `next`: the handlers read only the Request, so they behave the same under every Next the
 * host runs. Settings come from the environment (lib/env.ts: SUPABASE_URL or NEXT_PUBLIC_SUPABASE_URL, …), or
 * from code: `cronRoute("export-file-cleanup", { settings: { EXPORT_FILE_RETENTION_HOURS: "48" } })`.
 */
import { withSettings, type Settings } from "../env";
import { healthDetailed, prometheusMetrics } from "../http/monitoring-routes";
import { withCron } from "../http/with-cron";
import { findJob, jobs } from "../jobs";
import { opsPageRoute as opsPageHandlers, type OpsPageRouteOptions } from "../ops-page/route";

export type Handler = (request: Request) => Promise<Response>;
export type JobId = (typeof jobs)[number]["id"];

export interface RouteOptions {
  /** Settings by their environment names, over the environment's, for everything this route's requests do. */
  settings?: Settings;
}

const given =
  (handler: Handler, options: RouteOptions): Handler =>
  (request) =>
    withSettings(options.settings, () => handler(request));

/** GET for a job's cron route: the CRON_SECRET bearer, options from the query, the run, its continuation. */
export function cronRoute(jobId: JobId, options: RouteOptions = {}): { GET: Handler } {
  const job = findJob(jobId);
  if (!job) throw new Error(`export-ops has no job "${String(jobId)}" (its jobs: ${jobs.map((j) => j.id).join(", ")})`);
  return { GET: Object.assign(given(withCron(job), options), { job }) };
}

/** GET /api/health: liveness, answered without the database or any secret, so it is cheap to probe often. */
export function healthRoute(): { GET: Handler } {
  return {
    GET: async () =>
      Response.json(
        { status: "ok", service: "export-ops", timestamp: new Date().toISOString() },
        { headers: { "cache-control": "no-store" } },
      ),
  };
}

/** GET /api/health/detailed behind HEALTH_TOKEN: 200 healthy or degraded, 503 unhealthy, 404 while the token is unset. */
export function detailedHealthRoute(options: RouteOptions = {}): { GET: Handler } {
  return { GET: given(healthDetailed(), options) };
}

/** GET /api/metrics behind METRICS_TOKEN: Prometheus text, 404 while the token is unset. */
export function metricsRoute(options: RouteOptions = {}): { GET: Handler } {
  return { GET: given(prometheusMetrics(), options) };
}

/** GET and POST for the ops page, mounted at `app/ops/[[...path]]/route.ts`: plain HTML behind OPS_TOKEN (lib/ops-page). */
export function opsPageRoute(options: RouteOptions & Pick<OpsPageRouteOptions, "basePath"> = {}): { GET: Handler; POST: Handler } {
  const { GET, POST } = opsPageHandlers({ basePath: options.basePath });
  return { GET: given(GET, options), POST: given(POST, options) };
}

/**
 * For the host's own `instrumentation.ts`, when it wants export-ops' spans (EXPORT_OPS_TRACING=on) with the URL
 * scrubbing this repository's deployment uses (lib/tracing.ts): when `tracingEnabled()`, pass
 * `otelConfiguration()` to @vercel/otel's `registerOTel` (docs/MONITORING.md, Traces).
 */
export { otelConfiguration } from "../tracing";
export { tracingEnabled } from "../env";
