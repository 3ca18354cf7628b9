/**
 * The bench's processes as Linux sees them (/proc): the CPU time each side has used, and which cores each side runs
 * on. The host-impact phase (./host-impact.ts) measures two layouts:
 *
 * - **production-like**: the database side (Postgres with every backend, PostgREST, and this process, which serves
 *   the gateway and the Storage server) on core 0; the app side (the host app and the job) on the other cores. On
 *   Supabase and Vercel they are different machines: the ratio then says what the database feels, not CPU the job's
 *   own process takes from the database on one small box.
 * - **shared**: every process on every core, as a development machine runs them.
 *
 * A layout is set with `taskset` (util-linux): every thread of each running process is pinned; the processes they
 * start later (Postgres' new backends, each job's process) inherit it, or are started pinned (each job's process, ./cases.ts's runChild).
 */
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { readdirSync, readFileSync } from "node:fs";

export type Layout = "production-like" | "shared";
export const LAYOUTS: Layout[] = ["production-like", "shared"];

/** What each layout puts where, as the bench's output says it. */
export const LAYOUT_TEXT: Record<Layout, string> = {
  "production-like": "the database side (Postgres, PostgREST, the gateway and Storage) on core 0, the host app and the job on the others",
  shared: "every process on every core",
};

/** CPU time of the database side (Postgres, PostgREST, the gateway and Storage in this process), ms. */
export interface DatabaseCpu {
  postgres: number;
  postgrest: number;
  gateway: number;
}

const ticks = 100; // USER_HZ on Linux
function procStat(pid: number): { comm: string; ppid: number; self: number; children: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const comm = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
    const f = text.slice(text.lastIndexOf(")") + 2).split(" "); // f[0] is field 3 (state)
    const ms = (i: number) => (Number(f[i - 3]) * 1000) / ticks;
    return { comm, ppid: Number(f[1]), self: ms(14) + ms(15), children: ms(16) + ms(17) };
  } catch {
    return undefined; // ended meanwhile
  }
}

/** The postmaster a backend belongs to. */
export const postmasterOf = (backend: number): number => procStat(backend)!.ppid;

/** Every live process: its pid and /proc/<pid>/stat. */
function processes() {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      const stat = procStat(Number(entry));
      return stat ? [{ pid: Number(entry), ...stat }] : [];
    });
}

/** CPU time so far of Postgres (postmaster, its backends and workers) and PostgREST, and of this process, ms. */
export function cpuNow(postmaster: number): DatabaseCpu {
  let postgres = 0;
  let postgrest = 0;
  for (const p of processes()) {
    if (p.pid === postmaster) postgres += p.self + p.children;
    else if (p.ppid === postmaster) postgres += p.self;
    else if (p.comm === "postgrest" && p.ppid === process.pid) postgrest += p.self;
  }
  const own = process.cpuUsage();
  return { postgres, postgrest, gateway: (own.user + own.system) / 1000 };
}

/** The cores (taskset's list form) of each side in a layout; the machine's every core for both when shared. */
export function coresOf(layout: Layout): { database: string; app: string } {
  const last = cpus().length - 1;
  if (layout === "production-like" && last < 1) throw new Error("the production-like layout needs two cores or more");
  return layout === "shared" ? { database: `0-${last}`, app: `0-${last}` } : { database: "0", app: last === 1 ? "1" : `1-${last}` };
}

/** Pins every thread of a process to `cores`; false when it ended meanwhile. */
function pin(pid: number, cores: string): boolean {
  try {
    execFileSync("taskset", ["--all-tasks", "--cpu-list", "--pid", cores, String(pid)], { stdio: "ignore" });
    return true;
  } catch (error) {
    if (procStat(pid)) throw new Error(`taskset could not pin process ${pid} to cores ${cores}: ${(error as Error).message}`);
    return false;
  }
}

/** Sets a layout: the database side (Postgres, its backends, PostgREST, this process) and the host app's process. */
export function setLayout(layout: Layout, postmaster: number, host: number): void {
  const { database, app } = coresOf(layout);
  const databaseSide = processes().filter(
    (p) => p.pid === postmaster || p.ppid === postmaster || (p.comm === "postgrest" && p.ppid === process.pid),
  );
  for (const p of [...databaseSide, { pid: process.pid }]) pin(p.pid, database);
  pin(host, app);
}
