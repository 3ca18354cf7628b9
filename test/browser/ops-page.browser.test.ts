/**
 * The ops page in a real browser (Chromium through playwright-core) against the built app (`next start`) on the
 * local stack with the demo's data: signed out → the sign-in form; a wrong token → refused; the right token →
 * every panel, with figures equal to what the SQL API returns for the same data, and the charts drawn on the server
 * as SVG with bars in proportion to those figures; a run's detail; sign-out. No page raises a content security
 * policy violation (the DOM's securitypolicyviolation event and Chromium's console both watched; a deliberate
 * violation shows the watch works). Also prints the page's server time (median of 5 requests) and, with
 * UPDATE_SCREENSHOT=1, writes the README's screenshot (docs/ops-page.png).
 *
 * Needs `npm run build` first, and a Chromium: CHROMIUM_PATH, else /usr/bin/chromium (Debian's `chromium`), else
 * the one `npx playwright-core install chromium` downloads.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MAX_CONTINUATIONS_PER_DAY } from "../../lib/http/continuation";
import { jobs } from "../../lib/jobs";
import { createLogger } from "../../lib/logger";
import { createExportMetricsService } from "export-ops";
import { loadOpsPage, type OpsPageData } from "../../lib/ops/page-data";
import { systemClock } from "../../lib/ports";
import { createServiceClient, createSqlApi } from "../../lib/supabase";
import { seedDemo } from "../../scripts/demo-seed";
import { startStack, type Stack } from "../../scripts/local-stack";
import { startNextApp, type NextApp } from "../../scripts/local-stack/next-app";

const root = path.resolve(__dirname, "../..");
const OPS_TOKEN = randomBytes(24).toString("base64url");
const CRON_SECRET = randomBytes(24).toString("base64url");

function chromiumPath(): string | undefined {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) return configured;
  return existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : undefined; // else Playwright's own download
}

let stack: Stack;
let app: NextApp;
let browser: Browser;

/**
 * Calls a job's route and waits until that run and the continuations it called in turn are over: the job's
 * latest run has finished and left no work (`has_more` not true), or the day's continuations are used up. Read
 * from the run history, so however long a continuation takes to start, its run is waited for.
 */
async function cron(jobId: string): Promise<void> {
  const res = await fetch(`${app.url}/api/cron/${jobId}`, {
    headers: { authorization: `Bearer ${CRON_SECRET}`, "user-agent": "vercel-cron/1.0" },
  });
  expect(res.status).toBe(200);
  const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
  await db.connect();
  try {
    await vi.waitFor(
      async () => {
        const { rows } = await db.query<{ status: string; has_more: boolean | null; continuations_today: number }>(
          `select status, (result->>'has_more')::boolean as has_more,
                  (select count(*)::int from export_ops_runs c
                    where c.job = r.job and c.trigger = 'continuation' and c.started_at >= date_trunc('day', now() at time zone 'UTC') at time zone 'UTC') as continuations_today
             from export_ops_runs r where job = $1 order by started_at desc limit 1`,
          [jobId],
        );
        const latest = rows[0];
        expect(latest?.status).not.toBe("running");
        if (latest?.has_more) expect(latest.continuations_today).toBeGreaterThanOrEqual(MAX_CONTINUATIONS_PER_DAY);
      },
      { timeout: 300_000, interval: 250 },
    );
  } finally {
    await db.end();
  }
}

beforeAll(async () => {
  if (!existsSync(path.join(root, ".next/BUILD_ID"))) throw new Error("no build: run `npm run build` before `npm run test:browser`");
  stack = await startStack({ quiet: true });
  await seedDemo(stack.env);
  app = await startNextApp("start", {
    SUPABASE_URL: stack.env.SUPABASE_URL,
    SUPABASE_SERVICE_ROLE_KEY: stack.env.SUPABASE_SERVICE_ROLE_KEY,
    CRON_SECRET,
    HEALTH_TOKEN: randomBytes(24).toString("base64url"),
    OPS_TOKEN,
    EXPORT_ARCHIVE_BUCKET: "export-archive",
    LOG_LEVEL: "warn",
  });
  // The demo's day: every job once (the hourly job catches up on 40 days through its continuations), then a burst
  // of failures fires the alert.
  for (const job of jobs) {
    await cron(job.id);
  }
  const metrics = createExportMetricsService(createServiceClient(stack.env.SUPABASE_URL, stack.env.SUPABASE_SERVICE_ROLE_KEY), {
    logger: createLogger({ level: "silent" }),
  });
  for (let i = 0; i < 30; i += 1) {
    const failed = i < 12;
    await metrics.logExportMetric({
      export_id: randomUUID(),
      user_id: randomUUID(),
      format: "csv",
      conversation_count: 40,
      duration_ms: 2400,
      status: failed ? "failed" : "completed",
      file_size_bytes: failed ? null : 20_000,
      ...(failed ? { error_type: "StorageError", error_message: "upload to the exports bucket failed" } : {}),
    });
  }
  await cron("export-metrics-aggregate");
  browser = await chromium.launch({ executablePath: chromiumPath() });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  app?.stop();
  await stack?.stop();
});

/** The SQL API's answer for the same data, read the way the page reads it. */
function expected(): Promise<OpsPageData> {
  const db = createSqlApi(createServiceClient(stack.env.SUPABASE_URL, stack.env.SUPABASE_SERVICE_ROLE_KEY));
  return loadOpsPage(db, jobs, { exportsBucket: "exports", fileRetentionHours: 24, logRetentionDays: 30 }, systemClock);
}

/**
 * Every content security policy violation in a context's pages, as the page's own securitypolicyviolation event
 * and as Chromium's console message report it.
 */
async function watchPolicy(context: BrowserContext): Promise<string[]> {
  const violations: string[] = [];
  await context.exposeBinding("__reportViolation", (_source, text: string) => void violations.push(text));
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as unknown as { __reportViolation(text: string): void }).__reportViolation(
        `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`,
      );
    });
  });
  context.on("console", (message) => {
    if (/content security policy/i.test(message.text())) violations.push(`console ${message.type()}: ${message.text()}`);
  });
  return violations;
}

async function watchedPage(options: Parameters<Browser["newContext"]>[0] = {}) {
  const context = await browser.newContext(options);
  const violations = await watchPolicy(context);
  return { context, page: await context.newPage(), violations };
}

/** Each bar of a chart: its hover title and the height of its segments, drawn by the browser. */
function bars(page: Page, chart: string) {
  return page.locator(`figure.chart[aria-label="${chart}"] g.bar`).evaluateAll((groups) =>
    groups.map((g) => ({
      title: g.querySelector("title")?.textContent ?? "",
      height: [...g.querySelectorAll("rect[data-series]")].reduce((sum, r) => sum + (r as SVGRectElement).getBBox().height, 0),
    })),
  );
}

/**
 * The charts, drawn on the server as SVG: a bar per day, its figures in its hover title, its height in proportion
 * to them (the tallest bar the tallest).
 */
async function expectCharts(page: Page, want: OpsPageData): Promise<void> {
  expect(await page.locator("figure.chart > svg").count()).toBe(3);
  const perDay = await bars(page, "Exports per day");
  expect(perDay).toHaveLength(want.exports.per_day.length);
  want.exports.per_day.forEach((d, i) =>
    expect(perDay[i]!.title).toBe(`${d.day}: completed ${d.completed.toLocaleString("en-US")}, failed ${d.failed.toLocaleString("en-US")}`),
  );
  const busiest = Math.max(...want.exports.per_day.map((d) => d.completed + d.failed));
  expect(busiest).toBeGreaterThan(0);
  const pxPerExport = Math.max(...perDay.map((b) => b.height)) / busiest;
  want.exports.per_day.forEach((d, i) => expect(Math.abs(perDay[i]!.height - (d.completed + d.failed) * pxPerExport)).toBeLessThan(0.5));
  expect(await page.locator('figure.chart[aria-label="Files deleted per day"] rect[data-series]').count()).toBeGreaterThan(0);
}

/** The page's server time with the demo's data: measured and printed, never asserted. */
async function printServerTime(session: string): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < 6; i += 1) {
    const started = performance.now();
    const res = await fetch(`${app.url}/ops`, { headers: { cookie: `export_ops_session=${session}` } });
    const html = await res.text();
    if (i > 0) times.push(performance.now() - started); // the first warms the route
    expect(html).toContain("Recent runs");
  }
  times.sort((a, b) => a - b);
  console.log(
    `ops page: ${times[Math.floor(times.length / 2)]!.toFixed(0)} ms server time (median of ${times.length} requests, demo data, next start)`,
  );
}

const field = (page: Page, scope: string, name: string) =>
  page.locator(`${scope} data[data-field="${name}"]`).first().getAttribute("value");

async function signIn(page: Page, token: string) {
  await page.goto(`${app.url}/ops`);
  await page.getByLabel("Ops token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForLoadState("networkidle");
}

describe("the ops page in Chromium", () => {
  it("shows only the sign-in form without a session, under a policy without 'unsafe-inline'", async () => {
    const { context, page, violations } = await watchedPage();
    const res = await page.goto(`${app.url}/ops`);
    const policy = res!.headers()["content-security-policy"] ?? "";
    expect(policy).toMatch(/^default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+';/);
    expect(policy).not.toMatch(/unsafe/);
    await expect(page.getByLabel("Ops token").isVisible()).resolves.toBe(true);
    expect(await page.locator("h2").count()).toBe(0);
    expect(await page.content()).not.toContain("export-file-cleanup");
    // the page's own stylesheet applied (allowed by its hash): the root's font is the page's, not the browser's
    expect(await page.evaluate(() => getComputedStyle(document.body).fontFamily)).toContain("system-ui");
    expect(violations).toEqual([]);
    await context.close();
  });

  it("refuses a wrong token with a clear message, and puts no token in the URL", async () => {
    const { context, page, violations } = await watchedPage();
    await signIn(page, `${OPS_TOKEN}-wrong`);
    await expect(page.locator("p[role=alert]").textContent()).resolves.toContain("That token was refused");
    expect(page.url()).toBe(`${app.url}/ops?sign_in=refused`);
    expect((await page.context().cookies()).filter((c) => c.name === "export_ops_session")).toEqual([]);
    expect(violations).toEqual([]);
    await context.close();
  });

  it("shows every panel with the SQL API's figures once signed in, a run's detail, and signs out", async () => {
    const { context, page, violations } = await watchedPage({ viewport: { width: 1200, height: 900 } });
    await signIn(page, OPS_TOKEN);
    expect(page.url()).toBe(`${app.url}/ops`);
    const [cookie] = (await context.cookies()).filter((c) => c.name === "export_ops_session");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/ops" });
    expect(cookie!.value).not.toContain(OPS_TOKEN);

    const want = await expected();
    for (const heading of ["Jobs", "Alerts", "Exports", "Cleanup", "Recent runs"]) {
      await expect(page.getByRole("heading", { level: 2, name: heading }).isVisible()).resolves.toBe(true);
    }
    for (const job of want.jobs) {
      const row = `tr[data-job="${job.id}"]`;
      expect(await field(page, row, "status")).toBe(job.health.status);
      expect(await field(page, row, "last_status")).toBe(job.health.last_status);
      expect(Number(await field(page, row, "backlog"))).toBe(job.backlog);
    }
    for (const [name, alert] of Object.entries(want.alerts.alerts))
      expect(await field(page, `tr[data-alert="${name}"]`, "alert_state")).toBe(alert.state);
    expect(await page.locator("tr[data-transition]").count()).toBe(want.alerts.transitions.length);
    expect(want.alerts.alerts.export_failure_rate?.state).toBe("firing");

    for (const name of ["total_24h", "total_30d"] as const) expect(Number(await field(page, "section", name))).toBe(want.exports[name]);
    for (const name of ["success_rate_24h", "success_rate_30d"] as const) {
      expect(await field(page, "section", name)).toBe(want.exports[name] === null ? "" : String(want.exports[name]));
    }
    for (const f of want.exports.p95_by_format) expect(Number(await field(page, `tr[data-format="${f.format}"]`, "p95_ms"))).toBe(f.p95_ms);
    for (const f of want.exports.failures_by_error_type)
      expect(Number(await field(page, `tr[data-error-type="${f.error_type}"]`, "failures"))).toBe(f.count);
    expect(want.exports.failures_by_error_type.length).toBeGreaterThan(0);

    for (const name of [
      "storage_objects",
      "storage_bytes",
      "quarantined",
      "log_backlog",
      "archive_objects_total",
      "archive_objects_30d",
    ] as const) {
      expect(Number(await field(page, "section", name))).toBe(want.cleanup[name]);
    }
    const deleted = want.cleanup.files_deleted_per_day.reduce((s, d) => s + d.files + d.orphans, 0);
    expect(deleted).toBeGreaterThan(0);
    expect(Number(await field(page, "section", "files_deleted_30d"))).toBe(deleted);
    expect(await field(page, "section", "orphan_sweep")).toBe(want.orphanSweep.enabled ? "on" : "off");
    expect(await page.locator('tr[data-bucket="exports"]').textContent()).toContain("private, created by export-ops");

    const runIds = await page.locator("tr[data-run]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-run")));
    expect(runIds).toEqual(want.runs.map((r) => r.run_id));

    await expectCharts(page, want);
    // local times on hover once the page's one script ran
    expect(await page.locator("time").first().getAttribute("title")).toMatch(/your time/);

    const screenshot = process.env.UPDATE_SCREENSHOT === "1" ? path.join(root, "docs/ops-page.png") : path.join(root, ".next/ops-page.png");
    await mkdir(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    // the tables under the charts open without a script
    await page.locator("details summary").first().click();
    expect(await page.locator("details table").first().isVisible()).toBe(true);

    await page.locator("tr[data-run] a").first().click();
    await page.waitForLoadState("networkidle");
    expect(await page.locator('[data-field="run_id"]').textContent()).toBe(runIds[0]);
    expect(await page.locator('[data-field="result"]').textContent()).toContain('"has_more"');

    await printServerTime(cookie!.value);

    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await page.waitForLoadState("networkidle");
    await expect(page.getByLabel("Ops token").isVisible()).resolves.toBe(true);
    expect((await context.cookies()).filter((c) => c.name === "export_ops_session")).toEqual([]);
    await page.goto(`${app.url}/ops`);
    await expect(page.getByLabel("Ops token").isVisible()).resolves.toBe(true);
    // the cookie kept from before sign-out (a copy, a stolen one) opens nothing: the session ended server-side
    await context.addCookies([cookie!]);
    await page.goto(`${app.url}/ops`);
    await expect(page.getByLabel("Ops token").isVisible()).resolves.toBe(true);
    await page.goto(`${app.url}/ops/runs/${runIds[0]}`);
    await expect(page.getByLabel("Ops token").isVisible()).resolves.toBe(true);

    expect(violations).toEqual([]);
    await context.close();
  });

  it("would see a violation: a style the policy does not allow is reported by both watches", async () => {
    const { context, page, violations } = await watchedPage();
    await page.goto(`${app.url}/ops`);
    await page.evaluate(() => {
      const style = document.createElement("style");
      style.textContent = "body { background: red; }";
      document.head.append(style);
    });
    await expect.poll(() => violations.length).toBeGreaterThanOrEqual(2);
    expect(violations.some((v) => v.startsWith("style-src-elem blocked inline"))).toBe(true);
    expect(violations.some((v) => v.startsWith("console"))).toBe(true);
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe("rgb(255, 0, 0)");
    await context.close();
  });
});
