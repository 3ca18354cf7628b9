/**
 * `npm run bench`: export-ops' jobs against the naive implementations (./naive.ts), on the local stack, side by
 * side in one run on one machine. For each case and size N it seeds the data, runs the two implementations
 * alternately (each run in a fresh process, so its peak memory is its own), and prints wall time (median, min,
 * max), rows per second, Storage and PostgREST requests, peak memory, and the ratio naive / export-ops. Then it
 * checks with EXPLAIN that the jobs' queries use their indexes.
 *
 *   npm run bench -- --quick                      # small sizes, under 5 minutes
 *   npm run bench -- --metrics 10k,100k,1m --logs 10k,100k,1m --files 10k,100k --repeat 3
 *   npm run bench -- --only log-cleanup --logs 100k --repeat 1
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { startStack, type StackEnv } from "../local-stack";

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

interface Sample {
  wall_ms: number;
  max_rss_mb: number;
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

function runChild(env: StackEnv, benchCase: string, impl: string, n: number): Promise<{ wall_ms: number; max_rss_mb: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "scripts/bench/run-one.ts"), benchCase, impl, String(n)], {
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
  "| job | N | implementation | median s | min s | max s | rows/s | Storage req | PostgREST req | peak RSS MB | naive / export-ops |",
  "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
];
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
          process.stderr.write(`${benchCase} n=${human(n)} ${impl}: ${fmt(result.wall_ms)} s, ${result.max_rss_mb.toFixed(0)} MB\n`);
        }
      }
      const ops = median(samples["export-ops"]!.map((s) => s.wall_ms));
      for (const impl of impls) {
        const s = samples[impl]!;
        const wall = s.map((x) => x.wall_ms);
        const med = median(wall);
        table.push(
          `| ${benchCase} | ${human(n)} | ${impl} | ${fmt(med)} | ${fmt(Math.min(...wall))} | ${fmt(Math.max(...wall))} | ${Math.round(n / (med / 1000)).toLocaleString("en-US")} | ${median(s.map((x) => x.storage))} | ${median(s.map((x) => x.rest))} | ${Math.max(...s.map((x) => x.max_rss_mb)).toFixed(0)} | ${impl === "naive" ? `${(med / ops).toFixed(1)}×` : "—"} |`,
        );
      }
    }
  }

  // The jobs' set queries, as the SQL functions run them, must use their indexes.
  await seed(db, "log-cleanup", 200_000);
  await seed(db, "aggregate", 200_000);
  await db.query("update export_logs set status = 'completed', completed_at = now() - interval '30 hours' where export_id in (select export_id from export_logs limit 20000)");
  await db.query("vacuum analyze export_logs");
  const explain = async (what: string, sql: string, expected: string) => {
    const { rows } = await db.query(`explain ${sql}`);
    const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
    return `- ${what}: ${plan.includes(expected) ? `uses \`${expected}\`` : `DOES NOT use ${expected}:\n${plan}`}`;
  };
  const checks = [
    await explain("file cleanup claim (export_ops_file_cleanup_batch)", "select export_id from export_logs where status = 'completed' and completed_at < now() - interval '24 hours' and not exists (select 1 from export_ops_file_cleanup c where c.export_id = export_logs.export_id and c.claimed_until >= now()) order by completed_at limit 1000 for update skip locked", "export_ops_logs_completed_idx"),
    await explain("log cleanup batch (export_ops_delete_logs)", "select export_id from export_logs where created_at < now() - interval '30 days' and public.export_ops_log_is_removable(status, file_path) and not exists (select 1 from export_ops_archive_claims c where c.export_id = export_logs.export_id and c.claimed_until >= now()) order by created_at limit 5000 for update skip locked", "export_ops_logs_created_idx"),
    await explain("metrics summary for a day (export_ops_metrics_summary)", `select * from export_metrics where recorded_at >= '${BENCH_DAY}' and recorded_at < '${BENCH_DAY}'::timestamptz + interval '1 hour'`, "export_ops_metrics_recorded_idx"),
    await explain("orphan sweep (export_ops_orphan_page)", "select 1 from export_logs l where l.file_path = 'x/y.json' and l.status in ('queued', 'processing', 'completed')", "export_ops_logs_file_path_idx"),
  ];
  console.log(`\n${table.join("\n")}\n\nIndex use (EXPLAIN):\n${checks.join("\n")}\n\nrepeats: ${repeat}; total time ${Math.round((Date.now() - started) / 1000)} s`);
} finally {
  await db.end().catch(() => {});
  await stack.stop();
}
