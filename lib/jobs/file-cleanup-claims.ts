/**
 * The file cleanup's claim loop. Workers take turns at the database (one SQL call at a time, so this run's own
 * claims never contend): each call reports the worker's last batch (deleted, failed, quarantined) and claims its
 * next one; Storage deletes overlap. The loop's shared state is one object (`ClaimState`): whether work still
 * waits, how contended the claims are, and the batch size, which follows how fast Storage deletes (see
 * TARGET_DELETE_MS). When one worker fails, the others stop before their next request and the run ends with that
 * error: a report not sent loses nothing (those rows keep their claims until the lease ends; the next run finds
 * their files gone, which counts as deleted, and expires them).
 */
import { LEASE_SECONDS } from "../batches/lease";
import { unsafePathReason, type ExportFormats } from "../files/export-paths";
import type { FilesInBucket } from "../files/versions";
import { sqlTime, type JobDeps, REQUEST_TIMEOUT_MS } from "../ports";
import type { SqlResult } from "../sql-contract";
import type { Pacer } from "./pacing";
import { createWorkerPool, type WorkerPool } from "./worker-pool";

/** Empty claims in a row, while other runs hold the waiting rows, before this run leaves those rows to them. */
export const CONTENDED_CLAIMS = 3;
/**
 * How long one Storage bulk delete should take: a quarter of the request timeout. A real Storage takes 1–8 s per
 * 1,000 names, more under load; batches shrink to what Storage manages in this time, and grow back when it is
 * fast, so a slow Storage never turns deletes that did happen into timeouts. The first batch is a small probe,
 * sent before the other workers start.
 */
export const TARGET_DELETE_MS = REQUEST_TIMEOUT_MS / 4;
export const PROBE_BATCH = 100;
export const MIN_BATCH = 50;

/** The next batch size after `names` were deleted in `ms`: what fits in TARGET_DELETE_MS, within MIN_BATCH and `max`. */
export function nextBatchSize(names: number, ms: number, max: number): number {
  const fits = Math.floor((names * TARGET_DELETE_MS) / Math.max(ms, 1));
  return Math.max(MIN_BATCH, Math.min(max, fits));
}

type ClaimedExport = SqlResult<"export_ops_file_cleanup_batch">["claimed"][number];

/** What a worker tells the database about its last batch, with its next claim. */
interface BatchReport {
  expired: string[];
  failed: { export_id: string; error: string }[];
  quarantined: { export_id: string; reason: string }[];
}

const emptyReport = (): BatchReport => ({ expired: [], failed: [], quarantined: [] });
const reported = (r: BatchReport) => r.expired.length + r.failed.length + r.quarantined.length;
const owes = (r: BatchReport) => reported(r) > 0;

/** The loop's shared state. */
interface ClaimState {
  /** Nothing waits for a claim any more. */
  done: boolean;
  /** Claims in a row that found work waiting but got none of it (other runs held it). */
  contended: number;
  /** Whether this run gave the contended work up to the runs holding it. */
  yielded: boolean;
  batchNo: number;
  /** The size of the next claim: a probe first, then what Storage deletes in TARGET_DELETE_MS. */
  batchSize: number;
}

/** The run's running totals, as the job's result counts them. */
export interface ClaimTotals {
  total_found: number;
  deleted_count: number;
  failed_count: number;
  logs_updated: number;
  /** Logs expired without deleting their file, because another export still in use points at it. */
  kept_in_use: number;
  /** Exports quarantined by this run (an unsafe path, or Storage failing EXPORT_CLEANUP_MAX_ATTEMPTS times). */
  quarantined_count: number;
}

export interface ClaimLoop {
  deps: Pick<JobDeps, "db" | "clock" | "logger" | "deadline" | "runId" | "env">;
  files: FilesInBucket;
  formats: ExportFormats;
  retentionHours: number;
  batchSize: number;
  concurrency: number;
  pacer: Pacer;
  totals: ClaimTotals;
  addError: (error: { reason: string }) => void;
  /** Paths are user data: what goes into logs is cut short and printable. */
  printable: (path: string | null) => string;
}

/** Claims, deletes and reports until nothing waits, time is up or a call fails; resolves to whether work is left. */
export async function deleteExpiredFiles(loop: ClaimLoop): Promise<{ hasMore: boolean }> {
  const state: ClaimState = { done: false, contended: 0, yielded: false, batchNo: 0, batchSize: Math.min(loop.batchSize, PROBE_BATCH) };
  const pool = createWorkerPool();
  await pool.run(loop.concurrency, (_n, probed) => worker(loop, state, pool, probed));
  return { hasMore: !state.done };
}

/** Whether the run may take new work: the governor has not stopped it for load, and its time is not up. */
const timeLeft = (loop: ClaimLoop) => !loop.pacer.stoppedForLoad() && loop.deps.clock.now().getTime() < loop.deps.deadline;

async function worker(loop: ClaimLoop, state: ClaimState, pool: WorkerPool, probed: () => void): Promise<void> {
  let report = emptyReport();
  for (;;) {
    if (pool.failed() || ((state.done || state.yielded || !timeLeft(loop)) && !owes(report))) return;
    const turn = await pool.serially(() => claimTurn(loop, state, report));
    if (!turn) return; // this call failed, or another one did while this worker waited for its turn
    report = emptyReport();
    if (turn.limit === 0) return; // that call only reported the last batch: the loop is winding down
    if (turn.claimed.length === 0) {
      // shared files only, or rows other runs were claiming: look again (after a moment, when contended)
      if (state.contended > 0) await new Promise((r) => setTimeout(r, 50 * state.contended));
      continue;
    }
    report = await deleteBatch(loop, state, turn.claimed, (state.batchNo += 1));
    probed(); // the first batch has shown how fast Storage is: the other workers may start
  }
}

/** One SQL call: reports the worker's last batch and claims its next one (none once the loop winds down). */
async function claimTurn(loop: ClaimLoop, state: ClaimState, report: BatchReport): Promise<{ claimed: ClaimedExport[]; limit: number }> {
  const { db, clock, env, runId } = loop.deps;
  // paced at the SQL calls, which run one at a time, and at Storage's deletes: while the run rests, no worker
  // claims or deletes
  const claiming = !state.done && !state.yielded;
  if (claiming) await loop.pacer.pause();
  const limit = claiming && timeLeft(loop) ? state.batchSize : 0;
  const call = () =>
    db.call("export_ops_file_cleanup_batch", {
      p_run_id: runId,
      p_retention_hours: loop.retentionHours,
      p_limit: limit,
      p_expired: report.expired,
      p_failed: report.failed,
      p_quarantined: report.quarantined,
      p_max_attempts: env.EXPORT_CLEANUP_MAX_ATTEMPTS,
      p_lease_seconds: LEASE_SECONDS,
      ...sqlTime(clock),
    });
  // its rows: those it claimed and those it reported
  const outcome = await loop.pacer.timed("claim", call, (o) => o.claimed.length + o.kept_in_use + reported(report));
  if (limit > 0) {
    // a short batch is not the end while concurrent runs hold rows: only "nothing waits" is
    state.done ||= !outcome.more;
    state.contended = outcome.claimed.length + outcome.kept_in_use === 0 ? state.contended + 1 : 0;
    state.yielded ||= outcome.more && state.contended >= CONTENDED_CLAIMS;
  }
  const { totals } = loop;
  totals.logs_updated += outcome.expired + outcome.kept_in_use;
  totals.kept_in_use += outcome.kept_in_use;
  totals.quarantined_count += outcome.quarantined;
  totals.total_found += outcome.claimed.length + outcome.kept_in_use;
  return { claimed: outcome.claimed, limit };
}

/** Deletes one claimed batch's files (an unsafe path is quarantined instead); resolves to its report. */
async function deleteBatch(loop: ClaimLoop, state: ClaimState, batch: ClaimedExport[], n: number): Promise<BatchReport> {
  const { logger } = loop.deps;
  const report = emptyReport();
  const safe: ClaimedExport[] = [];
  for (const row of batch) {
    const reason = unsafePathReason(row.file_path, loop.formats, row);
    if (!reason) safe.push(row);
    else {
      // permanent: retrying would fail the same way every run
      report.quarantined.push({ export_id: row.export_id, reason: `unsafe path: ${reason}` });
      const fields = {
        type: "file_cleanup_quarantined",
        export_id: row.export_id,
        path: loop.printable(row.file_path),
        reason: `unsafe path: ${reason}`,
      };
      logger.warn(fields, `file cleanup: export ${row.export_id} quarantined (unsafe path: ${reason})`);
    }
  }
  if (safe.length > 0) {
    try {
      // Storage's delete is database work too: a rest begun while this batch was claimed holds it as well
      await loop.pacer.pause();
      // Names Storage does not list were already gone: either way the file no longer exists.
      const began = performance.now();
      await loop.pacer.timed(
        "file delete",
        () => loop.files.remove(safe.map((row) => row.file_path!)),
        () => safe.length,
      );
      state.batchSize = nextBatchSize(safe.length, performance.now() - began, loop.batchSize);
      report.expired = safe.map((row) => row.export_id);
    } catch (error) {
      const message = (error as Error).message;
      for (const row of safe) report.failed.push({ export_id: row.export_id, error: message });
      loop.addError({ reason: `batch ${n} of ${safe.length} files not deleted, will retry next run: ${message}` });
    }
  }
  loop.totals.deleted_count += report.expired.length;
  loop.totals.failed_count += report.failed.length;
  const counts = {
    claimed: batch.length,
    deleted: report.expired.length,
    failed: report.failed.length,
    quarantined: report.quarantined.length,
  };
  logger.debug(
    { type: "file_cleanup_batch", batch: n, batch_size: state.batchSize, ...counts },
    `file cleanup: batch ${n}, ${report.expired.length} deleted`,
  );
  return report;
}
