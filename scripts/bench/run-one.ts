/**
 * One benchmark run in a fresh process (so its peak memory is its own), compiled to JavaScript by ./cases.ts and
 * run as `node run-one.mjs <case> <impl> <n>` with the stack's env. Prints one JSON line (ChildRun in ./cases.ts):
 * the job's wall time and CPU time, when it started and ended, the process's peak memory and its memory before the
 * job started (Node, supabase-js and the job's modules loaded), so the difference is what the job itself adds, and
 * how long the process took to get there (boot_ms: Node's start and the modules' load, as a cold start pays).
 */
import { createClient } from "@supabase/supabase-js";
import { parseEnv } from "../../lib/env";
import { exportFileCleanup } from "../../lib/jobs/export-file-cleanup";
import { exportLogCleanup } from "../../lib/jobs/export-log-cleanup";
import type { LoadReport } from "../../lib/jobs/pacing";
import { createLogger } from "../../lib/logger";
import { createExportMetricsService } from "export-ops";
import { systemClock } from "../../lib/ports";
import { createServiceClient, createSupabasePorts, createSqlApi } from "../../lib/supabase";
import { exportMetricsAggregate } from "../../lib/jobs/export-metrics-aggregate";
import { naiveAggregate, naiveFileCleanup, naiveLogCleanup, naiveRollup } from "./naive";

const [benchCase, impl, nArg] = process.argv.slice(2) as [string, string, string];
const n = Number(nArg);
const env = parseEnv(process.env);
const logger = createLogger({ level: "silent" });
const DAY = new Date(process.env.BENCH_DAY!);
const deps = (overrides: Record<string, string> = {}) => {
  const e = parseEnv({ ...process.env, ...overrides });
  return { ...createSupabasePorts(e), env: e, clock: systemClock, logger, runId: crypto.randomUUID(), deadline: Number.POSITIVE_INFINITY };
};
/** a variant's options on top of the defaults (./host-impact.ts's variants) */
const extraOptions = JSON.parse(process.env.BENCH_JOB_OPTIONS ?? "{}") as Record<string, string>;
/** The hourly job as it runs at `at` (a test clock: SQL takes this time as "now" too). */
const rollUpAt = (at: Date) =>
  exportMetricsAggregate.run(
    { ...deps(), clock: { now: () => at, sqlNow: () => at } },
    exportMetricsAggregate.optionsSchema.parse(extraOptions),
  );
const plain = createClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY, { auth: { persistSession: false } });

/** What the job's own result said of its rests and of load (none for the naive implementations). */
let paced: { rested_ms: number; load: LoadReport } | undefined;
/** The job's result: its rests and load kept for the figures, then the rows it did. */
const done = <R extends { rested_ms: number; load: LoadReport }>(result: R, rows: (r: R) => number) => {
  paced = { rested_ms: result.rested_ms, load: result.load };
  return rows(result);
};
/** The monthly log cleanup with these settings (archival off, to the Storage bucket, or to the S3 store): the logs deleted. */
const logCleanup = async (settings: Record<string, string>) =>
  done(
    await exportLogCleanup.run(deps(settings), exportLogCleanup.optionsSchema.parse({ prune_metrics: "false", ...extraOptions })),
    (r) => r.deleted_count,
  );
const idle_rss_mb = process.memoryUsage().rss / 1024 / 1024;
const started = performance.now();
const cpuBefore = process.cpuUsage();
const boot_cpu_ms = (cpuBefore.user + cpuBefore.system) / 1000;
let processed = 0;
switch (`${benchCase}/${impl}`) {
  case "aggregate/export-ops": {
    const s = await createExportMetricsService(createServiceClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY), { logger }).aggregate({
      from: DAY,
      to: new Date(DAY.getTime() + 86_400_000),
    });
    processed = s.total_exports;
    break;
  }
  case "aggregate/naive":
    processed = (await naiveAggregate(plain, DAY, new Date(DAY.getTime() + 86_400_000))).total;
    break;
  case "rollup/export-ops": {
    // the hourly job catching up a whole day: 24 hours of raw metrics rolled up
    // (the hour rolls up 5 minutes after it ends)
    const result = await rollUpAt(new Date(DAY.getTime() + 24 * 3_600_000 + 6 * 60_000));
    if (result.hours_rolled_up !== 24 && !result.load.stopped_for_load) throw new Error(`rolled up ${result.hours_rolled_up} hours`);
    // the seed spreads the n rows evenly over the day
    processed = done(result, (r) => (r.hours_rolled_up === 24 ? n : Math.round((n * r.hours_rolled_up) / 24)));
    break;
  }
  case "rollup-hour/export-ops": {
    // one hourly run: the hour after BENCH_DAY's first (the cost table's run on no data)
    await rollUpAt(new Date(DAY.getTime() + 3_600_000 + 6 * 60_000));
    processed = n;
    break;
  }
  case "rollup/naive":
    processed = await naiveRollup(plain, DAY);
    break;
  case "log-cleanup/export-ops":
    processed = await logCleanup({ EXPORT_ARCHIVE_BUCKET: "" });
    break;
  case "log-cleanup-archive/export-ops":
    processed = await logCleanup({ EXPORT_ARCHIVE_BUCKET: "export-archive" });
    break;
  case "log-cleanup-archive-s3/export-ops":
    processed = await logCleanup({
      EXPORT_ARCHIVE_BUCKET: "export-archive",
      EXPORT_ARCHIVE_TARGET: "s3",
      EXPORT_ARCHIVE_REGION: "us-east-1",
      EXPORT_ARCHIVE_S3_ENDPOINT: process.env.BENCH_S3_ENDPOINT!,
      // s3rver's own key (../local-stack/s3-server.ts, not imported: every run would load s3rver)
      EXPORT_ARCHIVE_S3_ACCESS_KEY_ID: "S3RVER",
      EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY: "S3RVER",
    });
    break;
  case "log-cleanup/naive":
    processed = await naiveLogCleanup(plain, new Date(Date.now() - 30 * 86_400_000));
    break;
  case "file-cleanup/export-ops":
    processed = done(
      await exportFileCleanup.run(deps(), exportFileCleanup.optionsSchema.parse({ sweep_orphans: "false", ...extraOptions })),
      (r) => r.deleted_count,
    );
    break;
  case "file-cleanup/naive":
    processed = await naiveFileCleanup(plain, env.EXPORTS_BUCKET, new Date(Date.now() - 24 * 3_600_000));
    break;
  default:
    throw new Error(`unknown benchmark ${benchCase}/${impl}`);
}
const ended = performance.now();
const cpu = process.cpuUsage(cpuBefore);
// a run the load governor stopped did less, and says why (its figures cover what it did)
if (processed !== n && !paced?.load.stopped_for_load) throw new Error(`${benchCase}/${impl} processed ${processed} of ${n}`);
const epoch = (t: number) => performance.timeOrigin + t;
process.stdout.write(
  `${JSON.stringify({
    wall_ms: ended - started,
    processed,
    max_rss_mb: process.resourceUsage().maxRSS / 1024,
    idle_rss_mb,
    boot_ms: started,
    boot_cpu_ms,
    started_at: epoch(started),
    ended_at: epoch(ended),
    cpu_ms: (cpu.user + cpu.system) / 1000,
    ...(paced ?? {}),
  })}\n`,
);
process.exit(0);
