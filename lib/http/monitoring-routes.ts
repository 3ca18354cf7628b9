/**
 * Handlers behind the monitoring routes: detailed health (HEALTH_TOKEN bearer) and the Prometheus scrape
 * (METRICS_TOKEN bearer). Each has its own read-only token, never CRON_SECRET, so a monitoring service cannot run
 * a job; each answers 404 while its token is unset. Both read the database on each call and change nothing but
 * closing runs that outlived their deadline as `abandoned`.
 */
import { getEnv, getReadToken, type Env } from "../env";
import { jobs } from "../jobs";
import { describeCheckinTargets } from "../checkins/checkins";
import { detailedHealth } from "../reporting/health";
import { renderMetrics } from "../reporting/prometheus";
import type { Logger } from "../logger";
import { systemClock, type Clock, type ObjectStorage, type SqlApi } from "../ports";
import { createSupabasePorts } from "../supabase";
import { guarded, respond } from "./with-bearer";

export interface MonitoringOverrides {
  makeDb?: (env: Env) => SqlApi;
  /** Storage, for the buckets' versioning; the deployment's unless `makeDb` is given. */
  makeStorage?: (env: Env) => ObjectStorage;
  clock?: Clock;
  logger?: Logger;
}

const portsFor = (overrides: MonitoringOverrides, env: Env): { db: SqlApi; storage?: ObjectStorage } =>
  overrides.makeDb ? { db: overrides.makeDb(env), storage: overrides.makeStorage?.(env) } : createSupabasePorts(env);

/** GET /api/health/detailed: 200 healthy or degraded, 503 unhealthy. */
export function healthDetailed(overrides: MonitoringOverrides = {}) {
  const clock = overrides.clock ?? systemClock;
  return (request: Request) =>
    guarded(request, { secret: () => getReadToken("HEALTH_TOKEN"), name: "health", clock, logger: overrides.logger }, async () => {
      const env = getEnv();
      const { db, storage } = portsFor(overrides, env);
      const report = await detailedHealth(db, jobs, clock, {
        stuckHours: env.EXPORT_STUCK_HOURS,
        env,
        storage,
        checkinTargets: describeCheckinTargets(
          env,
          jobs.map((j) => j.id),
        ),
      });
      return respond(report.status === "unhealthy" ? 503 : 200, { ...report });
    });
}

/** GET /api/metrics: Prometheus text exposition. */
export function prometheusMetrics(overrides: MonitoringOverrides = {}) {
  const clock = overrides.clock ?? systemClock;
  return (request: Request) =>
    guarded(request, { secret: () => getReadToken("METRICS_TOKEN"), name: "metrics", clock, logger: overrides.logger }, async () => {
      const env = getEnv();
      const { contentType, body } = await renderMetrics(
        portsFor(overrides, env).db,
        jobs,
        {
          fileRetentionHours: env.EXPORT_FILE_RETENTION_HOURS,
          logRetentionDays: env.EXPORT_LOG_RETENTION_DAYS,
          stuckHours: env.EXPORT_STUCK_HOURS,
        },
        clock,
      );
      return new Response(body, { status: 200, headers: { "content-type": contentType, "cache-control": "no-store" } });
    });
}
