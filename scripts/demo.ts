/**
 * `npm run demo`: the whole system end to end on this machine. Starts the local Supabase stack, seeds ~40 days
 * of export history (with real files in Storage), starts the Next.js app, and calls every cron route over HTTP:
 * first a dry run as an operator would (the bearer, no Vercel headers), then the scheduled delivery exactly as
 * Vercel Cron sends it (waiting for a run's continuations to end before the next step). The hourly job's later
 * runs are called by hand, as a person would, since one hour has one scheduled occurrence. It prints the
 * responses, what changed, and the app's structured log lines, then judges what it showed from the database,
 * Storage and the webhook (./demo-outcome.ts) and exits non-zero when a job did not do its work. Last, in a
 * terminal, it prints the ops page's address and token and keeps everything up until Ctrl-C; without one (CI) it
 * says so and stops. Everything it started is stopped at the end, or on Ctrl-C.
 */
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { createServer as createHttpServer } from "node:http";
import { exportFileCleanup, exportLogCleanup, exportMetricsAggregate, jobs } from "../lib/jobs";
import type { JobDefinition } from "../lib/jobs/job";
import { createLogger } from "../lib/logger";
import { createExportMetricsService } from "export-ops";
import { decodeArchive } from "../lib/archive/log-archive";
import { createObjectStorage, createServiceClient } from "../lib/supabase";
import { filesDue, judgeDemo, logsExpired, logsPastRetention, logsStillThere, rollupHours, type DemoOutcome } from "./demo-outcome";
import { seedDemo } from "./demo-seed";
import { exitOnSetupError, startStack } from "./local-stack";
import { startNextApp, type NextApp } from "./local-stack/next-app";

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (s: string) => console.log(`\n${bold(`== ${s}`)}`);

let app: NextApp | undefined;
let saidStopped = true; // until the stack is up
const STOPPED = "Stopped the app, PostgREST, Postgres and the Storage stand-in.";
// Ctrl-C: the stack and the app stop themselves and exit before the `finally` below can say so
process.once("exit", () => saidStopped || console.log(STOPPED));

step("Starting the local Supabase stack (Postgres, PostgREST, Storage)");
const stack = await startStack({ quiet: true }).catch(exitOnSetupError);
saidStopped = false;
console.log(`Supabase API at ${stack.env.SUPABASE_URL}`);
const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
db.on("error", () => {}); // on Ctrl-C the stack stops Postgres under this connection

try {
  step("Seeding 40 days of export history");
  const seeded = await seedDemo(stack.env);
  console.log(`${seeded.exports} export logs with metrics, ${seeded.files} files in Storage, ${seeded.orphans} orphaned files`);
  await db.connect();

  step("Starting a local webhook receiver for alerts (stands in for Slack)");
  const notifications: DemoOutcome["notifications"] = [];
  const received: string[] = [];
  const webhook = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { text: string; export_ops?: { alert: string; state: string } };
      if (body.export_ops) notifications.push({ alert: body.export_ops.alert, state: body.export_ops.state });
      received.push(`  [webhook received] ${body.text}`); // printed after the response of the call that sent it
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, "127.0.0.1", resolve));
  const webhookUrl = `http://127.0.0.1:${(webhook.address() as { port: number }).port}/slack`;
  webhook.unref();

  step("Starting the app (next dev)");
  const cronSecret = randomBytes(24).toString("base64url");
  const metricsToken = randomBytes(24).toString("base64url");
  const healthToken = randomBytes(24).toString("base64url");
  const opsToken = randomBytes(24).toString("base64url");
  app = await startNextApp("dev", {
    NODE_ENV: "development",
    SUPABASE_URL: stack.env.SUPABASE_URL,
    SUPABASE_SERVICE_ROLE_KEY: stack.env.SUPABASE_SERVICE_ROLE_KEY,
    CRON_SECRET: cronSecret,
    METRICS_TOKEN: metricsToken,
    HEALTH_TOKEN: healthToken,
    OPS_TOKEN: opsToken,
    ALERT_WEBHOOK_URL: webhookUrl,
    EXPORT_ARCHIVE_BUCKET: "export-archive",
    LOG_LEVEL: "info",
  });
  const appUrl = app.url;
  const appLines = app.jsonLines;
  console.log(`App at ${appUrl}; GET /api/health → ${JSON.stringify(await (await fetch(`${appUrl}/api/health`)).json())}`);

  const snapshot = async () => {
    const logs = await db.query<{ status: string; n: number }>("select status, count(*)::int as n from export_logs group by 1 order by 1");
    const files = await db.query<{ n: number }>("select count(*)::int as n from storage.objects where bucket_id = 'exports'");
    return `export_logs by status: ${logs.rows.map((r) => `${r.status}=${r.n}`).join(", ")}; files in Storage: ${files.rows[0]!.n}`;
  };

  /**
   * Calls a cron route: `vercel` as Vercel Cron delivers a scheduled occurrence (the bearer, its user agent and the
   * schedule that fired), `person` as an operator with curl (the bearer only), `anonymous` with neither.
   */
  const callCron = async (jobId: string, as: "vercel" | "person" | "anonymous", query = "") => {
    const schedule = jobs.find((j) => j.id === jobId)!.schedule;
    const headers: Record<string, string> = as === "anonymous" ? {} : { authorization: `Bearer ${cronSecret}` };
    if (as === "vercel") Object.assign(headers, { "user-agent": "vercel-cron/1.0", "x-vercel-cron-schedule": schedule });
    const res = await fetch(`${appUrl}/api/cron/${jobId}${query}`, { headers });
    const who = { vercel: `as Vercel Cron delivers "${schedule}"`, person: "by hand, the bearer only", anonymous: "without the bearer" }[
      as
    ];
    console.log(`\nGET /api/cron/${jobId}${query} (${who}) → HTTP ${res.status}`);
    const body = (await res.json()) as { continuation?: string | null };
    console.log(JSON.stringify(body, null, 2));
    for (const line of received.splice(0)) console.log(line);
    if (body.continuation === "scheduled") await continuations(jobId);
  };

  /**
   * A run that left work continues in the background: wait until its chain has ended (no run of the job is
   * running, and none has started for 2 s), so the next step sees the state it narrates, and say what it did.
   */
  const continuations = async (jobId: string) => {
    const since = new Date();
    for (let quiet = 0; quiet < 10;) {
      await new Promise((r) => setTimeout(r, 200));
      const { rows } = await db.query<{ running: number; latest: Date | null }>(
        "select count(*) filter (where status = 'running')::int as running, max(started_at) as latest from export_ops_runs where job = $1",
        [jobId],
      );
      const recent = rows[0]!.latest !== null && Date.now() - rows[0]!.latest.getTime() < 2_000;
      quiet = rows[0]!.running === 0 && !recent ? quiet + 1 : 0;
    }
    const { rows } = await db.query<{ status: string; n: number }>(
      "select status, count(*)::int as n from export_ops_runs where job = $1 and trigger = 'continuation' and started_at >= $2 group by 1 order by 1",
      [jobId, since],
    );
    const total = rows.reduce((n, r) => n + r.n, 0);
    console.log(
      `\n(work was left: the run continued in the background, ${total} continuation run${total === 1 ? "" : "s"}: ${rows.map((r) => `${r.n} ${r.status}`).join(", ")})`,
    );
  };

  const storage = createObjectStorage(createServiceClient(stack.env.SUPABASE_URL, stack.env.SUPABASE_SERVICE_ROLE_KEY));
  /** Prints the archive objects, and answers how many of `ids` they hold. */
  const showArchive = async (ids: Set<string>) => {
    const objects = await db.query<{ name: string; size: number }>(
      "select name, (metadata->>'size')::int as size from storage.objects where bucket_id = 'export-archive' order by name",
    );
    let held = 0;
    for (const o of objects.rows) {
      const rows = decodeArchive(await storage.download("export-archive", o.name)) as { export_id?: string }[];
      held += rows.filter((r) => r.export_id !== undefined && ids.has(r.export_id)).length;
      console.log(`\narchive object export-archive/${o.name}: ${o.size} bytes gzip, ${rows.length} rows; the first two:`);
      for (const row of rows.slice(0, 2)) console.log(`  ${JSON.stringify(row)}`);
    }
    return held;
  };

  step("Before");
  console.log(await snapshot());

  type Job = Pick<JobDefinition, "id" | "schedule" | "description">;
  const [fileCleanup, logCleanup, aggregate] = [exportFileCleanup, exportLogCleanup, exportMetricsAggregate];
  const introduce = (job: Job) => step(`${job.id} (${job.schedule} UTC): ${job.description}`);
  const dryThenReal = async (job: Job) => {
    console.log("\nAn operator previews the run (a dry run changes nothing, and claims nothing Vercel's delivery needs):");
    await callCron(job.id, "person", "?dry_run=true");
    console.log("\nThen Vercel Cron delivers the scheduled run:");
    await callCron(job.id, "vercel");
    console.log(`\n${await snapshot()}`);
  };

  introduce(fileCleanup);
  const files = { dueBefore: await filesDue(db), expiredBefore: await logsExpired(db), dueAfter: 0, expiredAfter: 0 };
  await dryThenReal(fileCleanup);
  Object.assign(files, { dueAfter: await filesDue(db), expiredAfter: await logsExpired(db) });
  console.log(
    `Files past retention in Storage: ${files.dueBefore} → ${files.dueAfter}; logs expired: ${files.expiredBefore} → ${files.expiredAfter}`,
  );

  introduce(logCleanup);
  const pastRetention = await logsPastRetention(db);
  await dryThenReal(logCleanup);
  const archived = await showArchive(new Set(pastRetention));
  const logs = {
    pastRetentionBefore: pastRetention.length,
    pastRetentionAfter: (await logsPastRetention(db)).length,
    deleted: pastRetention.length - (await logsStillThere(db, pastRetention)),
    archived,
  };
  console.log(
    `Logs past retention: ${logs.pastRetentionBefore} → ${logs.pastRetentionAfter}; ${logs.archived} of the ${logs.deleted} deleted are in the archive`,
  );

  introduce(aggregate);
  await dryThenReal(aggregate);
  console.log("\nVercel may deliver one occurrence twice: the second delivery of this hour's run does nothing.");
  await callCron(aggregate.id, "vercel");

  step("A burst of failures: the host app records metrics with ExportMetricsService, the hourly cron alerts once");
  const metrics = createExportMetricsService(createServiceClient(stack.env.SUPABASE_URL, stack.env.SUPABASE_SERVICE_ROLE_KEY), {
    logger: createLogger({ level: "silent" }),
  });
  const record = async (count: number, failed: number) => {
    for (let i = 0; i < count; i += 1) {
      const failure = i < failed;
      await metrics.logExportMetric({
        export_id: randomUUID(),
        user_id: randomUUID(),
        format: "jsonl",
        conversation_count: 120,
        duration_ms: 1800,
        status: failure ? "failed" : "completed",
        file_size_bytes: failure ? null : 48_000,
        ...(failure ? { error_type: "StorageError", error_message: "upload to the exports bucket failed" } : {}),
      });
    }
    console.log(`recorded ${count} export metrics, ${failed} of them failures`);
  };
  console.log("The hourly route is called by hand below, as a person would: this hour's scheduled occurrence has run, and");
  console.log("waiting an hour for each of Vercel's next deliveries would make a long demo.");
  await record(30, 12);
  await callCron(aggregate.id, "person");
  await record(10, 4);
  console.log("\nThe next run: still failing, so the alert stays firing and sends nothing new.");
  await callCron(aggregate.id, "person");
  await record(400, 0);
  console.log("\nExports recover:");
  await callCron(aggregate.id, "person");
  const hours = await db.query<{ n: number; total: number }>(
    "select count(*)::int as n, coalesce(sum(total), 0)::int as total from export_ops_metric_hours",
  );
  console.log(
    `\nRollups now cover ${hours.rows[0]!.n} hours (${hours.rows[0]!.total} exports); each run catches up at most a week and says has_more.`,
  );

  step("Run history, health and Prometheus metrics, all read from the database");
  const runs = await db.query<{ job: string; trigger: string; status: string; dry_run: boolean }>(
    "select job, trigger, status, dry_run from export_ops_runs order by started_at",
  );
  for (const r of runs.rows)
    console.log(`export_ops_runs: ${r.job} trigger=${r.trigger} status=${r.status}${r.dry_run ? " (dry run)" : ""}`);
  const health = await fetch(`${appUrl}/api/health/detailed`, { headers: { authorization: `Bearer ${healthToken}` } });
  const report = (await health.json()) as {
    status: string;
    database: unknown;
    jobs: { job: string; status: string; last_success_at: string | null }[];
  };
  console.log(`\nGET /api/health/detailed → HTTP ${health.status}: ${report.status}, database ${JSON.stringify(report.database)}`);
  for (const j of report.jobs) console.log(`  ${j.job}: ${j.status} (last success ${j.last_success_at ?? "never"})`);
  const scrape = await (await fetch(`${appUrl}/api/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
  console.log("\nGET /api/metrics (a few of the series):");
  for (const line of scrape
    .split("\n")
    .filter((l) =>
      /^export_ops_(files_deleted_total|logs_archived_total|job_runs_total\{.*succeeded|export_failure_rate|alert_firing|rollup_backlog)/.test(
        l,
      ),
    )) {
    console.log(`  ${line}`);
  }

  step("A call without the bearer is refused");
  await callCron(fileCleanup.id, "anonymous");

  step("The app's structured log lines (what a Vercel log drain forwards)");
  await new Promise((r) => setTimeout(r, 300));
  const hourly = appLines.filter((l) => l.includes('"type":"aggregated_metrics"'));
  if (hourly.length > 3) console.log(`(${hourly.length} aggregated_metrics lines, one per hour rolled up; showing the first 3)`);
  for (const line of appLines.filter((l) => !hourly.slice(3).includes(l))) {
    const { time, level, type, job, run_id, trigger, msg, result } = JSON.parse(line) as Record<string, unknown>;
    const summary = result ? ` result=${JSON.stringify(result).slice(0, 140)}…` : "";
    console.log(`${time} ${level} type=${type} job=${job ?? "-"} trigger=${trigger ?? "-"} run_id=${run_id ?? "-"} ${msg ?? ""}${summary}`);
  }

  step("What the demo showed, read from the database, Storage and the webhook");
  const checks = judgeDemo({
    files,
    logs,
    notifications,
    rollupHours: await rollupHours(db),
    health: { httpStatus: health.status, status: report.status },
  });
  for (const c of checks) console.log(`  ${c.ok ? "ok  " : "FAIL"} ${c.text}`);
  if (checks.some((c) => !c.ok)) {
    process.exitCode = 1;
    console.log("The demo did not show what it narrates: the lines marked FAIL say what did not happen.");
  }

  step("The ops page");
  if (process.stdin.isTTY && process.stdout.isTTY) {
    console.log(`Open ${appUrl}/ops and sign in with the ops token: ${opsToken}`);
    console.log("The app and the stack stay up until Ctrl-C.");
    await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
  } else {
    console.log(
      "Not kept up: without a terminal there is no Ctrl-C to end it, so everything stops now. Run `npm run demo` in a terminal to open the ops page.",
    );
  }
} finally {
  step("Shutting down");
  app?.stop();
  await db.end().catch(() => {});
  await stack.stop();
  saidStopped = true;
  console.log(STOPPED);
}
