/**
 * `npm run bench`: export-ops' jobs against the naive implementations (./naive.ts), on the local stack, side by
 * side in one run on one machine. For each case and size N it seeds the data, runs the two implementations
 * alternately (each run in a fresh process, so its peak memory is its own), and prints wall time (median, min,
 * max), rows per second, Storage and PostgREST requests, peak memory and what the job adds above the idle
 * process, and the ratio naive / export-ops. Then the plans of the statements the SQL functions really run
 * (auto_explain, ./plans.ts), the ops page's server time (./ops-page.tsx), and a line per target saying whether
 * this run met it (./targets.ts).
 *
 *   npm run bench -- --quick                      # small sizes, under 5 minutes
 *   npm run bench -- --metrics 10k,100k,1m --logs 10k,100k,1m --files 10k,100k --repeat 3
 *   npm run bench -- --only log-cleanup --logs 100k --repeat 1
 *   npm run bench -- --only plans,ops-page
 */
import { spawn } from "node:child_process";
import { build } from "esbuild";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { startStack, type StackEnv } from "../local-stack";
import { opsPageTimes } from "./ops-page";
import { capturePlans, planChecks, seedForPlans } from "./plans";
import { formatVerdicts, judgeTargets, type Figures, type PageFigures } from "./targets";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BENCH_DAY = "2026-01-15T00:00:00.000Z";

function sizes(value: string | undefined, fallback: number[]): number[] {
  if (!value) return fallback;
  return value.split(",").map((s) => {
    const m = s.trim().toLowerCase().match(/^(\d+(?:\.\d+)?)(k|m)?$/);
    if (!m) throw new Error(`bad size ${s}: use e.g. 10k, 100k, 1m`);
    return Math.round(Number(m[1]) * (m[2] === "m" ? 1e6 : m[2] === "k" ? 1e3 : 1));
  });
}

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean" },
    metrics: { type: "string" },
    logs: { type: "string" },
    files: { type: "string" },
    repeat: { type: "string" },
    only: { type: "string" },
  },
  strict: true,
});
const flag = (name: "metrics" | "logs" | "files" | "repeat" | "only") => args[name];
const quick = args.quick ?? false;
const plan = {
  aggregate: sizes(flag("metrics"), quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]),
  rollup: sizes(flag("metrics"), quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]),
  "log-cleanup": sizes(flag("logs"), quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]),
  "file-cleanup": sizes(flag("files"), quick ? [2_000, 10_000] : [10_000, 100_000]),
};
const repeat = Number(flag("repeat") ?? (quick ? 2 : 3));
const only = flag("only")?.split(",");
if (only) for (const key of Object.keys(plan)) if (!only.includes(key)) delete plan[key as keyof typeof plan];
const phase = (name: "plans" | "ops-page") => !only || only.includes(name);

interface Sample {
  wall_ms: number;
  max_rss_mb: number;
  idle_rss_mb: number;
  storage: number;
  rest: number;
}

async function seed(db: pg.Client, benchCase: string, n: number): Promise<void> {
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
        `insert into storage.objects (bucket_id, name, metadata) select 'exports', file_path, '{"size": 1000}' from export_logs`,
      );
    }
  }
  await db.query("vacuum analyze export_logs, export_metrics");
}

/**
 * ./run-one.ts compiled to JavaScript, as a deployment runs the jobs: measured under a TypeScript loader, every run
 * would carry the loader (tsx runs its module hooks on a thread of their own, about 35 MB) in its peak memory.
 * Packages stay imports from node_modules, as in the deployed function.
 */
const runOne = path.join(root, "node_modules/.cache/export-ops-bench/run-one.mjs");
await build({
  entryPoints: [path.join(root, "scripts/bench/run-one.ts")],
  outfile: runOne,
  bundle: true,
  packages: "external",
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
});

function runChild(env: StackEnv, benchCase: string, impl: string, n: number): Promise<{ wall_ms: number; max_rss_mb: number; idle_rss_mb: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runOne, benchCase, impl, String(n)], {
      cwd: root,
      env: { ...process.env, ...env, CRON_SECRET: "bench-cron-secret-not-used", BENCH_DAY },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop()!)) : reject(new Error(`${benchCase}/${impl} n=${n} exited ${code}`))));
  });
}

async function requests(env: StackEnv, clear = false): Promise<{ storage: number; rest: number }> {
  const res = await fetch(`${env.SUPABASE_URL}/__stack/requests`, { method: clear ? "DELETE" : "GET", headers: { authorization: `Bearer ${env.SUPABASE_SERVICE_ROLE_KEY}` } });
  if (clear) return { storage: 0, rest: 0 };
  const rows = (await res.json()) as { path: string }[];
  return { storage: rows.filter((r) => r.path.startsWith("/storage/")).length, rest: rows.filter((r) => r.path.startsWith("/rest/")).length };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const fmt = (ms: number) => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
const human = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));

const stack = await startStack({ quiet: true });
const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
db.on("error", () => {});
await db.connect();
const started = Date.now();
const table: string[] = [
  "| job | N | implementation | median s | min s | max s | rows/s | Storage req | PostgREST req | peak RSS MB | job above idle MB | naive / export-ops |",
  "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
];
const figures: Figures = {};
const page: PageFigures = {};
let plans: string[] = [];
try {
  for (const [benchCase, ns] of Object.entries(plan)) {
    for (const n of ns) {
      const impls = benchCase === "log-cleanup" ? ["export-ops", "export-ops (archive)", "naive"] : ["export-ops", "naive"];
      const samples: Record<string, Sample[]> = Object.fromEntries(impls.map((i) => [i, []]));
      // reading cases seed once; cases that change data seed before every run
      if (benchCase === "aggregate" || benchCase === "rollup") await seed(db, benchCase, n);
      for (let r = 0; r < repeat; r += 1) {
        for (const impl of r % 2 === 0 ? impls : [...impls].reverse()) {
          if (benchCase === "rollup") await seed(db, "rollup-reset", n);
          else if (benchCase !== "aggregate") await seed(db, benchCase, n);
          await requests(stack.env, true);
          const [childCase, childImpl] = impl === "export-ops (archive)" ? ["log-cleanup-archive", "export-ops"] : [benchCase, impl];
          const result = await runChild(stack.env, childCase!, childImpl!, n);
          samples[impl]!.push({ ...result, ...(await requests(stack.env)) });
          process.stderr.write(`${benchCase} n=${human(n)} ${impl}: ${fmt(result.wall_ms)} s, ${result.max_rss_mb.toFixed(0)} MB (${(result.max_rss_mb - result.idle_rss_mb).toFixed(0)} above idle)\n`);
        }
      }
      const ops = median(samples["export-ops"]!.map((s) => s.wall_ms));
      for (const impl of impls) {
        const s = samples[impl]!;
        const wall = s.map((x) => x.wall_ms);
        const med = median(wall);
        const f = {
          median_ms: med,
          rows_per_s: n / (med / 1000),
          peak_rss_mb: Math.max(...s.map((x) => x.max_rss_mb)),
          above_idle_mb: Math.max(...s.map((x) => x.max_rss_mb - x.idle_rss_mb)),
          storage: median(s.map((x) => x.storage)),
          rest: median(s.map((x) => x.rest)),
        };
        ((figures[benchCase] ??= {})[n] ??= {})[impl] = f;
        table.push(
          `| ${benchCase} | ${human(n)} | ${impl} | ${fmt(med)} | ${fmt(Math.min(...wall))} | ${fmt(Math.max(...wall))} | ${Math.round(f.rows_per_s).toLocaleString("en-US")} | ${f.storage} | ${f.rest} | ${f.peak_rss_mb.toFixed(0)} | ${f.above_idle_mb.toFixed(0)} | ${impl === "naive" ? `${(med / ops).toFixed(1)}×` : "—"} |`,
        );
      }
    }
  }

  if (phase("plans")) {
    process.stderr.write("plans: seeding a mixed history, then each SQL function once with auto_explain\n");
    await seedForPlans(db, BENCH_DAY);
    plans = await capturePlans(db, planChecks(BENCH_DAY));
  }
  if (phase("ops-page")) {
    process.stderr.write("ops page: the demo's data, then 1M metric rows rolled up\n");
    Object.assign(page, await opsPageTimes(stack.env, db));
  }

  const out = [`\n${table.join("\n")}`];
  if (plans.length > 0) out.push(`Plans of the statements the functions run (auto_explain):\n${plans.join("\n")}`);
  if (page.demo_ms !== undefined) {
    out.push(`Ops page server time (every panel's read through PostgREST + React render, median of 5): ${page.demo_ms.toFixed(0)} ms at the demo's size, ${page.million_ms!.toFixed(0)} ms with 1M metric rows rolled up`);
  }
  out.push(`Targets:\n${formatVerdicts(judgeTargets(figures, page))}`);
  out.push(`repeats: ${repeat}; total time ${Math.round((Date.now() - started) / 1000)} s`);
  console.log(out.join("\n\n"));
} finally {
  await db.end().catch(() => {});
  await stack.stop();
}
