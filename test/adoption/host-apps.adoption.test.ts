/**
 * export-ops living inside a host's own Next.js app, on two hosts installed outside this repository with the packed
 * package (./prepare.ts): the same app at older pins (Next 14.2, React 18, supabase-js 2.43, @supabase/ssr 0.1,
 * TypeScript 5.4, Node 20 types, zod 3) and at the newest. Both have Vercel's Supabase starter middleware, which
 * redirects every request without a user to /login and skips only static files, images and the app's own
 * /api/export. For each host, in order:
 *
 *   a. `npx export-ops init` (after a --dry-run that writes nothing) names every file it writes; a second run
 *      changes nothing;
 *   b. the host's own `tsc --noEmit` and `next build` pass with its pins, and the build lists export-ops' routes;
 *   c. under `next start` against the local stack, Vercel Cron's calls pass the host's middleware and do the work:
 *      expired files deleted, old logs archived and deleted, rollups written, the failure-rate alert posted; a call
 *      without the bearer is a 401, not a redirect;
 *   d. health, detailed health and Prometheus metrics answer through the middleware, 401 without their tokens;
 *   e. the ops page in Chromium: sign-in, the runs just made, a run's detail, sign-out; the host's own pages as they
 *      were;
 *   f. `npx export-ops remove` leaves the tree as it was before init, but for the migrations, which stay.
 *
 * What the install, the routes and a cold start cost is written to .adoption-figures.json.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { decodeArchive } from "../../lib/archive/log-archive";
import { EXCLUSION } from "../../lib/cli/middleware";
import { routeFiles } from "../../lib/cli/route-files";
import { BUCKET, installedHoursAgo, objectNames, ports, resetData, seedExports } from "../helpers/exports";
import { closeSql, sql, stack } from "../helpers/stack";
import {
  changedPaths,
  coldImportMs,
  exportOps,
  namedFiles,
  nodeIn,
  routeSizes,
  startHost,
  treeOf,
  webhookReceiver,
  type HostServer,
  type Tree,
} from "./host-tools";
import { HOST_APP, HOST_APP_LATEST, HOST_MIGRATION, lockBeforeExportOps, recordFigures } from "./hosts";

afterAll(closeSql);

const root = path.resolve(__dirname, "../..");
const PINNED = ["next", "react", "react-dom", "@supabase/supabase-js", "@supabase/ssr", "typescript", "@types/node"];
const ARCHIVE_BUCKET = "export-archive";
/** What `next build` itself writes into a host's tree (Next reformats tsconfig.json, and Next 16 sets its resolution). */
const WRITTEN_BY_NEXT_BUILD = ["next-env.d.ts", "tsconfig.json"];
const EXPORT_OPS_ROUTES = routeFiles().map((r) => `/${r.path.replace(/\/route\.ts$/, "")}`);
const OUR_MIGRATIONS = readdirSync(path.join(root, "supabase/migrations")).filter((n) => n.endsWith(".sql"));

const secret = () => randomBytes(33).toString("base64url");
const json = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
const version = (dir: string, pkg: string) => (json(path.join(dir, "node_modules", pkg, "package.json")) as { version: string }).version;
const isRedirect = (status: number) => status >= 300 && status < 400;
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

interface Host {
  name: string;
  title: string;
  dir: string;
  /** The name the deployment gives the project's URL: export-ops reads SUPABASE_URL, or the starter's NEXT_PUBLIC_SUPABASE_URL alone. */
  urlVariable: "SUPABASE_URL" | "NEXT_PUBLIC_SUPABASE_URL";
}

const HOSTS: Host[] = [
  {
    name: "host-app",
    title: "Next 14.2, React 18, supabase-js 2.43, @supabase/ssr 0.1, TypeScript 5.4, zod 3",
    dir: HOST_APP,
    urlVariable: "SUPABASE_URL",
  },
  {
    name: "host-app-latest",
    title: "the newest Next, React, supabase-js, @supabase/ssr and TypeScript",
    dir: HOST_APP_LATEST,
    urlVariable: "NEXT_PUBLIC_SUPABASE_URL",
  },
];

describe.each(HOSTS)("a host app at $title", (host) => {
  const { dir } = host;
  const seconds: Record<string, number> = {};
  const timed = async <T>(step: string, fn: () => Promise<T> | T): Promise<T> => {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      seconds[step] = Math.round((performance.now() - started) / 100) / 10;
      recordFigures(host.name, "seconds", seconds);
    }
  };
  const secrets = { CRON_SECRET: secret(), HEALTH_TOKEN: secret(), METRICS_TOKEN: secret(), OPS_TOKEN: secret() };
  let beforeInit: Tree; // without supabase/migrations
  let afterInit: Tree; // with them
  let writtenByBuild: Map<string, string | undefined>;
  let app: HostServer | undefined;
  let browser: Browser | undefined;
  let receiver: Awaited<ReturnType<typeof webhookReceiver>> | undefined;
  const runs: { run_id: string; job: string }[] = [];
  afterAll(async () => {
    app?.stop();
    await browser?.close();
    await receiver?.close();
  });

  /** A request as Vercel Cron sends it, to one of the crons init put in the host's vercel.json. */
  const cronCall = (cron: { path: string; schedule: string }, bearer: string | null = secrets.CRON_SECRET) =>
    fetch(`${app!.url}${cron.path}`, {
      redirect: "manual",
      headers: {
        "user-agent": "vercel-cron/1.0",
        "x-vercel-cron-schedule": cron.schedule,
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
    });
  const crons = () => (json(path.join(dir, "vercel.json")) as { crons: { path: string; schedule: string }[] }).crons;

  it("keeps every pin and every lockfile entry of its own after installing export-ops", () => {
    const pkg = json(path.join(dir, "package.json")) as Record<string, Record<string, string>>;
    const pins = { ...pkg.dependencies, ...pkg.devDependencies };
    expect(PINNED.map((p) => [p, version(dir, p)])).toEqual(PINNED.map((p) => [p, pins[p]]));
    expect(version(dir, "export-ops")).toBe(json(path.join(root, "lib/package.json")).version);
    expect(pkg.dependencies!["export-ops"]).toMatch(/^file:export-ops-.*\.tgz$/);

    // `npm install ./export-ops-<version>.tgz` added entries to the lockfile and changed none of the host's
    type Lock = { packages: Record<string, Record<string, unknown>> };
    const before = json(lockBeforeExportOps(dir)) as unknown as Lock;
    const after = json(path.join(dir, "package-lock.json")) as unknown as Lock;
    const { "": rootBefore, ...entriesBefore } = before.packages;
    const { "": rootAfter, ...entriesAfter } = after.packages;
    expect(Object.fromEntries(Object.keys(entriesBefore).map((k) => [k, entriesAfter[k]]))).toEqual(entriesBefore);
    const { "export-ops": added, ...dependencies } = rootAfter!.dependencies as Record<string, string>;
    expect(added).toBe(pkg.dependencies!["export-ops"]);
    expect({ ...rootAfter, dependencies }).toEqual(rootBefore);

    // a host on zod 3 keeps it; export-ops has its own zod 4
    if (pins.zod) {
      expect(version(dir, "zod")).toBe(pins.zod);
      expect(version(dir, "zod")).toMatch(/^3\./);
      expect(version(dir, "export-ops/node_modules/zod")).toMatch(/^4\./);
    }
  });

  it("a. `export-ops init` writes nothing with --dry-run, then writes and names every file, and a second run changes nothing", async () => {
    await timed("init", () => {
      const migrations = readdirSync(path.join(dir, "supabase/migrations"));
      expect(migrations).toEqual([path.basename(HOST_MIGRATION)]);
      const original = treeOf(dir, { migrations: true });
      beforeInit = treeOf(dir, { migrations: false });
      const middleware = readFileSync(path.join(dir, "middleware.ts"), "utf8");

      const dry = exportOps(dir, ["init", "--dry-run"]);
      expect(dry.code, dry.out).toBe(0);
      expect(changedPaths(original, treeOf(dir, { migrations: true }))).toEqual([]);

      const init = exportOps(dir, ["init"]);
      expect(init.code, init.out).toBe(0);
      afterInit = treeOf(dir, { migrations: true });
      const named = namedFiles(init.out);
      expect(namedFiles(dry.out)).toEqual(named);
      expect(named.map((n) => n.file).sort()).toEqual(changedPaths(original, afterInit));
      const written = named.filter((n) => !n.file.startsWith("supabase/migrations/"));
      expect(written).toEqual([
        ...routeFiles().map((r) => ({ action: "created", file: `app/${r.path}` })),
        { action: "created", file: "vercel.json" },
        { action: "changed", file: ".env.example" },
        { action: "changed", file: "middleware.ts" },
      ]);
      const migrationsWritten = named.filter((n) => n.file.startsWith("supabase/migrations/"));
      expect(migrationsWritten.map((n) => n.action)).toEqual(OUR_MIGRATIONS.map(() => "created"));
      expect(migrationsWritten.map((n) => n.file.replace(/^supabase\/migrations\/\d+_/, ""))).toEqual(
        OUR_MIGRATIONS.map((n) => n.replace(/^\d+_/, "")),
      );
      // the starter's matcher gains export-ops' paths in its lookahead, and nothing else changes
      expect(readFileSync(path.join(dir, "middleware.ts"), "utf8")).toBe(middleware.replace('"/((?!', `"/((?!${EXCLUSION}`));

      const again = exportOps(dir, ["init"]);
      expect(again.code, again.out).toBe(0);
      expect(again.out).toContain("export-ops init: nothing to change");
      expect(changedPaths(afterInit, treeOf(dir, { migrations: true }))).toEqual([]);
    });
  });

  it("b. type-checks with its own TypeScript and tsconfig after init", async () => {
    const tsc = await timed("tsc", () => nodeIn(dir, "typescript/bin/tsc", ["--noEmit"]));
    expect(tsc.out).toBe("");
    expect(tsc.code).toBe(0);
  });

  it("b. builds with its own Next after init, listing export-ops' routes beside its own", async () => {
    const built = await timed("next build", () => nodeIn(dir, "next/dist/bin/next", ["build"]));
    expect(built.code, built.out).toBe(0);
    for (const route of ["/api/export", "/login", ...EXPORT_OPS_ROUTES])
      expect(built.out).toMatch(new RegExp(`\\S ${route.replace(/[[\].]/g, "\\$&")}\\s`));
    // the starter's middleware is built too: Next 16 still takes middleware.ts (deprecated for proxy.ts), as "Proxy (Middleware)"
    expect(built.out).toMatch(/ƒ (Proxy \()?Middleware/);
    const afterBuild = treeOf(dir, { migrations: true });
    const changed = changedPaths(afterInit, afterBuild);
    expect(WRITTEN_BY_NEXT_BUILD).toEqual(expect.arrayContaining(changed));
    writtenByBuild = new Map(changed.map((p) => [p, afterBuild.get(p)]));
    recordFigures(host.name, "next_build_wrote", changed);

    const sizes = routeSizes(dir);
    const own = sizes["/api/export"]!;
    const ours = EXPORT_OPS_ROUTES.map((route) => ({
      route,
      ...sizes[route]!,
      added_bytes: sizes[route]!.traced_bytes - own.traced_bytes,
    }));
    const largest = Object.entries(sizes).sort(([, a], [, b]) => b.function_bytes - a.function_bytes)[0]!;
    expect(largest[1].function_bytes).toBeLessThan(250 * 1024 * 1024); // Vercel's limit for a function, unzipped
    recordFigures(host.name, "routes", {
      host_export_route: own,
      export_ops_routes: ours,
      largest_function: { route: largest[0], bytes: largest[1].function_bytes, limit_bytes: 250 * 1024 * 1024 },
    });
    coldImportMs(dir, "/api/export"); // once untimed, so that every measured one finds the files in the OS's cache
    recordFigures(host.name, "cold_import_ms", {
      measured:
        "one fresh `node -e` per route loading its built module (Next's route runtime, the route, everything it imports), files cached",
      "/api/export (the host's own)": coldImportMs(dir, "/api/export"),
      "/api/health": coldImportMs(dir, "/api/health"),
      "/api/cron/export-file-cleanup": coldImportMs(dir, "/api/cron/export-file-cleanup"),
    });
  });

  it(`c. under next start (${host.urlVariable}), refuses a cron call without the bearer with 401, where its middleware sends signed-out visitors to /login`, async () => {
    await resetData();
    await installedHoursAgo(60 * 24);
    receiver = await webhookReceiver();
    app = await timed("next start", () =>
      startHost(dir, {
        [host.urlVariable]: stack.SUPABASE_URL,
        NEXT_PUBLIC_SUPABASE_URL: stack.SUPABASE_URL,
        NEXT_PUBLIC_SUPABASE_ANON_KEY: stack.SUPABASE_ANON_KEY,
        SUPABASE_SERVICE_ROLE_KEY: stack.SUPABASE_SERVICE_ROLE_KEY,
        ...secrets,
        EXPORT_ARCHIVE_BUCKET: ARCHIVE_BUCKET,
        ALERT_WEBHOOK_URL: receiver!.url,
      }),
    );
    // the first request to any export-ops route since the start: its modules are loaded on it
    const started = performance.now();
    const first = await cronCall(crons()[0]!, null);
    recordFigures(host.name, "first_request_ms", {
      "/api/cron/export-file-cleanup without the bearer (401), first export-ops request after next start": Math.round(
        performance.now() - started,
      ),
    });
    expect(first.status).toBe(401);
    for (const cron of crons()) {
      for (const bearer of [null, `${secrets.CRON_SECRET}x`, secrets.HEALTH_TOKEN]) {
        const res = await cronCall(cron, bearer);
        expect([cron.path, res.status, res.headers.get("location")]).toEqual([cron.path, 401, null]);
      }
    }
    // the host's middleware is at work: a signed-out visitor of any other page is sent to /login
    const page = await fetch(`${app.url}/account`, { redirect: "manual" });
    expect(page.status).toBe(307);
    expect(new URL(page.headers.get("location")!, app.url).pathname).toBe("/login");
    expect((await sql().query("select count(*)::int as n from export_ops_runs")).rows[0].n).toBe(0);
  });

  let hostExport: { export_id: string; path: string };

  it("c. its own export route still records an export through export-ops", async () => {
    const user = randomUUID();
    const res = await fetch(`${app!.url}/api/export`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        user_id: user,
        rows: [
          ["conversation", "messages"],
          ["c1", "4"],
        ],
      }),
    });
    expect(res.status, app!.output()).toBe(200);
    const body = (await res.json()) as { export_id: string; path: string; status: string; metric_recorded: boolean };
    expect(body).toMatchObject({ path: `${user}/${body.export_id}.csv`, status: "completed", metric_recorded: true });
    const log = await sql().query("select status, format, file_path, file_size_bytes from export_logs where export_id = $1", [
      body.export_id,
    ]);
    expect(log.rows).toEqual([{ status: "completed", format: "csv", file_path: body.path, file_size_bytes: "27" }]);
    const metric = await sql().query("select status, format, count_range from export_metrics where export_id = $1", [body.export_id]);
    expect(metric.rows).toEqual([{ status: "completed", format: "csv", count_range: "small" }]);
    expect((await objectNames()).has(body.path)).toBe(true);
    hostExport = body;
  });

  it("c. runs each cron job as Vercel Cron calls it, through the host's middleware: files deleted, logs archived and deleted, rollups written, the failure-rate alert posted", async () => {
    // the host's export a day and a half ago, more like it, and two of today
    await sql().query(
      "update export_logs set created_at = now() - interval '37 hours', completed_at = now() - interval '36 hours' where export_id = $1",
      [hostExport.export_id],
    );
    await sql().query("update storage.objects set created_at = now() - interval '36 hours' where bucket_id = $1 and name = $2", [
      BUCKET,
      hostExport.path,
    ]);
    const expiring = [
      hostExport,
      ...(await seedExports({ count: 6, status: "completed", format: "csv", ageHours: 30, withFiles: true })).map((r) => ({
        export_id: r.export_id,
        path: r.file_path!,
      })),
    ];
    const fresh = await seedExports({ count: 2, status: "completed", ageHours: 2, withFiles: true });
    // logs of 40 and 45 days ago, their files long gone (past the 30 days' retention), and some of 10 days ago
    const old = [
      ...(await seedExports({ count: 12, status: "expired", ageHours: 40 * 24 })),
      ...(await seedExports({ count: 3, status: "failed", ageHours: 45 * 24 })),
    ];
    const recent = await seedExports({ count: 4, status: "expired", ageHours: 10 * 24 });
    // metrics: ten exports three hours ago, then thirty in the last ten minutes, twelve of them failed
    const threeHoursAgo = (
      await sql().query<{ at: Date }>("select date_trunc('hour', now() - interval '3 hours') + interval '10 minutes' as at")
    ).rows[0]!.at;
    await sql().query(
      `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms, file_size_bytes, error_type, error_message, recorded_at)
       select gen_random_uuid(), gen_random_uuid(), 'csv', case when g <= $2 then 'failed' else 'completed' end, 40, 'small', 1200 + g,
              case when g <= $2 then null else 2048 end, case when g <= $2 then 'StorageError' end, case when g <= $2 then 'upload to the exports bucket failed' end,
              $3::timestamptz + make_interval(secs => g)
       from generate_series(1, $1) g`,
      [30, 12, new Date(Date.now() - 10 * 60_000)],
    );
    await sql().query(
      `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms, file_size_bytes, recorded_at)
       select gen_random_uuid(), gen_random_uuid(), 'jsonl', 'completed', 150, 'medium', 3000, 4096, $2::timestamptz + make_interval(secs => g) from generate_series(1, $1) g`,
      [10, threeHoursAgo],
    );

    const results: Record<string, Record<string, unknown>> = {};
    await timed("cron calls", async () => {
      for (const cron of crons()) {
        const res = await cronCall(cron);
        const body = (await res.json()) as { success: boolean; result: Record<string, unknown>; continuation: unknown };
        expect([cron.path, res.status, body.success], JSON.stringify(body)).toEqual([cron.path, 200, true]);
        expect(body.continuation).toBeNull();
        results[cron.path.replace("/api/cron/", "")] = body.result;
      }
    });

    // the daily file cleanup: the files past 24 hours are gone, their logs expired; today's stay
    expect(results["export-file-cleanup"]).toMatchObject({ deleted_count: expiring.length, has_more: false });
    const names = await objectNames();
    expect(expiring.filter((e) => names.has(e.path))).toEqual([]);
    expect(fresh.every((e) => names.has(e.file_path!))).toBe(true);
    const statuses = await sql().query("select status, count(*)::int as n from export_logs where export_id = any($1) group by status", [
      expiring.map((e) => e.export_id),
    ]);
    expect(statuses.rows).toEqual([{ status: "expired", n: expiring.length }]);

    // the monthly log cleanup: the logs past retention archived (one object holding exactly them), then deleted
    const archived = results["export-log-cleanup"] as {
      archived_count: number;
      deleted_count: number;
      archive_objects: string[];
      errors: string[];
    };
    expect(archived).toMatchObject({ archived_count: old.length, deleted_count: old.length, errors: [], has_more: false });
    expect(archived.archive_objects).toHaveLength(1);
    expect([...(await objectNames(ARCHIVE_BUCKET))]).toEqual(archived.archive_objects);
    const rows = decodeArchive(await ports().storage.download(ARCHIVE_BUCKET, archived.archive_objects[0]!));
    expect(rows.map((r) => r.export_id).sort()).toEqual(old.map((r) => r.export_id).sort());
    const left = await sql().query("select export_id from export_logs where export_id = any($1)", [
      [...old, ...recent].map((r) => r.export_id),
    ]);
    expect(left.rows.map((r) => r.export_id).sort()).toEqual(recent.map((r) => r.export_id).sort());

    // the hourly aggregation: the hours since the first metric rolled up, and the failure rate's alert fired and posted
    expect(results["export-metrics-aggregate"]).toMatchObject({ alert: { state: "firing", transition: "fired" } });
    expect(results["export-metrics-aggregate"]!.hours_rolled_up as number).toBeGreaterThanOrEqual(2);
    const hour = await sql().query(
      "select total, completed, failed from export_ops_metric_hours where hour = date_trunc('hour', $1::timestamptz)",
      [threeHoursAgo],
    );
    expect(hour.rows).toEqual([{ total: 10, completed: 10, failed: 0 }]);
    expect((await sql().query("select count(*)::int as n from export_ops_metric_rollups")).rows[0].n).toBeGreaterThan(0);
    const posted = receiver!.bodies.filter((b) => (b.export_ops as { alert?: string } | undefined)?.alert === "export_failure_rate");
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({
      text: expect.stringContaining("Export failure rate"),
      export_ops: { state: "firing", failed_count: 12, total_count: 31 },
    });

    // each call is a run of Vercel Cron's in the run history
    const history = await sql().query<{ run_id: string; job: string; trigger: string; status: string }>(
      "select run_id, job, trigger, status from export_ops_runs order by started_at",
    );
    expect(history.rows.map((r) => [r.job, r.trigger, r.status])).toEqual(
      crons().map((c) => [c.path.replace("/api/cron/", ""), "vercel_cron", "succeeded"]),
    );
    runs.push(...history.rows);
  });

  it("d. health, detailed health and Prometheus metrics answer through the middleware with their tokens, 401 without", async () => {
    const get = (route: string, token?: string) =>
      fetch(`${app!.url}${route}`, { redirect: "manual", headers: token ? { authorization: `Bearer ${token}` } : {} });

    const live = await get("/api/health");
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({ status: "ok", service: "export-ops" });

    const detailed = await get("/api/health/detailed", secrets.HEALTH_TOKEN);
    const health = (await detailed.json()) as { status: string };
    expect(detailed.status, JSON.stringify(health)).toBe(200);
    expect(["healthy", "degraded"]).toContain(health.status);

    const metrics = await get("/api/metrics", secrets.METRICS_TOKEN);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toMatch(/^# HELP export_ops_/m);
    expect(text).toMatch(/^export_ops_\w+(\{[^}]*\})? \S+$/m);

    for (const [route, wrong] of [
      ["/api/health/detailed", secrets.METRICS_TOKEN],
      ["/api/metrics", secrets.HEALTH_TOKEN],
    ] as const) {
      for (const token of [undefined, wrong]) {
        const res = await get(route, token);
        expect([route, res.status, res.headers.get("location")]).toEqual([route, 401, null]);
      }
    }
  });

  it("e. the ops page in Chromium: the sign-in form (not the host's /login), the runs just made, a run's detail, sign-out; the host's own page unchanged", async () => {
    await timed("chromium", async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM });
      const context = await browser.newContext();
      const page = await context.newPage();

      const opened = await page.goto(`${app!.url}/ops`);
      expect(opened!.status()).toBe(200);
      expect(page.url()).toBe(`${app!.url}/ops`);
      expect(await page.getByLabel("Ops token").isVisible()).toBe(true);

      await page.getByLabel("Ops token").fill(secrets.OPS_TOKEN);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForLoadState("networkidle");
      expect(page.url()).toBe(`${app!.url}/ops`);
      const shown = await page.locator("tr[data-run]").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-run")));
      expect(shown).toEqual(expect.arrayContaining(runs.map((r) => r.run_id)));

      const run = runs[0]!;
      await page.locator(`tr[data-run="${run.run_id}"] a`).first().click();
      await page.waitForLoadState("networkidle");
      expect(page.url()).toBe(`${app!.url}/ops/runs/${run.run_id}`);
      expect(await page.locator('[data-field="run_id"]').textContent()).toBe(run.run_id);

      await page.getByRole("button", { name: "Sign out", exact: true }).click();
      await page.waitForLoadState("networkidle");
      expect(await page.getByLabel("Ops token").isVisible()).toBe(true);
      expect((await context.cookies()).filter((c) => c.name === "export_ops_session")).toEqual([]);

      // the host's home page: its own markup and stylesheet, nothing of export-ops'
      const home = await page.goto(`${app!.url}/`);
      expect(home!.status()).toBe(200);
      expect(await page.locator("main").textContent()).toBe("A host app with an export feature.");
      expect(await page.evaluate(() => getComputedStyle(document.body).fontFamily)).toContain("Georgia");
      const html = await page.content();
      expect(html).not.toMatch(/export[-_]ops|Ops token/i);
      const sheets = await page.locator('link[rel="stylesheet"]').evaluateAll((links) => links.map((l) => (l as HTMLLinkElement).href));
      expect(sheets.length).toBeGreaterThan(0);
      for (const sheet of sheets) {
        const css = await (await fetch(sheet)).text();
        expect(css).toContain("Georgia");
        expect(css).not.toMatch(/export|system-ui/i);
      }
      await context.close();
    });
  });

  it("f. `export-ops remove` leaves the tree as it was before init, and the migrations it wrote", async () => {
    app?.stop();
    app = undefined;
    const beforeRemove = treeOf(dir, { migrations: true });
    const removed = exportOps(dir, ["remove"]);
    expect(removed.code, removed.out).toBe(0);
    const after = treeOf(dir, { migrations: true });
    expect(
      namedFiles(removed.out)
        .map((n) => n.file)
        .sort(),
    ).toEqual(changedPaths(beforeRemove, after));

    // as before init, but for what `next build` wrote itself
    const expected = new Map(beforeInit);
    for (const [file, hash] of writtenByBuild) {
      if (hash === undefined) expected.delete(file);
      else expected.set(file, hash);
    }
    expect(changedPaths(expected, treeOf(dir, { migrations: false }))).toEqual([]);
    const migrations = [...afterInit].filter(([file]) => file.startsWith("supabase/migrations/"));
    expect(migrations).toHaveLength(OUR_MIGRATIONS.length + 1);
    expect(migrations.filter(([file, hash]) => after.get(file) !== hash)).toEqual([]);
  });
});
