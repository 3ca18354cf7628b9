/**
 * The host app beside export-ops' jobs: for each job at its largest N, the host's workload (./host-load.ts) is
 * measured in an idle window (host load, no job), then while the job runs, and the job is timed again with the
 * host quiet. Lock waits are sampled from pg_locks throughout; CPU time is read per process, so CPU contention and
 * lock effects can be told apart.
 *
 * **Lock waits** are sampled every 5 ms from `pg_locks` (`not granted`, with `waitstart`, the time the wait
 * began) joined to `pg_stat_activity` for the waiter's statement and, through `pg_blocking_pids`, its blockers'.
 * A wait is one (pid, waitstart); its length is the longest seen, so a figure is at most one sample (~5 ms) short,
 * and a wait shorter than a sample can be missed. A waiter is export-ops' when its statement calls an export_ops_
 * function other than the host's own `export_ops_record_metric`, or is the Storage server's delete of objects (only
 * export-ops deletes files here); everything else is the host's.
 *
 * The same samples record what each active host statement was waiting on (`pg_stat_activity.wait_event`), so
 * waits on LWLocks and I/O, which pg_locks does not show, are seen as well; one on none is on the CPU.
 *
 * **CPU time** is read from /proc (Linux): Postgres is the postmaster with every backend and parallel worker it
 * started (the live ones' time, plus what the postmaster has collected from those that ended); PostgREST is its
 * process; "gateway + Storage" is the bench's own process, which serves the stack's gateway and Storage server;
 * the host app and the job report their own `process.cpuUsage()`.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import type pg from "pg";
import type { StackEnv } from "../local-stack";
import { forkHostLoad, median, medianRun, runChild, seed, type ChildRun } from "./cases";
import type { HostMessage, HostOp, HostReport, HostSample } from "./host-load";
import { coresOf, cpuNow, LAYOUT_TEXT, postmasterOf, setLayout, type DatabaseCpu, type Layout } from "./processes";

export interface Latency {
  count: number;
  failed: number;
  p50: number;
  p95: number;
  p99: number;
}
export interface Cpu extends DatabaseCpu {
  host: number;
  job: number;
}
export interface Window {
  /** wall time the window (or, for CPU, the job's process) lasted, ms */
  wall_ms: number;
  cpu_wall_ms: number;
  latency: Record<HostOp, Latency>;
  /** host statements that waited on a lock an export-ops statement held, and the longest of those waits */
  lock_waits: number;
  longest_wait_ms: number;
  /** every other lock wait seen (the host on itself, export-ops on the host or on itself) */
  other_waits: number;
  cpu: Cpu;
  /** how late the gateway's event loop (this process: the gateway and the Storage stand-in) ran its timers, p99, ms */
  loop_delay_p99: number;
  /** host statements seen running in the samples, and what they waited on (waitShares) */
  host_active: { samples: number; waits: string };
  first_error?: string;
}
export interface HostImpactCase {
  job: string;
  n: number;
  /** the job's options beyond the bench's own: a variant (none: the job as it ships) */
  options?: Record<string, string>;
  /** a variant's job as it ships (`file-cleanup` for `file-cleanup (nice_ratio 1)`) */
  variant_of?: string;
  idle: Window;
  during: Window;
  unloaded_ms: number;
  loaded_ms: number;
  /** the job's rows per second in the runs of the median times (a run the governor stopped: the rows it did) */
  unloaded_rate: number;
  loaded_rate: number;
  /** the job's own CPU time with the host quiet, median, ms */
  unloaded_cpu_ms: number;
  /** what the job's load governor said in each run, under the host's load and with the host quiet (export-ops' jobs) */
  governor?: { loaded: GovernedRun[]; quiet: GovernedRun[] };
}
/** One run's rows done, rests and load report, as the job's result gave them. */
export type GovernedRun = Required<Pick<ChildRun, "processed" | "rested_ms" | "load">>;
export interface HostImpactFigures {
  /** where the processes ran (./processes.ts) */
  layout: Layout;
  rates: { writes_per_s: number; reads_per_s: number };
  repeat: number;
  /** every case's idle windows together: the run's idle baseline (one window's p99 rests on a few samples) */
  idle: Window;
  cases: HostImpactCase[];
  /** each job on no data: what every invocation pays (boot_ms: Node and the modules; wall_ms: the job's calls) */
  empty: Record<string, ChildRun>;
}

export const isExportOpsStatement = (query: string) =>
  /\bexport_ops_(?!record_metric\b)[a-z_]+"?\s*\(/.test(query) || /delete from storage\.objects/i.test(query);

interface Wait {
  since: number;
  waited_ms: number;
  host_on_export_ops: boolean;
}

/** A host statement seen running in a sample: what it waited on then ("CPU": on none, it was running or runnable). */
interface Seen {
  at: number;
  wait: string;
}

/**
 * Lock waits, sampled from pg_locks every 5 ms on a connection of its own (see the header); in the same samples,
 * what each active host statement was waiting on (pg_stat_activity's wait_event), so waits no pg_locks row shows
 * (LWLocks such as WAL writes, buffer mappings, I/O) are seen too.
 */
function sampleLockWaits(db: pg.Client): { waits: Map<string, Wait>; seen: Seen[]; stop: () => Promise<void> } {
  const waits = new Map<string, Wait>();
  const seen: Seen[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const [locks, active] = [
        await db.query<{ pid: number; since: number; waited_ms: number; query: string; blockers: string[] }>(
          `select l.pid, extract(epoch from l.waitstart) * 1000 as since, extract(epoch from clock_timestamp() - l.waitstart) * 1000 as waited_ms,
                  a.query, array(select b.query from pg_stat_activity b where b.pid = any (pg_blocking_pids(l.pid))) as blockers
             from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where not l.granted and l.waitstart is not null`,
        ),
        await db.query<{ query: string; wait: string | null }>(
          `select query, wait_event_type || ':' || wait_event as wait from pg_stat_activity
            where state = 'active' and backend_type = 'client backend' and pid <> pg_backend_pid()`,
        ),
      ];
      const at = Date.now();
      for (const r of active.rows) if (!isExportOpsStatement(r.query)) seen.push({ at, wait: r.wait ?? "CPU" });
      for (const r of locks.rows) {
        const key = `${r.pid}:${r.since}`;
        const before = waits.get(key);
        const host_on_export_ops = !isExportOpsStatement(r.query) && r.blockers.some(isExportOpsStatement);
        waits.set(key, {
          since: Number(r.since),
          waited_ms: Math.max(Number(r.waited_ms), before?.waited_ms ?? 0),
          host_on_export_ops: host_on_export_ops || (before?.host_on_export_ops ?? false),
        });
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    waits,
    seen,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** What the host's statements seen running waited on, most frequent first: "CPU 91 % · LWLock:WALWrite 6 % · …" (shares under 1 % left out). */
export function waitShares(seen: { wait: string }[]): string {
  if (seen.length === 0) return "—";
  const counts = new Map<string, number>();
  for (const s of seen) counts.set(s.wait, (counts.get(s.wait) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .filter(([, n]) => n / seen.length >= 0.01)
    .map(([wait, n]) => `${wait} ${Math.round((100 * n) / seen.length)} %`)
    .join(" · ");
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
function latency(samples: HostSample[]): Latency {
  const ms = samples
    .filter((s) => !s.error)
    .map((s) => s.ms)
    .sort((a, b) => a - b);
  return {
    count: samples.length,
    failed: samples.filter((s) => s.error).length,
    p50: percentile(ms, 50),
    p95: percentile(ms, 95),
    p99: percentile(ms, 99),
  };
}

interface Span {
  from: number;
  to: number;
  cpu_from: Omit<Cpu, "job">;
  cpu_to: Omit<Cpu, "job">;
  job_cpu: number;
}

type HostImpactPlan = {
  layout: Layout;
  files: number;
  logs: number;
  metrics: number;
  repeat: number;
  idle_s: number;
  rates: HostImpactFigures["rates"];
  /** the jobs measured (each with its variants); none: all */
  jobs?: string[];
  /** options every job is measured with too, as a variant beside its defaults (`--options`) */
  variant?: Record<string, string>;
};

/** One job (or a variant of it) measured beside the host: the child process that runs it, and how to seed its data. */
interface JobCase {
  job: string;
  n: number;
  child: [string, string];
  options?: Record<string, string>;
  variant_of?: string;
  seed: (n: number) => Promise<void>;
}

/** The host app's process, driven over IPC. */
interface HostProcess {
  pid: number;
  send: (m: HostMessage) => void;
  /** the host's samples from `from` to `to`, and its CPU time so far */
  report: (from: number, to: number) => Promise<HostReport>;
  /** CPU time so far of every process but the job's */
  cpu: () => Promise<Omit<Cpu, "job">>;
  /** pauses the host and lets its operations under way finish, then runs `then` (which seeds) */
  quiet: (then: () => Promise<void>) => Promise<void>;
}

/** What a case is measured with: the stack, the host, the lock sampler, and where progress is said. */
interface Bench {
  env: StackEnv;
  db: pg.Client;
  plan: HostImpactPlan;
  host: HostProcess;
  locks: LockSamples;
  say: (line: string) => void;
}

type LockSamples = Pick<ReturnType<typeof sampleLockWaits>, "waits" | "seen">;

/** What a case's windows are made of: its spans, the host's samples within them, the event loop's delay over them. */
interface Measured {
  spans: Span[];
  samples: HostSample[];
  loop: IntervalHistogram;
}

export async function hostImpact(
  env: StackEnv,
  db: pg.Client,
  sampler: pg.Client,
  plan: HostImpactPlan,
  say: (line: string) => void,
): Promise<HostImpactFigures> {
  const backend = (await db.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
  const postmaster = postmasterOf(backend);
  const host = forkHost(env, plan.rates, postmaster);
  setLayout(plan.layout, postmaster, host.pid);
  const locks = sampleLockWaits(sampler);
  const bench: Bench = { env, db, plan, host, locks, say };
  const cases = hostImpactCases(db, plan).filter((c) => !plan.jobs || plan.jobs.includes(c.variant_of ?? c.job));

  const results: HostImpactCase[] = [];
  const idleOfRun = { spans: [] as Span[], samples: [] as HostSample[] };
  let empty: Record<string, ChildRun> = {};
  try {
    for (const c of cases) {
      const { result, idle } = await measureCase(bench, c);
      idleOfRun.spans.push(...idle.spans);
      idleOfRun.samples.push(...idle.samples);
      results.push(result);
    }
    empty = await emptyRuns(
      bench,
      cases.filter((c) => !c.options),
    );
  } finally {
    await locks.stop();
    host.send({ cmd: "stop" });
  }
  return {
    layout: plan.layout,
    rates: plan.rates,
    repeat: plan.repeat,
    idle: windowOf(locks, idleOfRun.spans, idleOfRun.samples, undefined),
    cases: results,
    empty,
  };
}

/** Starts the host's workload (./host-load.ts) and returns what drives it. */
function forkHost(env: StackEnv, rates: HostImpactFigures["rates"], postmaster: number): HostProcess {
  const host = forkHostLoad(env, rates);
  const send = (m: HostMessage) => host.send(m);
  const report = (from: number, to: number) =>
    new Promise<HostReport>((resolve) => {
      host.once("message", (r) => resolve(r as HostReport));
      send({ cmd: "report", from, to });
    });
  const cpu = async (): Promise<Omit<Cpu, "job">> => ({ ...cpuNow(postmaster), host: (await report(0, 0)).cpu_ms });
  const quiet = async (then: () => Promise<void>) => {
    send({ cmd: "pause" });
    await new Promise((r) => setTimeout(r, 1000)); // the operations under way finish before the seed truncates
    await then();
  };
  return { pid: host.pid!, send, report, cpu, quiet };
}

/**
 * Each job as it shipped before its load governor (the "previous defaults" variant): the governor off, the file
 * cleanup's batches of 1,000 names, and the archival's 4 batches in flight.
 */
const PREVIOUS_DEFAULTS: Record<string, Record<string, string>> = {
  "file-cleanup": { yield_to_load: "false", batch_size: "1000" },
  "log-cleanup (archive)": { yield_to_load: "false", concurrency: "4" },
  other: { yield_to_load: "false" },
};

/** A job's variant with these options, named for them ("log-cleanup (archive, concurrency 1)"). */
function variantOf(c: JobCase, options: Record<string, string>, name: string): JobCase {
  const job = c.job.endsWith(")") ? `${c.job.slice(0, -1)}, ${name})` : `${c.job} (${name})`;
  return { ...c, job, options, variant_of: c.job };
}

/** Every job as it ships, with its previous defaults, and with the plan's variant, each at its largest N. */
function hostImpactCases(db: pg.Client, plan: HostImpactPlan): JobCase[] {
  const readers = Math.min(plan.logs, 100_000);
  const logs = (n: number) => seed(db, "log-cleanup", n);
  const cases: JobCase[] = [
    { job: "file-cleanup", n: plan.files, child: ["file-cleanup", "export-ops"], seed: (n) => seed(db, "file-cleanup", n) },
    { job: "log-cleanup", n: plan.logs, child: ["log-cleanup", "export-ops"], seed: logs },
    { job: "log-cleanup (archive)", n: plan.logs, child: ["log-cleanup-archive", "export-ops"], seed: logs },
    {
      job: "rollup",
      n: plan.metrics,
      child: ["rollup", "export-ops"],
      // the readers' users have exports of their own to list (the rollup does not touch them)
      seed: async (n) => {
        await logs(readers);
        await seed(db, "rollup", n);
        await seed(db, "rollup-reset", n);
      },
    },
  ];
  const { variant } = plan;
  const named =
    variant &&
    Object.entries(variant)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
  const previous = (c: JobCase) => variantOf(c, PREVIOUS_DEFAULTS[c.job] ?? PREVIOUS_DEFAULTS.other!, "previous defaults");
  return cases.flatMap((c) => [c, previous(c), ...(variant ? [variantOf(c, variant, named!)] : [])]);
}

/** One case: `plan.repeat` runs under the host's load and as many with the host quiet, alternating which goes first. */
async function measureCase(bench: Bench, c: JobCase): Promise<{ result: HostImpactCase; idle: Measured }> {
  // the event loop's delay is taken over the idle window and the job's whole process (its spans lie within)
  const idle: Measured = { spans: [], samples: [], loop: monitorEventLoopDelay({ resolution: 5 }) };
  const during: Measured & { cpu_wall: number } = { spans: [], samples: [], cpu_wall: 0, loop: monitorEventLoopDelay({ resolution: 5 }) };
  const unloaded: ChildRun[] = [];
  const loaded: ChildRun[] = [];
  const runLoaded = async () => void loaded.push(await runUnderLoad(bench, c, idle, during));
  const runUnloaded = async () => void unloaded.push(await runHostQuiet(bench, c));
  for (let r = 0; r < bench.plan.repeat; r += 1) {
    if (r % 2 === 0) await runLoaded().then(runUnloaded);
    else await runUnloaded().then(runLoaded);
  }
  const result: HostImpactCase = {
    job: c.job,
    n: c.n,
    ...(c.options ? { options: c.options, variant_of: c.variant_of } : {}),
    idle: windowOf(bench.locks, idle.spans, idle.samples, idle.loop),
    during: windowOf(bench.locks, during.spans, during.samples, during.loop, during.cpu_wall),
    unloaded_ms: medianRun(unloaded).wall_ms,
    loaded_ms: medianRun(loaded).wall_ms,
    unloaded_rate: rate(medianRun(unloaded), c.n),
    loaded_rate: rate(medianRun(loaded), c.n),
    unloaded_cpu_ms: median(unloaded.map((r) => r.cpu_ms)),
    ...governorOf(loaded, unloaded),
  };
  return { result, idle };
}

/** A run's rows per second: the rows it did (all N, unless the governor stopped it) over its time. */
const rate = (run: ChildRun, n: number) => (run.processed ?? n) / (run.wall_ms / 1000);

/** The load governor's reports of a case's runs, when its job gave them. */
function governorOf(loaded: ChildRun[], quiet: ChildRun[]): Pick<HostImpactCase, "governor"> {
  const governed = (runs: ChildRun[]) => runs.filter((r): r is ChildRun & GovernedRun => r.load !== undefined);
  return loaded.some((r) => r.load) ? { governor: { loaded: governed(loaded), quiet: governed(quiet) } } : {};
}

/** Seeds, lets the host's connections warm again, measures an idle window, then runs the job under the host's load. */
async function runUnderLoad(bench: Bench, c: JobCase, idle: Measured, during: Measured & { cpu_wall: number }): Promise<ChildRun> {
  await bench.host.quiet(() => c.seed(c.n));
  bench.host.send({ cmd: "resume" });
  await new Promise((r) => setTimeout(r, 1000)); // the host's connections warm again
  await measureIdleWindow(bench, idle);
  const run = await measureJobUnderLoad(bench, c, during);
  bench.say(`host impact ${c.job} n=${c.n}: ${(run.wall_ms / 1000).toFixed(2)} s under host load`);
  return run;
}

/** `plan.idle_s` seconds of the host's load with no job: the CPU time spent, the host's samples, the event loop's delay. */
async function measureIdleWindow({ host, plan }: Bench, idle: Measured): Promise<void> {
  const idleFrom = await host.cpu();
  const from = Date.now();
  idle.loop.enable();
  await new Promise((r) => setTimeout(r, plan.idle_s * 1000));
  idle.loop.disable();
  const to = Date.now();
  const idleTo = await host.cpu();
  idle.spans.push({ from, to, cpu_from: idleFrom, cpu_to: idleTo, job_cpu: 0 });
  idle.samples.push(...(await host.report(from, to)).samples);
}

/** The job's run beside the host's load: CPU time and event-loop delay over its whole process, the host's samples within its span. */
async function measureJobUnderLoad({ env, host, plan }: Bench, c: JobCase, during: Measured & { cpu_wall: number }): Promise<ChildRun> {
  const jobFrom = await host.cpu();
  const spawned = Date.now();
  during.loop.enable();
  const run = await runChild(env, ...c.child, c.n, c.options, coresOf(plan.layout).app);
  during.loop.disable();
  during.cpu_wall += Date.now() - spawned;
  const jobTo = await host.cpu();
  during.spans.push({ from: run.started_at, to: run.ended_at, cpu_from: jobFrom, cpu_to: jobTo, job_cpu: run.cpu_ms });
  during.samples.push(...(await host.report(run.started_at, run.ended_at)).samples);
  return run;
}

/** Seeds, then runs the job with the host paused. */
async function runHostQuiet({ env, host, plan, say }: Bench, c: JobCase): Promise<ChildRun> {
  await host.quiet(() => c.seed(c.n));
  const run = await runChild(env, ...c.child, c.n, c.options, coresOf(plan.layout).app);
  say(`host impact ${c.job} n=${c.n}: ${(run.wall_ms / 1000).toFixed(2)} s with the host quiet`);
  return run;
}

/** What every invocation pays on no data, for the cost table: each job as it ships once, the host quiet. */
async function emptyRuns({ env, db, host, plan }: Bench, cases: JobCase[]): Promise<Record<string, ChildRun>> {
  const empty: Record<string, ChildRun> = {};
  const cores = coresOf(plan.layout).app;
  await host.quiet(async () => {
    for (const c of cases) {
      if (c.job === "rollup") {
        await seed(db, "rollup", 0);
        await seed(db, "rollup-reset", 0);
        empty[c.job] = await runChild(env, "rollup-hour", "export-ops", 0, undefined, cores);
      } else {
        await c.seed(0);
        empty[c.job] = await runChild(env, ...c.child, 0, c.options, cores);
      }
    }
  });
  return empty;
}

/**
 * A window's figures over its spans: the host's latency, the lock waits and active statements sampled within them, CPU
 * time per process. `cpu_wall_ms`: what the CPU times were read over, when not the spans themselves (a job's whole process)
 */
function windowOf(
  locks: LockSamples,
  spans: Span[],
  samples: HostSample[],
  loop: IntervalHistogram | undefined,
  cpu_wall_ms?: number,
): Window {
  const wall_ms = spans.reduce((t, s) => t + (s.to - s.from), 0);
  const sum = (k: keyof Cpu) => spans.reduce((t, s) => t + (k === "job" ? s.job_cpu : s.cpu_to[k] - s.cpu_from[k]), 0);
  const inSpans = [...locks.waits.values()].filter((w) => spans.some((s) => w.since >= s.from && w.since < s.to));
  const onUs = inSpans.filter((w) => w.host_on_export_ops);
  const active = locks.seen.filter((a) => spans.some((s) => a.at >= s.from && a.at < s.to));
  return {
    wall_ms,
    cpu_wall_ms: cpu_wall_ms ?? wall_ms,
    latency: { export: latency(samples.filter((s) => s.op === "export")), list: latency(samples.filter((s) => s.op === "list")) },
    lock_waits: onUs.length,
    longest_wait_ms: Math.max(0, ...onUs.map((w) => w.waited_ms)),
    other_waits: inSpans.length - onUs.length,
    cpu: { postgres: sum("postgres"), postgrest: sum("postgrest"), gateway: sum("gateway"), host: sum("host"), job: sum("job") },
    loop_delay_p99: loop ? loop.percentile(99) / 1e6 : NaN,
    host_active: { samples: active.length, waits: waitShares(active) },
    first_error: samples.find((s) => s.error)?.error,
  };
}

const ms = (v: number) => (Number.isNaN(v) ? "—" : v < 10 ? v.toFixed(1) : Math.round(v).toString());
const s = (v: number) => (v / 1000).toFixed(v < 10_000 ? 2 : 1);
export const ratio = (during: number, idle: number) => (idle > 0 && !Number.isNaN(during) ? `${(during / idle).toFixed(2)}×` : "—");

export function formatHostImpact(host: HostImpactFigures, quick: boolean): string {
  const { writes_per_s, reads_per_s } = host.rates;
  const head = [
    `Host impact, ${host.layout} layout (${LAYOUT_TEXT[host.layout]})${quick ? " (quick run: smaller N than the full run's 100k files and 1M rows)" : ""}: the host's workload, open loop — ${writes_per_s} exports/s (insert the log row, upload the file, complete the row, record the metric: one latency from due to done) and ${reads_per_s} lists/s (a signed-in user's 20 latest exports through RLS) — in an idle window (${host.cases[0] ? s(host.cases[0].idle.wall_ms / host.repeat) : "—"} s, no job) before each run under load; ${host.repeat} run(s) under load and ${host.repeat} with the host quiet per job; lock waits sampled every 5 ms from pg_locks. The ratios are against the run's idle baseline — every idle window together: ${host.idle.latency.export.count} exports, p99 ${ms(host.idle.latency.export.p99)} ms; ${host.idle.latency.list.count} lists, p99 ${ms(host.idle.latency.list.p99)} ms — since one window's p99 rests on its few slowest samples.`,
  ];
  const latencyTable = [
    "| job | N | window | exports (failed) | export p50 / p95 / p99 ms | lists (failed) | list p50 / p95 / p99 ms | p99 ÷ the run's idle p99 (export / list) | host waits on export-ops' locks | longest wait ms | other lock waits |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const rateTable = [
    "| job | N | host quiet s | under host load s | rows/s quiet | rows/s under load | kept |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const cpuTable = [
    "| job | window | wall s | Postgres s | PostgREST s | gateway + Storage s | host app s | job s | cores busy (of 2) | gateway event-loop delay p99 ms | host statements sampled running: waiting on |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  const errors: string[] = [];
  for (const c of host.cases) {
    const n = c.n.toLocaleString("en-US");
    for (const [name, w] of [
      ["idle", c.idle],
      ["during the job", c.during],
    ] as const) {
      const l = w.latency;
      latencyTable.push(
        `| ${c.job} | ${n} | ${name} | ${l.export.count} (${l.export.failed}) | ${ms(l.export.p50)} / ${ms(l.export.p95)} / ${ms(l.export.p99)} | ${l.list.count} (${l.list.failed}) | ${ms(l.list.p50)} / ${ms(l.list.p95)} / ${ms(l.list.p99)} | ${
          name === "idle" ? "—" : `${ratio(l.export.p99, host.idle.latency.export.p99)} / ${ratio(l.list.p99, host.idle.latency.list.p99)}`
        } | ${w.lock_waits} | ${ms(w.longest_wait_ms)} | ${w.other_waits} |`,
      );
      const cpu = w.cpu;
      const busy = (cpu.postgres + cpu.postgrest + cpu.gateway + cpu.host + cpu.job) / w.cpu_wall_ms;
      cpuTable.push(
        `| ${c.job} | ${name} | ${s(w.cpu_wall_ms)} | ${s(cpu.postgres)} | ${s(cpu.postgrest)} | ${s(cpu.gateway)} | ${s(cpu.host)} | ${s(cpu.job)} | ${busy.toFixed(2)} | ${ms(w.loop_delay_p99)} | ${w.host_active.samples}: ${w.host_active.waits} |`,
      );
      if (w.first_error) errors.push(`${c.job}, ${name}: ${w.first_error}`);
    }
    const perS = (r: number) => Math.round(r).toLocaleString("en-US");
    rateTable.push(
      `| ${c.job} | ${n} | ${s(c.unloaded_ms)} | ${s(c.loaded_ms)} | ${perS(c.unloaded_rate)} | ${perS(c.loaded_rate)} | ${Math.round((100 * c.loaded_rate) / c.unloaded_rate)} % |`,
    );
  }
  const variants = host.cases.filter((c) => c.options);
  const options = (o: Record<string, string>) =>
    Object.entries(o)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
  if (variants.length > 0) head.push(` The variants: ${variants.map((c) => `${c.job}: ${options(c.options!)}`).join("; ")}.`);
  return [
    head.join(""),
    latencyTable.join("\n"),
    `Each job's own rate, with the host quiet and under the host's load (median of ${host.repeat}):\n\n${rateTable.join("\n")}`,
    `CPU time per process in each window (the "during" rows span the job's process from start to exit, summed over the runs under load):\n\n${cpuTable.join("\n")}`,
    ...governorTable(host.cases),
    ...(errors.length > 0 ? [`Host operations that failed (first of each window):\n${errors.map((e) => `- ${e}`).join("\n")}`] : []),
  ].join("\n\n");
}

/** What each job's load governor saw and did, per window: its runs' `load` (docs/JOBS.md, Yielding to the host's load). */
function governorTable(cases: HostImpactCase[]): string[] {
  const row = (c: HostImpactCase, name: string, runs: GovernedRun[]) => {
    const slowest = Math.max(0, ...runs.map((r) => r.load.slowest_factor ?? 0));
    const sum = (f: (r: GovernedRun) => number) => runs.reduce((t, r) => t + f(r), 0);
    const stopped = runs.filter((r) => r.load.stopped_for_load).length;
    const done = median(runs.map((r) => r.processed)).toLocaleString("en-US");
    return `| ${c.job} | ${c.n.toLocaleString("en-US")} | ${name} | ${runs.length} | ${stopped} | ${done} | ${sum((r) => r.load.batches_judged)} | ${sum((r) => r.load.slow_batches)} | ${slowest > 0 ? `${slowest.toFixed(2)}×` : "—"} | ${ms(median(runs.map((r) => r.load.rested_ms)))} |`;
  };
  const rows = cases.flatMap((c) => {
    const windows = c.governor
      ? ([
          ["under host load", c.governor.loaded],
          ["host quiet", c.governor.quiet],
        ] as const)
      : [];
    return windows.filter(([, runs]) => runs.length > 0).map(([name, runs]) => row(c, name, runs));
  });
  if (rows.length === 0) return [];
  return [
    [
      "The load governor in each run (the options as the case gives them; a run it stopped did fewer rows, and its time covers those only):",
      "",
      "| job | N | window | runs | stopped for load | rows done (median) | batches judged | slow batches | slowest (× the run's fastest) | rested for load ms (median) |",
      "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...rows,
    ].join("\n"),
  ];
}
