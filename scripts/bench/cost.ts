/**
 * What the jobs cost to run on Vercel, from the host-impact phase's own figures (each job at its largest N with
 * the host quiet, and on no data): function time in GB-seconds a month for three team sizes. Assumptions, printed
 * with the table:
 * - every export has one log row, one file and one metric; files expire daily, so each daily file cleanup deletes
 *   a thirtieth of the month's files; each monthly log cleanup deletes one month of logs; each hourly aggregation
 *   rolls up one hour's metrics (a 720th of the month's);
 * - a run's time = per invocation what a run on no data took (Node's start and the modules' load, `boot`, as a
 *   cold start pays, plus the job's own calls) + the rows times the per-row time measured at the largest N;
 * - a run longer than the job's time budget (its maxDuration less the margin for the calls after the deadline,
 *   lib/jobs/job.ts `deadlineFor`) continues in a new invocation, which pays the fixed part again;
 * - memory: 2 GB, Vercel's default for a function that sets none (the routes set none); GB-s scale with it;
 * - the times are this machine's, on loopback: against a hosted Supabase each request adds its round trip.
 */
import { deadlineFor } from "../../lib/jobs/job";
import { jobs } from "../../lib/jobs";
import type { HostImpactFigures } from "./host-impact";

export const MEMORY_GB = 2;
export const TEAM_SIZES = [1_000, 30_000, 1_000_000];

/** The bench's case → the registry's job, how often it runs in a month, and what share of the month's rows one run has. */
const schedule: Record<string, { job: string; runs: number; label: string }> = {
  "file-cleanup": { job: "export-file-cleanup", runs: 30, label: "file cleanup (daily)" },
  "log-cleanup": { job: "export-log-cleanup", runs: 1, label: "log cleanup (monthly)" },
  "log-cleanup (archive)": { job: "export-log-cleanup", runs: 1, label: "log cleanup with archive (monthly)" },
  rollup: { job: "export-metrics-aggregate", runs: 720, label: "metrics aggregation (hourly)" },
};

export interface CostRow {
  exports_per_month: number;
  job: string;
  invocations: number;
  continuations: number;
  seconds: number;
  gb_seconds: number;
  cpu_seconds: number;
}

export function monthlyCost(host: HostImpactFigures, exportsPerMonth: number): CostRow[] {
  return host.cases.flatMap((c) => {
    const s = schedule[c.job];
    const empty = host.empty[c.job];
    const job = jobs.find((j) => j.id === s?.job);
    if (!s || !empty || !job) return [];
    const budget_s = deadlineFor(job, 0) / 1000;
    const fixed_s = (empty.boot_ms + empty.wall_ms) / 1000;
    const fixed_cpu_s = (empty.boot_cpu_ms + empty.cpu_ms) / 1000;
    const perRow_s = Math.max(0, c.unloaded_ms - empty.wall_ms) / 1000 / c.n;
    const perRowCpu_s = Math.max(0, c.unloaded_cpu_ms - empty.cpu_ms) / 1000 / c.n;
    const rows = exportsPerMonth / s.runs;
    const work_s = rows * perRow_s;
    const perRun = Math.max(1, Math.ceil(work_s / budget_s));
    const seconds = s.runs * (perRun * fixed_s + work_s);
    return [
      {
        exports_per_month: exportsPerMonth,
        job: s.label,
        invocations: s.runs * perRun,
        continuations: s.runs * (perRun - 1),
        seconds,
        gb_seconds: seconds * MEMORY_GB,
        cpu_seconds: s.runs * (perRun * fixed_cpu_s + rows * perRowCpu_s),
      },
    ];
  });
}

/** The total's row says what it adds up: "all three jobs" only when the run measured each of them. */
function totalLabel(rows: CostRow[], archived: boolean): string {
  if (rows.length === 3) return `**all three jobs** (log cleanup ${archived ? "with" : "without"} archive)`;
  return `**the jobs measured** (${rows.map((r) => r.job).join(", ")})`;
}

const num = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1));

export function costTable(host: HostImpactFigures): string {
  const lines = [
    `What it costs to run (Vercel function time at ${MEMORY_GB} GB; assumptions in scripts/bench/cost.ts): each run on no data took ${Object.entries(
      host.empty,
    )
      .map(
        ([job, r]) =>
          `${job} ${((r.boot_ms + r.wall_ms) / 1000).toFixed(2)} s (${(r.boot_ms / 1000).toFixed(2)} s of it Node's start and the modules)`,
      )
      .join(", ")}; per row as measured at the largest N with the host quiet.`,
    "",
    "| exports / month | job | invocations / month | of them continuations | function s / month | GB-s / month | active CPU s / month |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const size of TEAM_SIZES) {
    const rows = monthlyCost(host, size);
    for (const r of rows)
      lines.push(
        `| ${size.toLocaleString("en-US")} | ${r.job} | ${r.invocations} | ${r.continuations} | ${num(r.seconds)} | ${num(r.gb_seconds)} | ${num(r.cpu_seconds)} |`,
      );
    // the total counts the log cleanup once: with archive when the run measured it
    const archived = rows.some((r) => r.job === schedule["log-cleanup (archive)"]!.label);
    const all = archived ? rows.filter((r) => r.job !== schedule["log-cleanup"]!.label) : rows;
    const total = (k: "seconds" | "gb_seconds" | "cpu_seconds") => all.reduce((t, r) => t + r[k], 0);
    lines.push(
      `| ${size.toLocaleString("en-US")} | ${totalLabel(all, archived)} | ${all.reduce((t, r) => t + r.invocations, 0)} | ${all.reduce((t, r) => t + r.continuations, 0)} | ${num(total("seconds"))} | **${num(total("gb_seconds"))}** | ${num(total("cpu_seconds"))} |`,
    );
  }
  return lines.join("\n");
}
