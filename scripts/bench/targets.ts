/**
 * The performance targets, judged from one bench run's own figures: each prints `met` or `NOT met` with the
 * figure it was judged on. A target set at a size the run did not reach (a quick run) is judged at the largest
 * size the run measured, and says so; one the run measured nothing for says `not measured`.
 */
export interface CaseFigures {
  median_ms: number;
  rows_per_s: number;
  peak_rss_mb: number;
  above_idle_mb: number;
  storage: number;
  rest: number;
}

/** figures[case][n][implementation] */
export type Figures = Record<string, Record<number, Record<string, CaseFigures>>>;

export interface PageFigures {
  demo_ms?: number;
  million_ms?: number;
}

export interface Verdict {
  target: string;
  verdict: "met" | "NOT met" | "not measured";
  figure: string;
}

import { BATCH_SIZE } from "../../lib/jobs/export-file-cleanup";
import { ratio, type HostImpactCase, type HostImpactFigures } from "./host-impact";

const M = 1_000_000;
const int = (n: number) => Math.round(n).toLocaleString("en-US");

function judge(target: string, figure: number | undefined, ok: (v: number) => boolean, show: (v: number) => string): Verdict {
  if (figure === undefined) return { target, verdict: "not measured", figure: "the run did not measure it (a full `npm run bench` does)" };
  return { target, verdict: ok(figure) ? "met" : "NOT met", figure: show(figure) };
}

/** The sizes a case was measured at, smallest first. */
function sizesOf(figures: Figures, c: string): number[] {
  return Object.keys(figures[c] ?? {})
    .map(Number)
    .sort((x, y) => x - y);
}

/** The figures at the target's size, else at the largest size measured (noted in the verdict). */
function figuresAt(figures: Figures, c: string, n: number, impl: string): { f: CaseFigures; size: number; note: string } | undefined {
  const measured = sizesOf(figures, c).filter((size) => size <= n && figures[c]![size]![impl]);
  const size = measured.includes(n) ? n : measured.at(-1);
  if (size === undefined) return undefined;
  return {
    f: figures[c]![size]![impl]!,
    size,
    note:
      size === n ? "" : ` at ${size.toLocaleString("en-US")} (the target is set at ${n.toLocaleString("en-US")}: a full run measures it)`,
  };
}

/** A target on one figure of one case and implementation, judged at the target's size or the largest size below it. */
function judgeAt(
  figures: Figures,
  target: string,
  c: string,
  n: number,
  impl: string,
  value: (f: CaseFigures, size: number) => number,
  ok: (v: number) => boolean,
  show: (v: number) => string,
): Verdict {
  const found = figuresAt(figures, c, n, impl);
  const verdict = judge(target, found ? value(found.f, found.size) : undefined, ok, show);
  return found && verdict.verdict !== "not measured" ? { ...verdict, figure: verdict.figure + found.note } : verdict;
}

/** Log cleanup's rates at 1M rows: with archival, archival against the naive plain delete, without archival. */
function judgeLogCleanup(figures: Figures): Verdict[] {
  const archive = figuresAt(figures, "log-cleanup", M, "export-ops (archive)");
  const naive = figuresAt(figures, "log-cleanup", M, "naive");
  return [
    judgeAt(
      figures,
      // a monthly job at its defaults (one batch at a time, yielding to load): 1M rows within a minute
      "archival ≥ 16,667 rows/s at 1M rows (1M in under a minute)",
      "log-cleanup",
      M,
      "export-ops (archive)",
      (f) => f.rows_per_s,
      (v) => v >= M / 60,
      (v) => `${int(v)} rows/s`,
    ),
    judge(
      "archival ≥ 2× the naive plain delete at 1M rows",
      archive && naive ? archive.f.rows_per_s / naive.f.rows_per_s : undefined,
      (v) => v >= 2,
      (v) => `${v.toFixed(2)}× (${int(archive!.f.rows_per_s)} against ${int(naive!.f.rows_per_s)} rows/s)${archive!.note}`,
    ),
    judgeAt(
      figures,
      "log cleanup without archival ≥ 100,000 rows/s at 1M rows",
      "log-cleanup",
      M,
      "export-ops",
      (f) => f.rows_per_s,
      (v) => v >= 100_000,
      (v) => `${int(v)} rows/s`,
    ),
  ];
}

/** The one-day raw summary's time over 1M metric rows. */
function judgeAggregate(figures: Figures): Verdict {
  return judgeAt(
    figures,
    "one-day raw summary of 1M metric rows < 2 s",
    "aggregate",
    M,
    "export-ops",
    (f) => f.median_ms,
    (v) => v < 2000,
    (v) => `${(v / 1000).toFixed(2)} s`,
  );
}

/** The highest peak memory of any job but the naive ones, each case at the largest size it was measured at. */
function judgePeakMemory(figures: Figures): Verdict {
  const peaks = Object.keys(figures).flatMap((c) => {
    const n = sizesOf(figures, c).at(-1)!;
    return Object.entries(figures[c]![n] ?? {})
      .filter(([impl]) => impl !== "naive")
      .map(([impl, f]) => ({ label: `${c} ${impl} at ${n.toLocaleString("en-US")}`, mb: f.peak_rss_mb }));
  });
  const worst = peaks.sort((a, b) => b.mb - a.mb)[0];
  return judge(
    "peak memory < 150 MB for every job at the largest N",
    worst?.mb,
    (v) => v < 150,
    (v) => `highest ${v.toFixed(0)} MB (${worst!.label})`,
  );
}

/**
 * File cleanup at 100,000 files: its time, and its Storage and PostgREST requests per 1,000 files: two per batch of
 * BATCH_SIZE (one claim, one delete), and one more for what a run makes once (small at this N).
 */
function judgeFileCleanup(figures: Figures): Verdict[] {
  const perThousand = (2 * 1000) / BATCH_SIZE + 1;
  return [
    judgeAt(
      figures,
      "file cleanup of 100,000 files < 60 s",
      "file-cleanup",
      100_000,
      "export-ops",
      (f) => f.median_ms,
      (v) => v < 60_000,
      (v) => `${(v / 1000).toFixed(1)} s`,
    ),
    judgeAt(
      figures,
      `file cleanup ≤ ${perThousand} Storage + PostgREST requests per 1,000 files (batches of ${BATCH_SIZE})`,
      "file-cleanup",
      100_000,
      "export-ops",
      (f, size) => ((f.storage + f.rest) / size) * 1000,
      (v) => v <= perThousand,
      (v) => `${v.toFixed(2)} per 1,000`,
    ),
  ];
}

/** The ops page's server time, at the demo size and with 1M metric rows rolled up. */
function judgeOpsPage(page: PageFigures): Verdict[] {
  return [
    judge(
      "ops page < 300 ms server time at the demo size",
      page.demo_ms,
      (v) => v < 300,
      (v) => `${v.toFixed(0)} ms`,
    ),
    judge(
      "ops page < 300 ms server time with 1M metric rows rolled up",
      page.million_ms,
      (v) => v < 300,
      (v) => `${v.toFixed(0)} ms`,
    ),
  ];
}

export function judgeTargets(figures: Figures, page: PageFigures): Verdict[] {
  return [
    ...judgeLogCleanup(figures),
    judgeAggregate(figures),
    judgePeakMemory(figures),
    ...judgeFileCleanup(figures),
    ...judgeOpsPage(page),
  ];
}

export function formatVerdicts(verdicts: Verdict[]): string {
  return verdicts.map((v) => `- ${v.verdict === "met" ? "met" : v.verdict}: ${v.target} — ${v.figure}`).join("\n");
}

/**
 * The host-impact targets of one layout (./host-impact.ts), each judged at the worst job as it ships (its defaults);
 * the variants (the governor off) are the figures beside them, not a target.
 */
export function judgeHostImpact(host: HostImpactFigures): Verdict[] {
  const shipped = host.cases.filter((c) => !c.options);
  if (shipped.length === 0) return [];
  const worst = <T>(items: T[], by: (t: T) => number) => items.reduce((a, b) => (by(b) > by(a) ? b : a));
  const size = (c: HostImpactCase) => c.n.toLocaleString("en-US");
  const longest = worst(host.cases, (c) => c.during.longest_wait_ms);
  const waits = host.cases.reduce((t, c) => t + c.during.lock_waits, 0);
  const ratioOf = (c: HostImpactCase, op: "export" | "list") => ratio(c.during.latency[op].p99, host.idle.latency[op].p99);
  const ratios = shipped.flatMap((c) =>
    (["export", "list"] as const).map((op) => ({
      c,
      op,
      during: c.during.latency[op].p99,
      r: c.during.latency[op].p99 / host.idle.latency[op].p99,
    })),
  );
  const slowest = worst(ratios, (x) => (Number.isNaN(x.r) ? Infinity : x.r));
  const kept = shipped.map((c) => ({ c, kept: c.loaded_rate / c.unloaded_rate }));
  const least = worst(kept, (x) => -x.kept);
  const layout = `[${host.layout}] `;
  return [
    judge(
      `${layout}no host statement waits > 100 ms on a lock export-ops holds`,
      longest.during.longest_wait_ms,
      (v) => v <= 100,
      (v) => `${waits} wait(s) in all; longest ${v.toFixed(0)} ms (${longest.job} at ${size(longest)})`,
    ),
    judge(
      `${layout}host p99 during every job at its defaults ≤ 2× the idle p99 of the same run`,
      slowest.r,
      (v) => v <= 2,
      (v) =>
        `worst ${v.toFixed(2)}×: ${slowest.op}s during ${slowest.c.job} at ${size(slowest.c)} (${slowest.during.toFixed(0)} ms against ${host.idle.latency[slowest.op].p99.toFixed(0)} ms idle); ${shipped
          .map((c) => `${c.job} ${ratioOf(c, "export")} / ${ratioOf(c, "list")}`)
          .join(", ")}`,
    ),
    judge(
      `${layout}every job at its defaults keeps ≥ 70 % of its unloaded rate under the host's load`,
      least.kept,
      (v) => v >= 0.7,
      (v) =>
        `least ${Math.round(v * 100)} % (${least.c.job} at ${size(least.c)}); ${kept.map((x) => `${x.c.job} ${Math.round(x.kept * 100)} %`).join(", ")}`,
    ),
  ];
}
