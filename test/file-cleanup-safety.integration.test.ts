/**
 * The file cleanup never deletes a file still in use and never gets stuck, against the local stack: a file two
 * exports share, quarantine and its operator command, the orphan sweep's cursor, exports stuck in progress, strict
 * query options, and a run that stops at once when one of its workers fails.
 */
import { spawn } from "node:child_process";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { withCron } from "../lib/http/with-cron";
import { exportFileCleanup } from "../lib/jobs/export-file-cleanup";
import { exportLogCleanup } from "../lib/jobs/export-log-cleanup";
import { captureLogger, fixedClock } from "./doubles";
import {
  BUCKET,
  addObjects,
  installedHoursAgo,
  newUserId,
  objectNames,
  ports,
  resetData,
  runJob,
  seedExports,
  sweepEnv,
  testEnv,
} from "./helpers/exports";
import { closeSql, itStandIn, sql, stack, standIn } from "./helpers/stack";

beforeEach(async () => {
  await standIn.clearFaults();
  await resetData();
  await sql().query("truncate export_ops_orphan_cursor");
  await standIn.clearRequests();
});
afterAll(closeSql);

const storage = () => ports().storage;
const download = async (path: string) => new TextDecoder().decode(await storage().download(BUCKET, path));
async function status(id: string): Promise<string> {
  return (await sql().query("select status from export_logs where export_id = $1", [id])).rows[0]?.status;
}
/** A log of `user` pointing at `path`, completed `hoursAgo` (or in progress since then). */
async function exportAt(user: string, path: string, hoursAgo: number, state: "completed" | "queued" | "processing" = "completed") {
  const [row] = await seedExports({ count: 1, ageHours: hoursAgo, userId: user, paths: [path], status: state });
  return row!.export_id;
}

describe("a file another export still uses", () => {
  it("is kept when the older export expires, still downloads, and goes when the last export using it expires", async () => {
    const user = newUserId();
    const path = `${user}/latest.jsonl`;
    await storage().upload(BUCKET, path, '{"conversation":"newest"}\n', { contentType: "application/x-ndjson", upsert: true });
    const old = await exportAt(user, path, 72);
    const recent = await exportAt(user, path, 1);

    const preview = await runJob(exportFileCleanup, { dry_run: "true", sweep_orphans: "false" });
    expect(preview).toMatchObject({ total_found: 1, kept_in_use: 1 });
    expect(preview.sample_paths).toEqual([]);

    const result = await runJob(exportFileCleanup, { sweep_orphans: "false" });
    expect(result).toMatchObject({ total_found: 1, deleted_count: 0, kept_in_use: 1, logs_updated: 1, failed_count: 0 });
    expect(await status(old)).toBe("expired");
    expect(await download(path)).toBe('{"conversation":"newest"}\n');
    const { rows } = await sql().query("select kept_file_for from export_ops_file_cleanup where export_id = $1", [old]);
    expect(rows).toEqual([{ kept_file_for: recent }]);
    await installedHoursAgo(100);
    expect(await runJob(exportFileCleanup, {}, { env: sweepEnv() })).toMatchObject({ deleted_count: 0, orphans_found: 0 });
    expect((await objectNames()).has(path)).toBe(true);

    // the recent export passes its retention: now nothing uses the file
    await sql().query("update export_logs set completed_at = now() - interval '30 hours' where export_id = $1", [recent]);
    expect(await runJob(exportFileCleanup, { sweep_orphans: "false" })).toMatchObject({ deleted_count: 1, kept_in_use: 0 });
    expect(await status(recent)).toBe("expired");
    expect((await objectNames()).has(path)).toBe(false);
  });

  it.each(["queued", "processing"] as const)("is kept while an export that will write it is %s", async (state) => {
    const user = newUserId();
    const path = `${user}/latest.csv`;
    await storage().upload(BUCKET, path, "a,b\n", { contentType: "text/csv", upsert: true });
    const [old] = await seedExports({ count: 1, ageHours: 72, userId: user, paths: [path], format: "csv" });
    await exportAt(user, path, 2, state);
    expect(await runJob(exportFileCleanup, {})).toMatchObject({ kept_in_use: 1, deleted_count: 0, orphans_deleted: 0 });
    expect(await status(old!.export_id)).toBe("expired");
    expect(await download(path)).toBe("a,b\n");
  });
});

describe("quarantine", () => {
  const cli = (...args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "scripts/run-job.ts", "export-file-cleanup", ...args], {
        env: {
          ...process.env,
          SUPABASE_URL: stack.SUPABASE_URL,
          SUPABASE_SERVICE_ROLE_KEY: stack.SUPABASE_SERVICE_ROLE_KEY,
          LOG_LEVEL: "silent",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.on("exit", (code) => resolve({ code, out }));
    });

  it("lists quarantined exports and releases one by command; the run is not partial for them", async () => {
    const user = newUserId();
    const [bad] = await seedExports({ count: 1, ageHours: 30, userId: user, paths: [`${user}/../x.jsonl`] });
    const first = await runJob(exportFileCleanup, { sweep_orphans: "false" });
    expect(first).toMatchObject({ quarantined_count: 1, failed_count: 0, errors: [] });
    expect((await sql().query("select status from export_ops_runs order by started_at desc limit 1")).rows[0].status).toBe("succeeded");

    const listed = await cli("--quarantined");
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.out)).toMatchObject({
      total: 1,
      rows: [{ export_id: bad!.export_id, quarantine_reason: expect.stringMatching(/^unsafe path: /) }],
    });

    // an operator fixes the path, then releases it
    await sql().query("update export_logs set file_path = $2 where export_id = $1", [bad!.export_id, `${user}/${bad!.export_id}.jsonl`]);
    const released = await cli("--release", bad!.export_id);
    expect(released).toMatchObject({ code: 0, out: expect.stringContaining("released") });
    expect(await cli("--release", bad!.export_id)).toMatchObject({ code: 1 });
    expect(await runJob(exportFileCleanup, { sweep_orphans: "false" })).toMatchObject({ deleted_count: 1, quarantined_count: 0 });
    expect(await status(bad!.export_id)).toBe("expired");
  }, 60_000);

  itStandIn("fault injection")(
    "retries a Storage failure with the attempts and last error kept, and quarantines after the configured attempts",
    async () => {
      await seedExports({ count: 3, ageHours: 30, withFiles: true });
      await standIn.addFault({ method: "DELETE", pathPrefix: `/storage/v1/object/${BUCKET}`, status: 500, times: 10 });
      const clock = fixedClock(new Date().toISOString());
      const env = testEnv({ EXPORT_CLEANUP_MAX_ATTEMPTS: "2" });

      expect(await runJob(exportFileCleanup, { sweep_orphans: "false" }, { clock, env })).toMatchObject({
        failed_count: 3,
        quarantined_count: 0,
      });
      const kept = await sql().query("select attempts, last_error, quarantined_at from export_ops_file_cleanup");
      expect(kept.rows.every((r) => r.attempts === 1 && r.last_error.includes("storage remove failed") && r.quarantined_at === null)).toBe(
        true,
      );

      clock.advance(16 * 60_000); // past the claims' lease
      expect(await runJob(exportFileCleanup, { sweep_orphans: "false" }, { clock, env })).toMatchObject({
        failed_count: 3,
        quarantined_count: 3,
      });
      const { rows } = await sql().query("select attempts, quarantine_reason from export_ops_file_cleanup");
      expect(rows.every((r) => r.attempts === 2 && r.quarantine_reason.startsWith("Storage failed 2 times"))).toBe(true);
      clock.advance(16 * 60_000);
      expect(await runJob(exportFileCleanup, { sweep_orphans: "false" }, { clock, env })).toMatchObject({ total_found: 0 });
    },
  );
});

describe("the orphan sweep", () => {
  it("continues where the last run stopped, reaches orphans behind more than a run's worth of other objects, and wraps around", async () => {
    // a bucket of its own, so that only the objects below fill its pages
    const bucket = "orphan-sweep-pages";
    await sql().query("insert into storage.buckets (id, name, public) values ($1, $1, false) on conflict (id) do nothing", [bucket]);
    await installedHoursAgo(100);
    // 25 objects outside the export layout sort before the orphans (digits before letters in any collation)
    const others = Array.from({ length: 25 }, (_, i) => `0-notes/n${String(i).padStart(2, "0")}.txt`);
    await addObjects(others, 48, bucket);
    const orphanUser = `f${newUserId().slice(1)}`;
    const orphans = (await seedExports({ count: 2, status: "failed", ageHours: 48, userId: orphanUser })).map((r) => r.file_path!);
    await addObjects(orphans, 48, bucket);
    const sweep = () =>
      runJob(exportFileCleanup, { orphan_pages: "1", orphan_page_size: "10" }, { env: sweepEnv({ EXPORTS_BUCKET: bucket }) });

    expect(await sweep()).toMatchObject({ orphans_found: 0, has_more: true });
    expect(await sweep()).toMatchObject({ orphans_found: 0, has_more: true });
    expect(await sweep()).toMatchObject({ orphans_found: 2, orphans_deleted: 2, has_more: false }); // 5 others, 2 orphans: the end
    const left = await objectNames(bucket);
    expect(orphans.filter((o) => left.has(o))).toEqual([]);
    expect(others.every((o) => left.has(o))).toBe(true);
    const cursor = await sql().query("select after, laps from export_ops_orphan_cursor");
    expect(cursor.rows).toEqual([{ after: "", laps: 1 }]);
    // the next run starts from the top again
    expect(await sweep()).toMatchObject({ orphans_found: 0, has_more: true });
    expect((await sql().query("select after from export_ops_orphan_cursor")).rows[0].after).toBe("0-notes/n09.txt");
    await storage().remove(bucket, others);
  });

  it("does not move the cursor in a dry run", async () => {
    await addObjects(
      Array.from({ length: 15 }, (_, i) => `0-notes/d${i}.txt`),
      48,
    );
    await runJob(exportFileCleanup, { dry_run: "true", orphan_page_size: "10" });
    expect((await sql().query("select count(*)::int as n from export_ops_orphan_cursor")).rows[0].n).toBe(0);
  });
});

describe("exports stuck in progress", () => {
  it("lose their file once stuck longer than EXPORT_STUCK_HOURS and past retention; an export still in progress keeps it", async () => {
    const stuck = await seedExports({ count: 2, status: "processing", ageHours: 30, withFiles: true });
    const going = await seedExports({ count: 2, status: "processing", ageHours: 20 });
    await addObjects(
      going.map((r) => r.file_path!),
      30,
    );
    await installedHoursAgo(100);
    const result = await runJob(exportFileCleanup, {}, { env: sweepEnv() });
    expect(result.orphans_deleted).toBe(2);
    const left = await objectNames();
    expect(stuck.every((r) => !left.has(r.file_path!))).toBe(true);
    expect(going.every((r) => left.has(r.file_path!))).toBe(true);
  });

  it("have their logs removed once past log retention, so neither the log nor its file stays forever", async () => {
    const stuck = await seedExports({ count: 3, status: "queued", ageHours: 40 * 24 });
    const completedWithFile = await seedExports({ count: 1, status: "completed", ageHours: 40 * 24 });
    const result = await runJob(exportLogCleanup, { prune_metrics: "false" });
    expect(result).toMatchObject({ deleted_count: 3, kept_with_files: 1 });
    const { rows } = await sql().query("select export_id from export_logs");
    expect(rows.map((r) => r.export_id)).toEqual([completedWithFile[0]!.export_id]);
    expect(stuck).toHaveLength(3);
  });
});

// how batches shrink to a slow Storage is lib/jobs/export-file-cleanup.test.ts's, on fake time
describe("a Storage that deletes part of a batch", () => {
  itStandIn("a slow or failing Storage")(
    "loses track of nothing when a bulk delete fails after deleting half its names: the next run finishes",
    async () => {
      const expired = await seedExports({ count: 100, ageHours: 30, withFiles: true });
      await standIn.setStorage({ failAfterNames: 50, failTimes: 1 });
      const clock = fixedClock(new Date().toISOString());
      const first = await runJob(exportFileCleanup, { sweep_orphans: "false" }, { clock });
      expect(first).toMatchObject({ deleted_count: 0, failed_count: 100 });
      const afterFirst = await objectNames();
      expect(expired.filter((r) => afterFirst.has(r.file_path!))).toHaveLength(50); // half of them are gone already
      expect((await sql().query("select count(*)::int as n from export_logs where status = 'completed'")).rows[0].n).toBe(100);

      clock.advance(16 * 60_000); // the failed batch's claims end
      const second = await runJob(exportFileCleanup, { sweep_orphans: "false" }, { clock });
      expect(second).toMatchObject({ total_found: 100, deleted_count: 100, failed_count: 0 });
      expect((await sql().query("select count(*)::int as n from export_logs where status = 'expired'")).rows[0].n).toBe(100);
      const left = await objectNames();
      expect(expired.filter((r) => left.has(r.file_path!))).toEqual([]);
    },
  );
});

describe("query options", () => {
  const call = (query: string) =>
    withCron(exportFileCleanup, { logger: captureLogger().logger })(
      new Request(`http://localhost/api/cron/export-file-cleanup?${query}`, {
        headers: { authorization: "Bearer query-options-cron-secret-0123456789" },
      }),
    );
  beforeEach(() => {
    vi.stubEnv("CRON_SECRET", "query-options-cron-secret-0123456789");
    vi.stubEnv("SUPABASE_URL", stack.SUPABASE_URL);
    vi.stubEnv("SUPABASE_SERVICE_ROLE_KEY", stack.SUPABASE_SERVICE_ROLE_KEY);
  });
  afterEach(() => vi.unstubAllEnvs());

  it.each(["0x10", "1e2", " 5", "5.0", "+5", "-5", "", "５"])(
    "refuses retention_hours=%j with a 400 naming the option, and changes nothing",
    async (value) => {
      await seedExports({ count: 2, ageHours: 30, withFiles: true });
      const res = await call(`retention_hours=${encodeURIComponent(value)}`);
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.error).toMatchObject({ code: "bad_request", details: { parameter: "retention_hours" } });
      expect(body.error.message).toContain("retention_hours");
      expect((await sql().query("select count(*)::int as n from export_ops_runs")).rows[0].n).toBe(0);
      expect((await sql().query("select count(*)::int as n from export_logs where status = 'expired'")).rows[0].n).toBe(0);
    },
  );

  it.each([
    ...["1e0", ".5", "0.125", "11", "-1"].map((value) => ["nice_ratio", value]),
    ...["1", "21", "2e0"].map((value) => ["slow_factor", value]),
    ...["1.4", "101"].map((value) => ["stop_factor", value]),
    ["yield_to_load", "no"],
  ])("refuses %s=%j with a 400 naming the option", async (option, value) => {
    const res = await call(`${option}=${encodeURIComponent(value!)}`);
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toMatchObject({ code: "bad_request", details: { parameter: option } });
    expect((await sql().query("select count(*)::int as n from export_ops_runs")).rows[0].n).toBe(0);
  });

  it.each(["1", "0", "yes", "TRUE", "True", ""])("refuses dry_run=%j: booleans are true or false only", async (value) => {
    const res = await call(`dry_run=${encodeURIComponent(value)}`);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ details: { parameter: "dry_run" } });
  });

  it("takes decimal digits", async () => {
    const res = await call("retention_hours=48&dry_run=true&batch_size=0100");
    expect(res.status).toBe(200);
    expect((await res.json()).result).toMatchObject({ retention_hours: 48, dry_run: true });
  });
});
