/**
 * The file cleanup's worker pool with in-memory fakes of the ports: batches in flight, the deadline, and a worker
 * failing while others run. (Its SQL and Storage behaviour is tested against the local stack in test/.) The fakes'
 * SQL calls and deletes take fake time (vitest's timers and `performance`), so which worker goes when, and how
 * fast Storage looks to the batch sizing, are the same on any machine.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseEnv } from "../env";
import { DatabaseError } from "../errors";
import type { ObjectStorage, SqlApi } from "../ports";
import { captureLogger, fixedClock, settleWithFakeTimers } from "../../test/doubles";
import { exportFileCleanupOptionsSchema, runExportFileCleanup } from "./export-file-cleanup";
import { MIN_BATCH, TARGET_DELETE_MS, nextBatchSize } from "./file-cleanup-claims";

const USER = "5b0c6a8e-3f0e-4a57-9a39-1d1f8c7e2b10";
const env = parseEnv({ SUPABASE_URL: "http://localhost:54321", SUPABASE_SERVICE_ROLE_KEY: "k".repeat(40) });

/** A database with `total` expired exports that hands them out in claims, each call taking 1 ms; and a log of every call. */
function fakeDb(total: number, options: { failOnCall?: number; shortClaims?: number } = {}) {
  const calls: { fn: string; limit?: number; expired: number }[] = [];
  let next = 0;
  const db: SqlApi = {
    async call<T>(fn: string, args: Record<string, unknown> = {}): Promise<T> {
      if (fn === "export_ops_formats") return { json: ["json"] } as T;
      if (fn === "export_ops_bucket_states")
        return { installed_at: null, buckets: { exports: { exists: true, public: false, created_by_export_ops: true } } } as T;
      calls.push({ fn, limit: args.p_limit as number | undefined, expired: ((args.p_expired as string[] | undefined) ?? []).length });
      await new Promise((r) => setTimeout(r, 1));
      if (options.failOnCall === calls.length) throw new DatabaseError(`${fn} failed: connection reset`);
      if (fn !== "export_ops_file_cleanup_batch") throw new Error(`unexpected ${fn}`);
      // other runs hold some rows: the first claims come back short although more rows wait
      const limit = calls.length <= (options.shortClaims ?? 0) ? Math.floor((args.p_limit as number) / 3) : (args.p_limit as number);
      const claimed = Array.from({ length: Math.max(0, Math.min(limit, total - next)) }, () => {
        const id = `00000000-0000-4000-8000-${String((next += 1)).padStart(12, "0")}`;
        return { export_id: id, user_id: USER, format: "json", file_path: `${USER}/${id}.json`, cleanup_attempts: 0 };
      });
      return { expired: (args.p_expired as string[]).length, failed: 0, quarantined: 0, kept_in_use: 0, more: next < total, claimed } as T;
    },
  };
  return { db, calls };
}

/** Storage whose deletes take `ms` (of fake time) each, or `ms(names)`; records how many were in flight at once and each size. */
function fakeStorage(ms: number | ((names: number) => number)) {
  let inFlight = 0;
  const stats = { deletes: 0, maxInFlight: 0, sizes: [] as number[] };
  const storage: ObjectStorage = {
    async remove(_bucket, paths) {
      stats.deletes += 1;
      stats.sizes.push(paths.length);
      stats.maxInFlight = Math.max(stats.maxInFlight, (inFlight += 1));
      await new Promise((r) => setTimeout(r, typeof ms === "number" ? ms : ms(paths.length)));
      inFlight -= 1;
      return paths;
    },
    versioning: async () => ({ status: "DISABLED", noncurrent_expiry_days: null }),
    versions: async () => [],
    removeVersions: async () => 0,
    list: async () => [],
    upload: async () => {},
    download: async () => new Uint8Array(),
  };
  return { storage, stats };
}

const options = (query: Record<string, string> = {}) => exportFileCleanupOptionsSchema.parse({ sweep_orphans: "false", ...query });
const deps = (db: SqlApi, storage: ObjectStorage, deadline = Number.POSITIVE_INFINITY) => ({
  db,
  storage,
  env,
  clock: fixedClock("2026-06-01T02:00:00Z"),
  logger: captureLogger().logger,
  runId: "11111111-1111-4111-8111-111111111111",
  deadline,
});

describe("the file cleanup's batch size", () => {
  it("is what Storage deletes in TARGET_DELETE_MS at the speed it just showed", () => {
    // 100 names in a quarter of the target: four times as many fit
    expect(nextBatchSize(100, TARGET_DELETE_MS / 4, 1000)).toBe(400);
    expect(nextBatchSize(1000, TARGET_DELETE_MS, 1000)).toBe(1000);
    expect(nextBatchSize(1000, TARGET_DELETE_MS * 2, 1000)).toBe(500);
  });

  it("never grows past the run's batch_size, even when Storage answers at once", () => {
    expect(nextBatchSize(100, 0, 1000)).toBe(1000);
    expect(nextBatchSize(100, 1, 250)).toBe(250);
  });

  it("never shrinks below MIN_BATCH, however slow Storage is", () => {
    expect(nextBatchSize(100, TARGET_DELETE_MS * 100, 1000)).toBe(MIN_BATCH);
    expect(nextBatchSize(1, 60_000, 1000)).toBe(MIN_BATCH);
  });
});

describe("the file cleanup's workers", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] }));
  afterEach(() => vi.useRealTimers());
  const run = (d: ReturnType<typeof deps>, query?: Record<string, string>) => settleWithFakeTimers(runExportFileCleanup(d, options(query)));

  it("keep up to 4 Storage deletes in flight and report every batch back", async () => {
    const { db, calls } = fakeDb(2500);
    const { storage, stats } = fakeStorage(20);
    const result = await run(deps(db, storage), { batch_size: "100" });
    expect(result).toMatchObject({ total_found: 2500, deleted_count: 2500, has_more: false });
    expect(stats).toMatchObject({ deletes: 25, maxInFlight: 4 });
    expect(calls.reduce((n, c) => n + c.expired, 0)).toBe(2500); // every deletion reported
  });

  it("shrink their batches to what a slow Storage deletes in TARGET_DELETE_MS: at 8 s per 1,000 names, never near the timeout", async () => {
    const { db } = fakeDb(10_000);
    const { storage, stats } = fakeStorage((names) => 8 * names);
    // batches of up to 1,000 names, the most one delete takes
    const result = await run(deps(db, storage), { batch_size: "1000" });
    expect(result).toMatchObject({ total_found: 10_000, deleted_count: 10_000, failed_count: 0, has_more: false });
    // the probe of 100 takes 0.8 s; from then on a batch holds what Storage deletes in 5 s: 625 names
    expect(stats.sizes[0]).toBe(100);
    expect(Math.max(...stats.sizes)).toBe((TARGET_DELETE_MS / 8) | 0);
    expect(stats.sizes.reduce((a, b) => a + b, 0)).toBe(10_000);
  });

  it("keep claiming after short batches while rows still wait (concurrent runs hold some), and finish them all", async () => {
    const { db } = fakeDb(1200, { shortClaims: 4 });
    const { storage } = fakeStorage(2);
    const result = await run(deps(db, storage), { batch_size: "100" });
    expect(result).toMatchObject({ total_found: 1200, deleted_count: 1200, has_more: false });
  });

  it("stop taking work at the deadline and say has_more", async () => {
    const { db } = fakeDb(2500);
    const { storage } = fakeStorage(1);
    const result = await run(deps(db, storage, 0));
    expect(result).toMatchObject({ total_found: 0, has_more: true });
  });

  it("stop claiming once Storage's deletes stay ten times as slow, delete and report what they hold, and say why", async () => {
    const { db, calls } = fakeDb(10_000);
    let deletes = 0;
    // 50 ms for 100 names, then from the 9th delete on 1 s: twenty times as slow
    const { storage } = fakeStorage(() => ((deletes += 1) > 8 ? 1000 : 50));
    const result = await run(deps(db, storage), { batch_size: "100" });
    expect(result.has_more).toBe(true);
    expect(result.load.stopped_for_load).toMatch(/^3 file delete batches in a row took \d+(\.\d+)? times or more/);
    expect(result.load.rested_ms).toBeGreaterThan(0);
    expect(result.total_found).toBeLessThan(10_000);
    // nothing claimed is left behind: every batch the workers held was deleted and reported
    expect(result).toMatchObject({ deleted_count: result.total_found, failed_count: 0 });
    expect(calls.reduce((n, c) => n + c.expired, 0)).toBe(result.deleted_count);
    // with yield_to_load=false the same Storage is only reported, and the run finishes
    deletes = 0;
    const unyielding = await run(deps(fakeDb(10_000).db, storage), { batch_size: "100", yield_to_load: "false" });
    expect(unyielding).toMatchObject({ deleted_count: 10_000, has_more: false, rested_ms: 0 });
    expect(unyielding.load).toMatchObject({ stopped_for_load: null, slowest_factor: 20 });
  });

  it("stop before their next request when one of them fails, and the run fails with that error", async () => {
    const { db, calls } = fakeDb(10_000, { failOnCall: 3 });
    const { storage } = fakeStorage(30);
    const error = await run(deps(db, storage), { batch_size: "100" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    // three SQL calls were made (the third failed); the other workers made none after it
    expect(calls).toHaveLength(3);
  });
});
