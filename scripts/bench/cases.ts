/**
 * What every bench phase shares: the seed of each case, and the two child processes — one job run
 * (./run-one.ts) and the host app's workload (./host-load.ts) — compiled to JavaScript, as a deployment runs them.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { build } from "esbuild";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import type { LoadReport } from "../../lib/jobs/pacing";
import type { StackEnv } from "../local-stack";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BENCH_DAY = "2026-01-15T00:00:00.000Z";

/** The middle value (the lower of the two middle ones for an even count). */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
/** The run of the middle time, as `median` picks it: a figure's time and its rate then come from the same run. */
export const medianRun = <R extends { wall_ms: number }>(runs: R[]): R =>
  [...runs].sort((a, b) => a.wall_ms - b.wall_ms)[Math.floor((runs.length - 1) / 2)]!;

export async function seed(db: pg.Client, benchCase: string, n: number): Promise<void> {
  if (benchCase === "rollup-reset") {
    await db.query("truncate export_ops_metric_hours, export_ops_metric_rollups, export_ops_alerts");
    return;
  }
  if (benchCase === "aggregate" || benchCase === "rollup") {
    await db.query("truncate export_metrics");
    await db.query(
      `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms, file_size_bytes, error_type, recorded_at)
       select gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad(to_hex(g % 500), 12, '0'))::uuid,
              (array['json','jsonl','csv','markdown'])[1 + g % 4], case when g % 13 = 0 then 'failed' else 'completed' end,
              g % 3000, case when g % 3000 < 100 then 'small' when g % 3000 < 1000 then 'medium' else 'large' end,
              100 + (g::bigint * 7919) % 60000, case when g % 13 = 0 then null else (g::bigint * 104729) % 5000000 end,
              case when g % 13 = 0 then 'TimeoutError' end,
              $2::timestamptz + make_interval(secs => (g::double precision * 86399 / $1))
       from generate_series(1, $1) g`,
      [n, BENCH_DAY],
    );
  } else {
    // only this case's rows: the log cleanup's statistics would otherwise also scan metrics left by other cases
    await db.query("truncate export_logs, export_metrics, export_ops_metric_hours cascade");
    await db.query("begin; set local storage.allow_delete_query = 'true'; delete from storage.objects; commit;");
    const file = benchCase === "file-cleanup";
    await db.query(
      `insert into export_logs (user_id, format, status, conversation_count, file_path, file_size_bytes, created_at, completed_at, expired_at)
       select u, 'jsonl', $2, 10, u || '/' || gen_random_uuid() || '.jsonl', 1000, now() - $3::interval, now() - $3::interval,
              case when $2 = 'expired' then now() - $3::interval end
       from generate_series(1, $1) g, lateral (select ('00000000-0000-4000-8000-' || lpad(to_hex(g % 500), 12, '0'))::uuid as u) x`,
      [n, file ? "completed" : "expired", file ? "30 hours" : "40 days"],
    );
    if (file) {
      await db.query(
        // on conflict: a host export still under way when the host paused may have uploaded its own file meanwhile
        `insert into storage.objects (bucket_id, name, metadata) select 'exports', file_path, '{"size": 1000}' from export_logs on conflict do nothing`,
      );
    }
  }
  await db.query("vacuum analyze export_logs, export_metrics");
}

/**
 * The children compiled to JavaScript: measured under a TypeScript loader, every run would carry the loader (tsx
 * runs its module hooks on a thread of their own, about 35 MB) in its peak memory and its CPU time. Packages stay
 * imports from node_modules, as in the deployed function.
 */
const compiled = (name: string) => path.join(root, `node_modules/.cache/export-ops-bench/${name}.mjs`);
export async function compileChildren(): Promise<void> {
  await build({
    entryPoints: ["run-one", "host-load"].map((name) => ({ in: path.join(root, `scripts/bench/${name}.ts`), out: name })),
    outdir: path.dirname(compiled("run-one")),
    outExtension: { ".js": ".mjs" },
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
  });
}

/** One job run's figures, as ./run-one.ts prints them. Times are epoch ms; CPU times are the child's own. */
export interface ChildRun {
  wall_ms: number;
  max_rss_mb: number;
  idle_rss_mb: number;
  boot_ms: number;
  boot_cpu_ms: number;
  started_at: number;
  ended_at: number;
  cpu_ms: number;
  /** rows the run did: fewer than N only when the load governor stopped it */
  processed?: number;
  /** what export-ops' job said of its rests and of load (the naive implementations: nothing) */
  rested_ms?: number;
  load?: LoadReport;
}

const childEnv = (env: StackEnv) => ({ ...process.env, ...env, CRON_SECRET: "bench-cron-secret-not-used", BENCH_DAY });

/**
 * `options`: the job's options beyond the bench's own (a variant of the job); `cores`: the cores (taskset's list form)
 * the run is pinned to (./processes.ts), none: any.
 */
export function runChild(
  env: StackEnv,
  benchCase: string,
  impl: string,
  n: number,
  options?: Record<string, string>,
  cores?: string,
): Promise<ChildRun> {
  const command = [process.execPath, compiled("run-one"), benchCase, impl, String(n)];
  const [file, ...args] = cores ? ["taskset", "--cpu-list", cores, ...command] : command;
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, {
      cwd: root,
      env: { ...childEnv(env), ...(options ? { BENCH_JOB_OPTIONS: JSON.stringify(options) } : {}) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split("\n").pop()!) as ChildRun)
        : reject(new Error(`${benchCase}/${impl} n=${n} exited ${code}`)),
    );
  });
}

/** The host app's workload (./host-load.ts) in a process of its own, spoken to over IPC. */
export function forkHostLoad(env: StackEnv, rates: { writes_per_s: number; reads_per_s: number }): ChildProcess {
  return fork(compiled("host-load"), [JSON.stringify(rates)], {
    cwd: root,
    env: childEnv(env),
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
}
