import { describe, expect, it } from "vitest";
import { costTable, monthlyCost } from "./cost";
import {
  formatHostImpact,
  isExportOpsStatement,
  waitShares,
  type GovernedRun,
  type HostImpactCase,
  type HostImpactFigures,
  type Window,
} from "./host-impact";
import { judgeHostImpact } from "./targets";

const lat = (p99: number) => ({ count: 100, failed: 0, p50: p99 / 3, p95: p99 / 2, p99 });
const win = (p99: { export: number; list: number }, waits: { count: number; longest: number } = { count: 0, longest: 0 }): Window => ({
  wall_ms: 10_000,
  cpu_wall_ms: 10_000,
  latency: { export: lat(p99.export), list: lat(p99.list) },
  lock_waits: waits.count,
  longest_wait_ms: waits.longest,
  other_waits: 0,
  cpu: { postgres: 0, postgrest: 0, gateway: 0, host: 0, job: 0 },
  loop_delay_p99: 0,
  host_active: { samples: 0, waits: "—" },
});
const run = (wall_ms: number, cpu_ms = wall_ms / 2) => ({
  wall_ms,
  cpu_ms,
  max_rss_mb: 90,
  idle_rss_mb: 80,
  boot_ms: 250,
  boot_cpu_ms: 200,
  started_at: 0,
  ended_at: wall_ms,
});
/** A case; its rates, unless given, are all N over its times. */
const hostCase = (job: string, n: number, over: Partial<HostImpactCase>): HostImpactCase => {
  const c = { idle: win({ export: 30, list: 10 }), during: win({ export: 45, list: 15 }), unloaded_ms: 10_000, loaded_ms: 11_000, ...over };
  return { job, n, unloaded_cpu_ms: 5_000, unloaded_rate: n / (c.unloaded_ms / 1000), loaded_rate: n / (c.loaded_ms / 1000), ...c };
};
const figures = (cases: HostImpactCase[]): HostImpactFigures => ({
  layout: "production-like",
  rates: { writes_per_s: 10, reads_per_s: 40 },
  repeat: 2,
  // the run's idle baseline: every case's idle window together
  idle: win({ export: 30, list: 10 }),
  cases,
  empty: { "file-cleanup": run(100), "log-cleanup": run(50), "log-cleanup (archive)": run(60), rollup: run(70) },
});

describe("host-impact targets", () => {
  it("judges each target at the worst job, naming it", () => {
    const verdicts = judgeHostImpact(
      figures([
        hostCase("file-cleanup", 100_000, { during: win({ export: 90, list: 25 }, { count: 3, longest: 40 }) }),
        hostCase("log-cleanup", 1_000_000, { during: win({ export: 50, list: 15 }, { count: 1, longest: 120 }), loaded_ms: 16_000 }),
      ]),
    );
    const by = Object.fromEntries(verdicts.map((v) => [v.target, v]));
    expect(by["[production-like] no host statement waits > 100 ms on a lock export-ops holds"]).toMatchObject({
      verdict: "NOT met",
      figure: "4 wait(s) in all; longest 120 ms (log-cleanup at 1,000,000)",
    });
    expect(by["[production-like] host p99 during every job at its defaults ≤ 2× the idle p99 of the same run"]).toMatchObject({
      verdict: "NOT met",
      figure:
        "worst 3.00×: exports during file-cleanup at 100,000 (90 ms against 30 ms idle); file-cleanup 3.00× / 2.50×, log-cleanup 1.67× / 1.50×",
    });
    expect(by["[production-like] every job at its defaults keeps ≥ 70 % of its unloaded rate under the host's load"]).toMatchObject({
      verdict: "NOT met",
      figure: "least 63 % (log-cleanup at 1,000,000); file-cleanup 91 %, log-cleanup 63 %",
    });
  });

  it("judges p99 against the run's idle baseline, not a case's own idle window", () => {
    // this case's own idle window was fast (10 ms): against it the 45 ms would be 4.5×; the run's is 30 ms
    const [, p99] = judgeHostImpact(figures([hostCase("rollup", 1_000_000, { idle: win({ export: 10, list: 5 }) })]));
    expect(p99).toMatchObject({ verdict: "met", figure: expect.stringContaining("worst 1.50×: exports during rollup") });
  });

  it("judges the jobs at their defaults: a variant with the governor off is a figure beside them, not a target", () => {
    const verdicts = judgeHostImpact(
      figures([
        hostCase("file-cleanup", 100_000, { during: win({ export: 54, list: 12 }) }),
        hostCase("file-cleanup (governor off)", 100_000, {
          options: { yield_to_load: "false" },
          variant_of: "file-cleanup",
          during: win({ export: 300, list: 30 }),
          loaded_ms: 30_000,
        }),
      ]),
    );
    expect(verdicts.map((v) => [v.verdict, v.figure])).toEqual([
      ["met", "0 wait(s) in all; longest 0 ms (file-cleanup at 100,000)"],
      ["met", "worst 1.80×: exports during file-cleanup at 100,000 (54 ms against 30 ms idle); file-cleanup 1.80× / 1.20×"],
      ["met", "least 91 % (file-cleanup at 100,000); file-cleanup 91 %"],
    ]);
    // a variant alone is judged by nothing
    expect(judgeHostImpact(figures([hostCase("rollup (governor off)", 1_000, { options: { yield_to_load: "false" } })]))).toEqual([]);
  });

  it("judges a run the governor stopped by the rate of the rows it did, not all N over its time", () => {
    // stopped after 40 % of the rows in 6 s: 6,667 rows/s against 10,000 quiet, not 100,000 over 6 s
    const [, , kept] = judgeHostImpact(figures([hostCase("file-cleanup", 100_000, { loaded_ms: 6_000, loaded_rate: 40_000 / 6 })]));
    expect(kept).toMatchObject({ verdict: "NOT met", figure: "least 67 % (file-cleanup at 100,000); file-cleanup 67 %" });
  });

  it("names the layout in its tables' heading", () => {
    expect(formatHostImpact(figures([hostCase("rollup", 1_000, {})]), false)).toMatch(
      /^Host impact, production-like layout \(the database side \(Postgres, PostgREST, the gateway and Storage\) on core 0/,
    );
  });

  it("meets the targets when the host barely notices the jobs", () => {
    const verdicts = judgeHostImpact(figures([hostCase("rollup", 1_000_000, {})]));
    expect(verdicts.map((v) => v.verdict)).toEqual(["met", "met", "met"]);
    expect(judgeHostImpact(figures([]))).toEqual([]);
  });
});

describe("what the host's statements waited on", () => {
  it("gives each wait's share, most frequent first, leaving out shares under 1 %", () => {
    const seen = [...Array(60).fill("CPU"), ...Array(39).fill("LWLock:WALWrite"), ...Array(1).fill("IO:WalWrite")].map((wait) => ({
      wait,
    }));
    expect(waitShares(seen)).toBe("CPU 60 % · LWLock:WALWrite 39 % · IO:WalWrite 1 %");
    expect(waitShares([...seen, ...Array(100).fill({ wait: "CPU" })])).toBe("CPU 80 % · LWLock:WALWrite 20 %");
    expect(waitShares([])).toBe("—");
  });
});

describe("the load governor's table", () => {
  const governed = (processed: number, slowest: number | null, stopped: string | null, rested_ms = 0): GovernedRun => ({
    processed,
    rested_ms,
    load: {
      batches_judged: 10,
      slow_batches: slowest && slowest >= 2 ? 4 : 0,
      slowest_factor: slowest,
      rested_ms,
      stopped_for_load: stopped,
    },
  });

  it("says per window how many runs it stopped, the rows they did, and what it saw", () => {
    const text = formatHostImpact(
      figures([
        hostCase("file-cleanup", 100_000, {
          governor: {
            loaded: [governed(100_000, 3.5, null, 1200), governed(40_000, 12.25, "3 claim batches in a row …", 2000)],
            quiet: [governed(100_000, 1.4, null), governed(100_000, null, null)],
          },
        }),
        hostCase("log-cleanup", 1_000_000, {}),
      ]),
      false,
    );
    expect(text).toContain("| file-cleanup | 100,000 | under host load | 2 | 1 | 40,000 | 20 | 8 | 12.25× | 1200 |");
    expect(text).toContain("| file-cleanup | 100,000 | host quiet | 2 | 0 | 100,000 | 20 | 0 | 1.40× | 0.0 |");
    expect(text).not.toMatch(/\| log-cleanup \| 1,000,000 \| under host load \| \d/);
  });
});

describe("who holds a lock", () => {
  it("tells export-ops' statements from the host's", () => {
    expect(isExportOpsStatement('WITH pgrst_source AS (SELECT "public"."export_ops_file_cleanup_batch"("p_limit" := $1))')).toBe(true);
    expect(isExportOpsStatement("delete from storage.objects where bucket_id = $1 and name = any($2::text[])")).toBe(true);
    // the host's own metric call and writes are the host's
    expect(isExportOpsStatement('WITH pgrst_source AS (SELECT "public"."export_ops_record_metric"("p_export_id" := $1))')).toBe(false);
    expect(isExportOpsStatement('WITH pgrst_source AS (UPDATE "public"."export_logs" SET "status" = $1)')).toBe(false);
    expect(isExportOpsStatement("insert into storage.objects (id, bucket_id, name) values ($1, $2, $3)")).toBe(false);
  });
});

describe("monthly cost", () => {
  it("charges each run its fixed part, its rows at the measured rate, and a continuation past the budget", () => {
    // file cleanup: 100,000 files in 10 s on top of a 0.1 s empty run, 0.25 s boot; 30 runs a month
    const rows = monthlyCost(figures([hostCase("file-cleanup", 100_000, { unloaded_ms: 10_100, unloaded_cpu_ms: 5_050 })]), 3_000_000);
    const [file] = rows;
    // 100,000 files a run: 10 s of work + 0.35 s fixed, within the 220 s budget (300 s less 4 × 20 s)
    expect(file).toMatchObject({ job: "file cleanup (daily)", invocations: 30, continuations: 0 });
    expect(file!.seconds).toBeCloseTo(30 * (0.35 + 10), 6);
    expect(file!.gb_seconds).toBeCloseTo(2 * 30 * 10.35, 6);
    expect(file!.cpu_seconds).toBeCloseTo(30 * (0.25 + 5), 6);
    // 300M files a month: 10M a run, 1,000 s of work: five invocations of 220 s each run
    const [big] = monthlyCost(figures([hostCase("file-cleanup", 100_000, { unloaded_ms: 10_100 })]), 300_000_000);
    expect(big).toMatchObject({ invocations: 150, continuations: 120 });
    expect(big!.seconds).toBeCloseTo(30 * (5 * 0.35 + 1000), 6);
  });

  it("calls the total all three jobs only when the run measured each of them", () => {
    const totals = (cases: HostImpactCase[]) =>
      costTable(figures(cases))
        .split("\n")
        .filter((line) => line.includes("**all three jobs**") || line.includes("**the jobs measured**"));
    const all = ["file-cleanup", "log-cleanup", "log-cleanup (archive)", "rollup"].map((job) => hostCase(job, 100_000, {}));
    expect(totals(all)).toHaveLength(3);
    for (const line of totals(all)) expect(line).toContain("**all three jobs** (log cleanup with archive)");
    // a run of some jobs only (--host-jobs) adds up what it measured, and says so
    for (const line of totals([hostCase("file-cleanup", 100_000, {})]))
      expect(line).toContain("**the jobs measured** (file cleanup (daily))");
  });
});
