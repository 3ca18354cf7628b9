/**
 * The daily file cleanup against the local stack: real Postgres, real PostgREST, the Storage stand-in.
 */
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { BATCH_SIZE, CONCURRENCY, exportFileCleanup } from "../lib/jobs/export-file-cleanup";
import { PROBE_BATCH } from "../lib/jobs/file-cleanup-claims";
import { fixedClock, tickingClock } from "./doubles";
import {
  BUCKET,
  addObjects,
  installedHoursAgo,
  newUserId,
  objectNames,
  resetData,
  runJob,
  seedExports,
  seedOrphans,
  sweepEnv,
} from "./helpers/exports";
import { closeSql, itStandIn, sql, stack, standIn } from "./helpers/stack";

async function statuses(ids: string[]): Promise<Record<string, number>> {
  const { rows } = await sql().query("select status, count(*)::int as n from export_logs where export_id = any($1) group by status", [ids]);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

const ids = (rows: { export_id: string }[]) => rows.map((r) => r.export_id);
const paths = (rows: { file_path: string | null }[]) => rows.map((r) => r.file_path!);

async function deleteRequests() {
  return (await standIn.requests()).filter((r) => r.method === "DELETE" && r.path === `/storage/v1/object/${BUCKET}`);
}

beforeEach(async () => {
  await resetData();
  await standIn.clearFaults();
  await standIn.clearRequests();
});
afterAll(closeSql);

describe("export-file-cleanup", () => {
  it("deletes 2,500 expired files across batch boundaries and marks exactly those logs expired", async () => {
    const expired = await seedExports({ count: 2500, ageHours: 30, withFiles: true });
    const fresh = await seedExports({ count: 20, ageHours: 2, withFiles: true });
    const failedOld = await seedExports({ count: 10, status: "failed", ageHours: 50, withFiles: true });
    // in progress for 20 hours (not stuck yet), with a file already older than retention
    const processing = await seedExports({ count: 10, status: "processing", ageHours: 20 });
    await addObjects(paths(processing), 30);
    await installedHoursAgo(100);
    await standIn.clearRequests();

    const result = await runJob(exportFileCleanup, {}, { env: sweepEnv() });

    expect(result).toMatchObject({
      total_found: 2500,
      deleted_count: 2500,
      logs_updated: 2500,
      failed_count: 0,
      errors: [],
      has_more: false,
      dry_run: false,
    });
    expect(await statuses(ids(expired))).toEqual({ expired: 2500 });
    const { rows } = await sql().query(
      `select count(*)::int as n from export_logs l where export_id = any($1) and expired_at is not null
       and not exists (select 1 from export_ops_file_cleanup c where c.export_id = l.export_id)`,
      [ids(expired)],
    );
    expect(rows[0].n).toBe(2500);
    const left = await objectNames();
    expect(paths(expired).filter((p) => left.has(p))).toEqual([]);
    for (const kept of [fresh, processing]) expect(paths(kept).every((p) => left.has(p))).toBe(true);
    expect(await statuses(ids(fresh))).toEqual({ completed: 20 });
    expect(await statuses(ids(failedOld))).toEqual({ failed: 10 });
    expect(await statuses(ids(processing))).toEqual({ processing: 10 });
    // failed exports' leftover files are orphans: swept once past retention
    expect(result.orphans_deleted).toBe(10);

    if (stack.standIn) expect((await deleteRequests()).every((r) => (r.prefixes?.length ?? 0) <= 1000)).toBe(true);
  });

  itStandIn("the request record")(
    "makes 2 requests per batch of BATCH_SIZE files and 9 per run: at most 111 for 10,000 files, 11 per 1,000",
    async () => {
      await seedExports({ count: 10_000, ageHours: 30, withFiles: true });
      await standIn.clearRequests();

      const result = await runJob(exportFileCleanup, { sweep_orphans: "false" });

      expect(result.deleted_count).toBe(10_000);
      const requests = await standIn.requests();
      const storageCalls = requests.filter((r) => r.path.startsWith("/storage/v1/")).length;
      const sqlCalls = requests.filter((r) => r.path.startsWith("/rest/v1/")).length;
      const counted = `${storageCalls} Storage + ${sqlCalls} PostgREST requests`;
      // a probe of 100, then batches of BATCH_SIZE while Storage stays fast: 51 batches, one Storage delete each,
      // and once per run the bucket's versioning (a bucket without versions is deleted from by name)
      const batches = 1 + Math.ceil((10_000 - PROBE_BATCH) / BATCH_SIZE);
      expect(batches).toBe(51);
      expect(storageCalls, counted).toBeLessThanOrEqual(batches + 1);
      // one SQL call per batch (it reports the batch before and claims this one), and per run the start, the bucket
      // check, the formats, the finish, and each worker's report of its last batch
      const perRun = 4 + CONCURRENCY;
      expect(perRun).toBe(8);
      expect(sqlCalls, counted).toBeLessThanOrEqual(batches + perRun);
      expect(storageCalls + sqlCalls, counted).toBeLessThanOrEqual(2 * batches + perRun + 1);
    },
  );

  it("dry run reports counts and a sample of paths and changes nothing", async () => {
    const expired = await seedExports({ count: 30, ageHours: 30, withFiles: true });
    await installedHoursAgo(100);
    const orphans = await seedOrphans({ count: 1, ageHours: 48 });
    await standIn.clearRequests();

    const result = await runJob(exportFileCleanup, { dry_run: "true" }, { env: sweepEnv() });

    expect(result).toMatchObject({
      dry_run: true,
      total_found: 30,
      deleted_count: 0,
      logs_updated: 0,
      orphans_found: 1,
      orphans_deleted: 0,
    });
    expect(result.sample_orphans).toEqual(orphans);
    expect(result.sample_paths).toHaveLength(20);
    expect(paths(expired)).toEqual(expect.arrayContaining(result.sample_paths!));
    expect(await statuses(ids(expired))).toEqual({ completed: 30 });
    const { rows } = await sql().query("select count(*)::int as n from export_ops_file_cleanup where claimed_by is not null");
    expect(rows[0].n).toBe(0);
    expect(await objectNames()).toHaveProperty("size", 31);
    if (stack.standIn) expect(await deleteRequests()).toEqual([]);
  });

  itStandIn("fault injection")("leaves a batch Storage failed (500) for the next run, which finishes it", async () => {
    const expired = await seedExports({ count: 2500, ageHours: 30, withFiles: true });
    await standIn.addFault({ method: "DELETE", pathPrefix: `/storage/v1/object/${BUCKET}`, status: 500, times: 1 });
    const clock = fixedClock(new Date().toISOString());

    const first = await runJob(exportFileCleanup, { batch_size: "500", sweep_orphans: "false" }, { clock });

    // the first delete (the probe batch of 100) fails
    expect(first).toMatchObject({ total_found: 2500, deleted_count: 2400, logs_updated: 2400, failed_count: 100, has_more: false });
    expect(first.errors).toHaveLength(1);
    expect(first.errors[0]?.reason).toMatch(/^batch 1 of 100 files not deleted, will retry next run/);
    expect(await statuses(ids(expired))).toEqual({ expired: 2400, completed: 100 });
    const { rows } = await sql().query(
      `select l.file_path, c.attempts, c.last_error from export_logs l join export_ops_file_cleanup c using (export_id)
       where l.export_id = any($1) and l.status = 'completed'`,
      [ids(expired)],
    );
    expect(rows).toHaveLength(100);
    expect(rows.every((r) => r.attempts === 1 && r.last_error.includes("storage remove failed"))).toBe(true);
    const left = await objectNames();
    expect(rows.every((r) => left.has(r.file_path))).toBe(true);

    // the same run would not take them again; a run after the lease has expired does
    clock.advance(16 * 60 * 1000);
    const second = await runJob(exportFileCleanup, { sweep_orphans: "false" }, { clock });
    expect(second).toMatchObject({ total_found: 100, deleted_count: 100, logs_updated: 100, failed_count: 0 });
    expect(await statuses(ids(expired))).toEqual({ expired: 2500 });
    expect(await objectNames()).toHaveProperty("size", 0);
  });

  itStandIn("fault injection")("treats a Storage timeout like a failure: nothing marked, retried next run", async () => {
    const expired = await seedExports({ count: 50, ageHours: 30, withFiles: true });
    // the delete is held long after the client gave up on it (every other call answers well within 2 s)
    await standIn.addFault({ method: "DELETE", pathPrefix: `/storage/v1/object/${BUCKET}`, delayMs: 5000, times: 1 });
    const clock = fixedClock(new Date().toISOString());

    const first = await runJob(exportFileCleanup, { sweep_orphans: "false" }, { clock, timeoutMs: 2000 });
    expect(first).toMatchObject({ total_found: 50, deleted_count: 0, failed_count: 50, logs_updated: 0 });
    expect(await statuses(ids(expired))).toEqual({ completed: 50 });

    // whether or not the abandoned delete ever reaches Storage, the next run finds the files and expires them
    clock.advance(16 * 60 * 1000);
    const second = await runJob(exportFileCleanup, { sweep_orphans: "false" }, { clock });
    expect(second).toMatchObject({ total_found: 50, deleted_count: 50, logs_updated: 50 });
    expect(await statuses(ids(expired))).toEqual({ expired: 50 });
  });

  it("lets 4 concurrent runs over 5,000 files delete each exactly once, with counts summing to 5,000", async () => {
    const expired = await seedExports({ count: 5000, ageHours: 30, withFiles: true });
    await standIn.clearRequests();

    const results = await Promise.all(
      Array.from({ length: 4 }, () => runJob(exportFileCleanup, { batch_size: "500", sweep_orphans: "false" })),
    );

    expect(results.reduce((n, r) => n + r.deleted_count, 0)).toBe(5000);
    expect(results.reduce((n, r) => n + r.logs_updated, 0)).toBe(5000);
    expect(results.reduce((n, r) => n + r.total_found, 0)).toBe(5000);
    expect(results.filter((r) => r.total_found > 0).length).toBeGreaterThan(1);
    if (stack.standIn) {
      const sent = (await deleteRequests()).flatMap((r) => r.prefixes ?? []);
      expect(sent).toHaveLength(5000);
      expect(new Set(sent)).toEqual(new Set(paths(expired)));
    }
    expect(await statuses(ids(expired))).toEqual({ expired: 5000 });
  });

  it("paced by nice_ratio, rests between batches and still deletes each file exactly once", async () => {
    const expired = await seedExports({ count: 2000, ageHours: 30, withFiles: true });

    const paced = await runJob(exportFileCleanup, { batch_size: "250", nice_ratio: "1", sweep_orphans: "false" });

    expect(paced).toMatchObject({ total_found: 2000, deleted_count: 2000, has_more: false });
    expect(paced.rested_ms).toBeGreaterThan(0);
    expect(paced.rested_ms).toBeLessThanOrEqual(paced.duration_ms);
    expect(await statuses(ids(expired))).toEqual({ expired: 2000 });
    const left = await objectNames();
    expect(paths(expired).filter((p) => left.has(p))).toEqual([]);
    // at full speed (nice_ratio 0, the default) a run never rests, but for load (the governor off here: on a busy
    // machine a batch of its own may look slow)
    await seedExports({ count: 300, ageHours: 30, withFiles: true });
    expect(await runJob(exportFileCleanup, { batch_size: "100", sweep_orphans: "false", yield_to_load: "false" })).toMatchObject({
      deleted_count: 300,
      rested_ms: 0,
    });
  });

  it("leaves a crashed run's claims alone until its lease expires, then finishes them", async () => {
    const expired = await seedExports({ count: 300, ageHours: 30, withFiles: true });
    const clock = fixedClock(new Date().toISOString());
    // a run that claimed a batch and died before deleting anything
    await sql().query(
      "select public.export_ops_file_cleanup_batch(p_run_id => gen_random_uuid(), p_retention_hours => 24, p_limit => 200, p_now => $1)",
      [clock.now().toISOString()],
    );

    const during = await runJob(exportFileCleanup, { sweep_orphans: "false" }, { clock });
    expect(during).toMatchObject({ total_found: 100, deleted_count: 100 });
    expect(await statuses(ids(expired))).toEqual({ expired: 100, completed: 200 });

    clock.advance(16 * 60 * 1000);
    const after = await runJob(exportFileCleanup, { sweep_orphans: "false" }, { clock });
    expect(after).toMatchObject({ total_found: 200, deleted_count: 200 });
    expect(await statuses(ids(expired))).toEqual({ expired: 300 });
  });

  it("stops when its time budget runs out, reports has_more, and the next run finishes", async () => {
    const expired = await seedExports({ count: 2500, ageHours: 30, withFiles: true });
    // every clock reading is a minute later: a budget of 12 minutes allows only the first few batches
    const clock = tickingClock(60_000);

    const first = await runJob(exportFileCleanup, { batch_size: "250" }, { clock, deadline: clock.start + 12 * 60_000 });
    expect(first.has_more).toBe(true);
    expect(first.total_found).toBeGreaterThan(0);
    expect(first.total_found).toBeLessThan(2500);
    expect(first.deleted_count).toBe(first.total_found);

    const second = await runJob(exportFileCleanup, {});
    expect(second).toMatchObject({ has_more: false, total_found: 2500 - first.total_found });
    expect(first.deleted_count + second.deleted_count).toBe(2500);
    expect(await statuses(ids(expired))).toEqual({ expired: 2500 });
  });

  describe("never sends an unsafe path to Storage, and quarantines its export on first sight", () => {
    const owner = newUserId();
    const victim = newUserId();
    const victimFile = `${victim}/precious.jsonl`;
    it.each([
      ["an empty path", ""],
      ["no path", null],
      ["a '..' segment", `${owner}/../${victim}/precious.jsonl`],
      ["a leading /", `/${owner}/x.jsonl`],
      ["another bucket's name", `export-archive/${owner}/x.jsonl`],
      ["a control character", `${owner}/x\u0007.jsonl`],
      ["a path longer than Storage allows", `${owner}/${"a".repeat(1030)}.jsonl`],
      ["another user's file", victimFile],
    ])("quarantines %s", async (_, unsafePath) => {
      await addObjects([victimFile, `${owner}/x.jsonl`], 1);
      const [row] = await seedExports({ count: 1, ageHours: 30, userId: owner, paths: [unsafePath] });
      const safe = await seedExports({ count: 3, ageHours: 30, withFiles: true });
      await standIn.clearRequests();

      const result = await runJob(exportFileCleanup, { sweep_orphans: "false" });

      // a permanent problem: quarantined with its reason, not a failure that makes the run partial
      expect(result).toMatchObject({ total_found: 4, deleted_count: 3, failed_count: 0, errors_total: 0, quarantined_count: 1 });
      expect(await statuses([row!.export_id])).toEqual({ completed: 1 });
      const { rows } = await sql().query("select quarantined_at, quarantine_reason from export_ops_file_cleanup where export_id = $1", [
        row!.export_id,
      ]);
      expect(rows[0].quarantined_at).toBeInstanceOf(Date);
      expect(rows[0].quarantine_reason).toMatch(/^unsafe path: /);
      expect(await statuses(ids(safe))).toEqual({ expired: 3 });
      // the Storage server's own record: only the safe paths were ever asked for
      if (stack.standIn) {
        const sent = (await deleteRequests()).flatMap((r) => r.prefixes ?? []);
        expect(sent.sort()).toEqual(paths(safe).sort());
      }
      expect((await objectNames()).has(victimFile)).toBe(true);
      // and left out of later runs
      expect(await runJob(exportFileCleanup, { sweep_orphans: "false" })).toMatchObject({ total_found: 0, quarantined_count: 0 });
    });
  });

  it("sweeps orphans past retention in the export layout, and nothing else", async () => {
    await installedHoursAgo(100);
    const live = await seedExports({ count: 2, ageHours: 5, withFiles: false });
    const orphanUser = newUserId();
    const orphans = [
      ...(await seedOrphans({ count: 2, ageHours: 48, userId: orphanUser })),
      ...(await seedOrphans({ count: 1, ageHours: 48, knownBy: "metric" })),
    ];
    const [youngOrphan] = await seedOrphans({ count: 1, ageHours: 1, userId: orphanUser });
    // not named after an export export-ops knew: not its files, whatever their age
    const foreign = ["notes/readme.txt", `${orphanUser}/tool.exe`, `${orphanUser}/a.json`, `${orphanUser}/${newUserId()}.csv`];
    await addObjects(foreign, 48);
    await addObjects(paths(live), 48); // old objects that live (completed, in retention) logs point to

    const result = await runJob(exportFileCleanup, {}, { env: sweepEnv() });

    expect(result).toMatchObject({ orphans_found: 3, orphans_deleted: 3, total_found: 0 });
    const left = await objectNames();
    expect(orphans.filter((o) => left.has(o))).toEqual([]);
    for (const kept of [youngOrphan!, ...foreign, ...paths(live)]) expect(left.has(kept)).toBe(true);
  });
});
