/**
 * The host app's own traffic, beside export-ops' jobs: forked by ./host-impact.ts (compiled by ./cases.ts) with
 * the stack's env and `{"writes_per_s": W, "reads_per_s": R}`, in a process of its own so its CPU time is its own.
 * It talks to the stack as the host app does, through supabase-js and the `export-ops` package:
 *
 * - **export writers**, W exports a second: the export endpoint inserts the export_logs row as `processing`
 *   (`exportLogs().start`), uploads its file to the exports bucket, completes the row with the file
 *   (`exportLogs().complete`) and records its metric (`ExportMetricsService.logExportMetric`), with the
 *   service-role key, as a server route does;
 * - **readers**, R lists a second: a signed-in user's page listing their 20 latest exports, with the user's own
 *   `authenticated` JWT, so RLS (`export_ops_logs_owner_read`) picks the rows.
 *
 * Open loop: each operation starts at its scheduled time whether or not the earlier ones have finished, and its
 * latency runs from that scheduled time to its answer, so a stall shows as the latency of every operation it held
 * up (no coordinated omission). Messages: `pause` / `resume` (the parent seeds with the host quiet), and `report`
 * with a window {from, to} (epoch ms): the latencies of the operations scheduled in it, and this process's CPU time.
 */
import { createClient } from "@supabase/supabase-js";
import { createExportMetricsService, exportLogs, exportPath } from "export-ops";
import { userToken } from "../local-stack/jwt";

export type HostOp = "export" | "list";
export interface HostSample {
  op: HostOp;
  /** when it was due (epoch ms) */
  at: number;
  ms: number;
  /** what went wrong, for a failed operation */
  error?: string;
}
export type HostMessage = { cmd: "pause" } | { cmd: "resume" } | { cmd: "report"; from: number; to: number } | { cmd: "stop" };
export interface HostReport {
  samples: HostSample[];
  cpu_ms: number;
}

/** The seeded users (./cases.ts seeds 500: `00000000-0000-4000-8000-<hex>`); the host's users are the same. */
export const hostUser = (i: number) => `00000000-0000-4000-8000-${(i % 500).toString(16).padStart(12, "0")}`;

const rates = JSON.parse(process.argv[2] ?? "{}") as { writes_per_s: number; reads_per_s: number };
const url = process.env.SUPABASE_URL!;
const options = { auth: { persistSession: false, autoRefreshToken: false } };
const service = createClient(url, process.env.SUPABASE_SERVICE_ROLE_KEY!, options);
const logs = exportLogs(service);
const silent = { info: () => {}, error: () => {}, debug: () => {} };
const metrics = createExportMetricsService(service, { logger: silent });
const readers = Array.from({ length: 50 }, (_, i) =>
  createClient(url, process.env.SUPABASE_ANON_KEY!, {
    ...options,
    global: { headers: { Authorization: `Bearer ${userToken(hostUser(i * 10), process.env.SUPABASE_JWT_SECRET!)}` } },
  }),
);
const file = new Blob([`${JSON.stringify({ conversations: Array.from({ length: 10 }, (_, i) => ({ id: i, title: "host export" })) })}\n`]);

async function exportOnce(i: number): Promise<void> {
  const user = hostUser(i);
  const started = performance.now();
  const row = await logs.start({ user_id: user, format: "jsonl", conversation_count: 10 });
  const file_path = exportPath(user, row.export_id, "jsonl");
  const { error } = await service.storage
    .from(process.env.EXPORTS_BUCKET ?? "exports")
    .upload(file_path, file, { contentType: "application/x-ndjson" });
  if (error) throw new Error(`upload: ${error.message}`);
  await logs.complete(row.export_id, { file_path, file_size_bytes: file.size });
  const recorded = await metrics.logExportMetric({
    export_id: row.export_id,
    user_id: user,
    format: "jsonl",
    status: "completed",
    conversation_count: 10,
    duration_ms: Math.round(performance.now() - started),
    file_size_bytes: file.size,
  });
  if (recorded.error) throw new Error(`metric: ${recorded.error.message}`);
}

async function listOnce(i: number): Promise<void> {
  const { data, error } = await readers[i % readers.length]!.from("export_logs")
    .select("export_id, format, status, file_path, created_at, completed_at")
    .order("created_at", { ascending: false })
    .limit(20);
  if (error) throw new Error(`list: ${error.message}`);
  if (!Array.isArray(data)) throw new Error("list: no rows array");
}

const samples: HostSample[] = [];
/** operations under way: their number → when they were due */
const pending = new Map<number, number>();
let seq = 0;
let running = true;
let stopped = false;

/** One stream at a fixed rate: operation k is due at start + k / rate, fired without waiting for k − 1. */
function stream(op: HostOp, perSecond: number, run: (i: number) => Promise<void>): void {
  if (perSecond <= 0) return;
  const interval = 1000 / perSecond;
  let due = Date.now();
  let i = 0;
  const tick = () => {
    if (stopped) return;
    const now = Date.now();
    if (!running) due = now; // paused: nothing is owed for the pause
    while (running && due <= now) {
      const at = due;
      const id = (seq += 1);
      pending.set(id, at);
      run((i += 1))
        .then(
          () => samples.push({ op, at, ms: Date.now() - at }),
          (e: unknown) => samples.push({ op, at, ms: Date.now() - at, error: e instanceof Error ? e.message : String(e) }),
        )
        .finally(() => pending.delete(id));
      due += interval;
    }
    setTimeout(tick, Math.max(0, due - Date.now()));
  };
  tick();
}

stream("export", rates.writes_per_s, exportOnce);
stream("list", rates.reads_per_s, listOnce);

/** Waits (at most 30 s) for the operations due before `to` to answer; any still open then count as failed. */
async function settled(to: number): Promise<HostSample[]> {
  const until = Date.now() + 30_000;
  const open = () => [...pending.values()].filter((at) => at < to);
  while (open().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  return open().map((at) => ({ op: "export", at, ms: Date.now() - at, error: "no answer within 30 s of the window's end" }));
}

process.on("message", (message: HostMessage) => {
  if (message.cmd === "pause") running = false;
  else if (message.cmd === "resume") running = true;
  else if (message.cmd === "stop") {
    stopped = true;
    process.disconnect();
  } else {
    void settled(message.to).then((late) => {
      const cpu = process.cpuUsage();
      const inWindow = samples.filter((s) => s.at >= message.from && s.at < message.to);
      process.send!({
        samples: [...inWindow, ...late.filter((s) => s.at >= message.from)],
        cpu_ms: (cpu.user + cpu.system) / 1000,
      } satisfies HostReport);
    });
  }
});
