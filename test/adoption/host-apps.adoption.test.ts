/**
 * Host apps adopting export-ops without upgrading anything of theirs: the same app at older pins (Next 14.2,
 * React 18, supabase-js 2.43, @supabase/ssr 0.1, TypeScript 5.4, @types/node 20) and at the newest, each installed
 * outside this repository with the packed export-ops package (./prepare.ts). Each keeps its pins, type-checks
 * and builds as it is, and its export endpoint, run with `next start` against the local stack, writes the log row,
 * the file and the metric; export-ops' daily file cleanup later deletes that file.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exportFileCleanup } from "../../lib/jobs/export-file-cleanup";
import { freePort } from "../../scripts/local-stack";
import { BUCKET, objectNames, runJob } from "../helpers/exports";
import { closeSql, sql, stack } from "../helpers/stack";
import { HOST_APP, HOST_APP_LATEST } from "./hosts";

afterAll(closeSql);

const PINNED = ["next", "react", "react-dom", "@supabase/supabase-js", "@supabase/ssr", "typescript", "@types/node"];

function node(dir: string, script: string, args: string[]): { code: number; out: string } {
  const r = spawnSync(process.execPath, [path.join(dir, "node_modules", script), ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
    timeout: 280_000,
  });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

const version = (dir: string, pkg: string) => (JSON.parse(readFileSync(path.join(dir, "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version;

describe.each([
  ["Next 14.2, React 18, supabase-js 2.43, @supabase/ssr 0.1, TypeScript 5.4", HOST_APP],
  ["the newest Next, React, supabase-js, @supabase/ssr and TypeScript", HOST_APP_LATEST],
])("a host app at %s", (_, dir) => {
  let server: ChildProcess | undefined;
  afterAll(() => void server?.kill("SIGKILL"));

  it("keeps every pin of its own after installing export-ops", () => {
    const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as Record<string, Record<string, string>>;
    const pins = { ...pkg.dependencies, ...pkg.devDependencies };
    expect(PINNED.map((p) => [p, version(dir, p)])).toEqual(PINNED.map((p) => [p, pins[p]]));
    expect(version(dir, "export-ops")).toBe(JSON.parse(readFileSync(path.resolve(__dirname, "../../lib/package.json"), "utf8")).version);
  });

  it("type-checks with its own TypeScript and tsconfig, its typed client knowing export-ops' tables", () => {
    const tsc = node(dir, "typescript/bin/tsc", ["--noEmit"]);
    expect(tsc.out).toBe("");
    expect(tsc.code).toBe(0);
  });

  it("builds with its own Next", () => {
    const build = node(dir, "next/dist/bin/next", ["build"]);
    expect(build.code, build.out).toBe(0);
    expect(build.out).toContain("/api/export");
  });

  it("records an export through export-ops, whose file the daily cleanup later deletes", async () => {
    const port = await freePort();
    server = spawn(process.execPath, [path.join(dir, "node_modules/next/dist/bin/next"), "start", "-p", String(port), "-H", "127.0.0.1"], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        NEXT_TELEMETRY_DISABLED: "1",
        SUPABASE_URL: stack.SUPABASE_URL,
        SUPABASE_ANON_KEY: stack.SUPABASE_ANON_KEY,
        SUPABASE_SERVICE_ROLE_KEY: stack.SUPABASE_SERVICE_ROLE_KEY,
      },
      stdio: "ignore",
    });
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 300; i++) {
      if (await fetch(url).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const user = crypto.randomUUID();
    const res = await fetch(`${url}/api/export`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_id: user, rows: [["conversation", "messages"], ["c1", "4"]] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { export_id: string; path: string; status: string; metric_recorded: boolean };
    expect(body).toMatchObject({ path: `${user}/${body.export_id}.csv`, status: "completed", metric_recorded: true });
    const log = await sql().query("select status, format, file_path, file_size_bytes from export_logs where export_id = $1", [body.export_id]);
    expect(log.rows).toEqual([{ status: "completed", format: "csv", file_path: body.path, file_size_bytes: "27" }]);
    const metric = await sql().query("select status, format, count_range from export_metrics where export_id = $1", [body.export_id]);
    expect(metric.rows).toEqual([{ status: "completed", format: "csv", count_range: "small" }]);
    expect((await objectNames()).has(body.path)).toBe(true);

    // a day and a half later
    await sql().query("update export_logs set created_at = now() - interval '37 hours', completed_at = now() - interval '36 hours' where export_id = $1", [body.export_id]);
    await sql().query("update storage.objects set created_at = now() - interval '36 hours' where bucket_id = $1 and name = $2", [BUCKET, body.path]);
    expect(await runJob(exportFileCleanup, {})).toMatchObject({ deleted_count: 1 });
    expect((await objectNames()).has(body.path)).toBe(false);
    expect((await sql().query("select status from export_logs where export_id = $1", [body.export_id])).rows).toEqual([{ status: "expired" }]);
  });
});
