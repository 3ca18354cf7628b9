/**
 * Handlers behind the operational routes: detailed health (CRON_SECRET bearer) and the Prometheus scrape
 * (METRICS_TOKEN bearer). Both read the database on each call; neither changes anything.
 */
import { getCronSecret, getEnv, getMetricsToken, type Env } from "../env";
import { jobs } from "../jobs";
import { detailedHealth } from "../monitoring/health";
import { renderMetrics } from "../monitoring/prometheus";
import type { Logger } from "../logger";
import { systemClock, type Clock, type SqlApi } from "../ports";
import { createSupabasePorts } from "../supabase";
import { guarded, respond } from "./with-bearer";

export interface OpsOverrides {
  makeDb?: (env: Env) => SqlApi;
  clock?: Clock;
  logger?: Logger;
}

const dbFor = (overrides: OpsOverrides, env: Env) => (overrides.makeDb ? overrides.makeDb(env) : createSupabasePorts(env).db);

/** GET /api/health/detailed: 200 healthy or degraded, 503 unhealthy. */
export function healthDetailed(overrides: OpsOverrides = {}) {
  const clock = overrides.clock ?? systemClock;
  return (request: Request) =>
    guarded(request, { secret: getCronSecret, name: "health", clock, logger: overrides.logger }, async () => {
      const report = await detailedHealth(dbFor(overrides, getEnv()), jobs, () => clock.now());
      return respond(report.status === "unhealthy" ? 503 : 200, { ...report });
    });
}

/** GET /api/metrics: Prometheus text exposition. */
export function prometheusMetrics(overrides: OpsOverrides = {}) {
  const clock = overrides.clock ?? systemClock;
  return (request: Request) =>
    guarded(request, { secret: getMetricsToken, name: "metrics", clock, logger: overrides.logger }, async () => {
      const env = getEnv();
      const { contentType, body } = await renderMetrics(
        dbFor(overrides, env),
        jobs,
        { fileRetentionHours: env.EXPORT_FILE_RETENTION_HOURS, logRetentionDays: env.EXPORT_LOG_RETENTION_DAYS },
        () => clock.now(),
      );
      return new Response(body, { status: 200, headers: { "content-type": contentType, "cache-control": "no-store" } });
    });
}
