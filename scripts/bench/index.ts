/**
 * `npm run bench`: export-ops' jobs against the naive implementations (./naive.ts), on the local stack, side by
 * side in one run on one machine. For each case and size N it seeds the data, runs the two implementations
 * alternately (each run in a fresh process, so its peak memory is its own), and prints wall time (median, min,
 * max), rows per second, Storage and PostgREST requests, peak memory and what the job adds above the idle
 * process, and the ratio naive / export-ops. Then the plans of the statements the SQL functions really run
 * (auto_explain, ./plans.ts), the ops page's server time (./ops-page.ts), the host app beside each job at its
 * largest N (./host-impact.ts: the host's latency idle and during the job, lock waits, CPU time per process, the
 * job's rate with and without the host's load), what the jobs cost to run on Vercel (./cost.ts), and a line per
 * target saying whether this run met it (./targets.ts).
 *
 *   npm run bench -- --quick                      # small sizes, under 7 minutes
 *   npm run bench -- --only host-impact --host-jobs file-cleanup,rollup
 *   npm run bench -- --only host-impact --layouts production-like --options concurrency=1,nice_ratio=1
 *   npm run bench -- --metrics 10k,100k,1m --logs 10k,100k,1m --files 10k,100k --repeat 3
 *   npm run bench -- --only log-cleanup --logs 100k --repeat 1
 *   npm run bench -- --only plans,ops-page
 */
import { parseArgs } from "node:util";
import pg from "pg";
import { startStack, type StackEnv } from "../local-stack";
import { startS3, type S3Server } from "../local-stack/s3-server";
import { BENCH_DAY, compileChildren, median, runChild, seed } from "./cases";
import { costTable } from "./cost";
import { formatHostImpact, hostImpact, type HostImpactFigures } from "./host-impact";
import { opsPageTimes } from "./ops-page";
import { capturePlans, planChecks, seedForPlans } from "./plans";
import { LAYOUTS, type Layout } from "./processes";
import { formatVerdicts, judgeHostImpact, judgeTargets, type Figures, type PageFigures } from "./targets";

function sizes(value: string | undefined, fallback: number[]): number[] {
  if (!value) return fallback;
  return value.split(",").map((s) => {
    const m = s
      .trim()
      .toLowerCase()
      .match(/^(\d+(?:\.\d+)?)(k|m)?$/);
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
    "host-jobs": { type: "string" },
    layouts: { type: "string" },
    options: { type: "string" },
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
const phase = (name: "plans" | "ops-page" | "host-impact") => !only || only.includes(name);
const largest = (xs: number[]) => Math.max(...xs);
/** `--options`' `name=value` */
function optionPair(pair: string): [string, string] {
  const [name, value, ...rest] = pair.trim().split("=");
  if (!name || value === undefined || rest.length > 0) throw new Error(`bad option ${pair}: use name=value, e.g. concurrency=1`);
  return [name, value];
}
/** the host-impact phase: each job at its largest N, the host at rates this machine sustains when idle */
const hostPlan = {
  files: largest(sizes(flag("files"), quick ? [10_000] : [100_000])),
  logs: largest(sizes(flag("logs"), quick ? [100_000] : [1_000_000])),
  metrics: largest(sizes(flag("metrics"), quick ? [100_000] : [1_000_000])),
  repeat: quick ? 1 : 2,
  idle_s: quick ? 5 : 15,
  rates: { writes_per_s: 10, reads_per_s: 40 },
  // commas inside a variant's parentheses belong to its name
  jobs: args["host-jobs"]?.split(/,(?![^(]*\))/).map((job) => job.trim()),
  variant: args.options ? Object.fromEntries(args.options.split(",").map(optionPair)) : undefined,
};
/** the layouts the host-impact phase measures, in this order (./processes.ts) */
const layouts = (args.layouts?.split(",") ?? LAYOUTS).map((name) => {
  if (!LAYOUTS.includes(name as Layout)) throw new Error(`bad layout ${name}: use ${LAYOUTS.join(", ")}`);
  return name as Layout;
});

interface Sample {
  wall_ms: number;
  max_rss_mb: number;
  idle_rss_mb: number;
  storage: number;
  rest: number;
}

async function requests(env: StackEnv, clear = false): Promise<{ storage: number; rest: number }> {
  const res = await fetch(`${env.SUPABASE_URL}/__stack/requests`, {
    method: clear ? "DELETE" : "GET",
    headers: { authorization: `Bearer ${env.SUPABASE_SERVICE_ROLE_KEY}` },
  });
  if (clear) return { storage: 0, rest: 0 };
  const rows = (await res.json()) as { path: string }[];
  return {
    storage: rows.filter((r) => r.path.startsWith("/storage/")).length,
    rest: rows.filter((r) => r.path.startsWith("/rest/")).length,
  };
}

const fmt = (ms: number) => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
const human = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));

/** The log cleanup archiving to the Storage bucket, and to an S3-protocol server (s3rver, started for it). */
const ARCHIVE_CASES: Record<string, string> = {
  "export-ops (archive)": "log-cleanup-archive",
  "export-ops (archive to S3)": "log-cleanup-archive-s3",
};

await compileChildren();
const stack = await startStack({ quiet: true });
// the S3 archive case's store: its address reaches the runs through their environment (./cases.ts)
let s3: S3Server | undefined;
if (plan["log-cleanup"]) {
  s3 = await startS3(["export-archive"]);
  process.env.BENCH_S3_ENDPOINT = s3.endpoint;
}
const connect = async () => {
  const client = new pg.Client({ connectionString: stack.env.DATABASE_URL });
  client.on("error", () => {});
  await client.connect();
  return client;
};
const db = await connect();
const started = Date.now();
const table: string[] = [
  "| job | N | implementation | median s | min s | max s | rows/s | Storage req | PostgREST req | peak RSS MB | job above idle MB | naive / export-ops |",
  "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
];
const figures: Figures = {};
const page: PageFigures = {};
let plans: string[] = [];
const hosts: HostImpactFigures[] = [];
try {
  for (const [benchCase, ns] of Object.entries(plan)) {
    for (const n of ns) {
      const impls =
        benchCase === "log-cleanup"
          ? ["export-ops", "export-ops (archive)", "export-ops (archive to S3)", "naive"]
          : ["export-ops", "naive"];
      const samples: Record<string, Sample[]> = Object.fromEntries(impls.map((i) => [i, []]));
      // reading cases seed once; cases that change data seed before every run
      if (benchCase === "aggregate" || benchCase === "rollup") await seed(db, benchCase, n);
      for (let r = 0; r < repeat; r += 1) {
        for (const impl of r % 2 === 0 ? impls : [...impls].reverse()) {
          if (benchCase === "rollup") await seed(db, "rollup-reset", n);
          else if (benchCase !== "aggregate") await seed(db, benchCase, n);
          await requests(stack.env, true);
          const [childCase, childImpl] = ARCHIVE_CASES[impl] ? [ARCHIVE_CASES[impl], "export-ops"] : [benchCase, impl];
          const result = await runChild(stack.env, childCase!, childImpl!, n);
          samples[impl]!.push({ ...result, ...(await requests(stack.env)) });
          process.stderr.write(
            `${benchCase} n=${human(n)} ${impl}: ${fmt(result.wall_ms)} s, ${result.max_rss_mb.toFixed(0)} MB (${(result.max_rss_mb - result.idle_rss_mb).toFixed(0)} above idle)\n`,
          );
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

  if (phase("host-impact")) {
    process.stderr.write(
      `host impact: each job at its largest N beside the host's workload (${hostPlan.rates.writes_per_s} exports/s, ${hostPlan.rates.reads_per_s} lists/s)\n`,
    );
    const sampler = await connect();
    try {
      for (const layout of layouts) {
        process.stderr.write(`host impact, ${layout} layout\n`);
        hosts.push(await hostImpact(stack.env, db, sampler, { ...hostPlan, layout }, (line) => process.stderr.write(`${line}\n`)));
      }
    } finally {
      await sampler.end().catch(() => {});
    }
  }

  const out = table.length > 2 ? [`\n${table.join("\n")}`] : [];
  if (plans.length > 0) out.push(`Plans of the statements the functions run (auto_explain):\n${plans.join("\n")}`);
  if (page.demo_ms !== undefined) {
    out.push(
      `Ops page server time (every panel's read through PostgREST + React render, median of 5): ${page.demo_ms.toFixed(0)} ms at the demo's size, ${page.million_ms!.toFixed(0)} ms with 1M metric rows rolled up`,
    );
  }
  for (const host of hosts) out.push(formatHostImpact(host, quick));
  // what a run costs on Vercel: its function's time, from the first layout (production-like: the job's own core)
  if (hosts[0]) out.push(costTable(hosts[0]));
  out.push(`Targets:\n${formatVerdicts([...judgeTargets(figures, page), ...hosts.flatMap(judgeHostImpact)])}`);
  out.push(`repeats: ${repeat}; total time ${Math.round((Date.now() - started) / 1000)} s`);
  console.log(out.join("\n\n"));
} finally {
  await db.end().catch(() => {});
  await s3?.close();
  await stack.stop();
}
