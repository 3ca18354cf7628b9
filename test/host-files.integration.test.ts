/**
 * export-ops in a project whose `exports` bucket already held the host app's own files (test/fixtures/host-files.ts,
 * uploaded before the migrations ran): none of them is ever deleted, the orphan sweep stays off there until an
 * operator turns it on — and then takes only files of exports export-ops knew, written after its install — and a
 * public or missing bucket is refused by every job and reported by health and the ops page.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { eraseUser } from "../lib/erasure/user-erasure";
import { exportFileCleanup } from "../lib/jobs/export-file-cleanup";
import { exportLogCleanup } from "../lib/jobs/export-log-cleanup";
import { jobs } from "../lib/jobs";
import { detailedHealth } from "../lib/reporting/health";
import { loadOpsPage } from "../lib/ops/page-data";
import { systemClock } from "../lib/ports";
import { captureLogger } from "./doubles";
import { HOST_FILE_EXPORT_ID, HOST_FILES } from "./fixtures/host-files";
import {
  BUCKET,
  addObjects,
  installedHoursAgo,
  objectNames,
  ports,
  resetData,
  runJob,
  seedExports,
  seedOrphans,
  sweepEnv,
  testEnv,
} from "./helpers/exports";
import { ADA, GRACE } from "./helpers/host-database";
import { closeSql, itStandIn, sql } from "./helpers/stack";

beforeEach(resetData);
afterAll(closeSql);

const DAY = 24;
const ids = (rows: { export_id: string }[]) => rows.map((r) => r.export_id);

/** Each host file downloads with the bytes the app wrote. */
async function expectHostFilesIntact(): Promise<void> {
  const { storage } = ports();
  for (const file of HOST_FILES) {
    expect({ name: file.name, body: new TextDecoder().decode(await storage.download(BUCKET, file.name)) }).toEqual({
      name: file.name,
      body: file.body,
    });
  }
}

async function statuses(exportIds: string[]): Promise<Record<string, number>> {
  const { rows } = await sql().query("select status, count(*)::int as n from export_logs where export_id = any($1) group by status", [
    exportIds,
  ]);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

const pageSettings = { exportsBucket: BUCKET, fileRetentionHours: 24, logRetentionDays: 30 };

describe("a host's own exports bucket", () => {
  itStandIn("the host app fixture")(
    "keeps every host file after a real file-cleanup run with every default, and says the sweep is off and why",
    async () => {
      await installedHoursAgo(10 * DAY);
      const expired = await seedExports({ count: 40, ageHours: 30, withFiles: true });
      const orphans = await seedOrphans({ count: 3, ageHours: 48 });

      const result = await runJob(exportFileCleanup, {});

      expect(result).toMatchObject({ deleted_count: 40, orphans_found: 0, orphans_deleted: 0 });
      expect(result.orphan_sweep).toEqual({
        enabled: false,
        reason:
          "bucket exports existed before export-ops was installed and may hold your app's own files: " +
          "check what a dry run lists (sample_orphans), then set EXPORT_ORPHAN_SWEEP=on to sweep it",
      });
      expect(await statuses(ids(expired))).toEqual({ expired: 40 });
      const left = await objectNames();
      expect(orphans.every((o) => left.has(o))).toBe(true);
      await expectHostFilesIntact();

      // detailed health and the ops page say the same
      const health = await detailedHealth(ports().db, jobs, systemClock, { stuckHours: 24, env: testEnv(), storage: ports().storage });
      const versioning = { status: "DISABLED", noncurrent_expiry_days: null };
      expect(result.bucket_versioning).toEqual(versioning);
      expect(health.buckets).toEqual([
        {
          bucket: BUCKET,
          purpose: "exports",
          exists: true,
          public: false,
          created_by_export_ops: false,
          problem: null,
          versioning,
          versioning_note: null,
          orphan_sweep: result.orphan_sweep,
        },
      ]);
      const page = await loadOpsPage(ports().db, jobs, pageSettings, systemClock);
      expect(page.orphanSweep).toEqual(result.orphan_sweep);
      expect(page.buckets[0]).toMatchObject({ bucket: BUCKET, created_by_export_ops: false, problem: null });
      const on = await loadOpsPage(ports().db, jobs, { ...pageSettings, orphanSweep: "on" }, systemClock);
      expect(on.orphanSweep).toEqual({ enabled: true, reason: "EXPORT_ORPHAN_SWEEP=on" });
    },
  );

  itStandIn("the host app fixture")(
    "with the sweep turned on, takes only files of exports export-ops knew, written after the install — a dry run lists exactly those first",
    async () => {
      await installedHoursAgo(10 * DAY);
      // the host's own file named <user>/<uuid>.jsonl: its id becomes known to export-ops, but the file predates the install
      await sql().query(
        "insert into export_logs (export_id, user_id, format, status, file_path, created_at) values ($1, $2, 'jsonl', 'failed', $3, now() - interval '2 days')",
        [HOST_FILE_EXPORT_ID, ADA, `${ADA}/${HOST_FILE_EXPORT_ID}.jsonl`],
      );
      const taken = [
        ...(await seedOrphans({ count: 2, ageHours: 48, userId: ADA })),
        ...(await seedOrphans({ count: 1, ageHours: 48, knownBy: "metric" })),
      ];
      const [graceExport] = await seedExports({ count: 1, status: "failed", ageHours: 48, userId: GRACE, format: "csv" });
      const [csvExport] = await seedExports({ count: 1, status: "failed", ageHours: 48, format: "csv" });
      const kept = [
        `${ADA}/${randomUUID()}.csv`, // named like an export, of none export-ops knew
        `${ADA}/notes-2026.csv`, // not named after an export at all
        `${ADA}/${graceExport!.export_id}.csv`, // another user's export, in Ada's folder
        `${csvExport!.user_id}/${csvExport!.export_id}.json`, // a known export, with another format's extension
      ];
      await addObjects(kept, 48);

      const preview = await runJob(exportFileCleanup, { dry_run: "true" }, { env: sweepEnv() });
      expect(preview).toMatchObject({
        dry_run: true,
        orphans_found: 3,
        orphans_deleted: 0,
        orphan_sweep: { enabled: true, reason: "EXPORT_ORPHAN_SWEEP=on" },
      });
      expect([...preview.sample_orphans!].sort()).toEqual([...taken].sort());
      const before = await objectNames();
      expect(taken.filter((o) => !before.has(o))).toEqual([]);

      const result = await runJob(exportFileCleanup, {}, { env: sweepEnv() });

      expect(result).toMatchObject({ orphans_found: 3, orphans_deleted: 3 });
      const left = await objectNames();
      expect(taken.filter((o) => left.has(o))).toEqual([]);
      expect(kept.filter((o) => !left.has(o))).toEqual([]);
      await expectHostFilesIntact();
    },
  );

  itStandIn("the host app fixture")("is left alone by a user's erasure but for the files export-ops knows of that user", async () => {
    await installedHoursAgo(10 * DAY);
    const mine = await seedExports({ count: 2, ageHours: 2, withFiles: true, userId: ADA });
    const deps = { ...ports(), env: testEnv(), clock: systemClock, logger: captureLogger().logger, deadline: Number.POSITIVE_INFINITY };

    const result = await eraseUser(deps, { userId: ADA });

    expect(result).toMatchObject({ files_found: 2, files_deleted: 2, logs_deleted: 2 });
    expect([...result.files_left].sort()).toEqual(
      HOST_FILES.filter((f) => f.name.startsWith(`${ADA}/`))
        .map((f) => f.name)
        .sort(),
    );
    const left = await objectNames();
    expect(mine.filter((r) => left.has(r.file_path!))).toEqual([]);
    await expectHostFilesIntact();
  });
});

describe("a bucket no job may use", () => {
  const setPublic = (bucket: string, value: boolean) =>
    sql().query("update storage.buckets set public = $2 where id = $1", [bucket, value]);

  it("made public after the install: every job refuses it, naming it and the fix, and health and the ops page say so", async () => {
    const expired = await seedExports({ count: 5, ageHours: 30, withFiles: true });
    const oldLogs = await seedExports({ count: 5, status: "expired", ageHours: 40 * DAY });
    await setPublic(BUCKET, true);
    await setPublic("export-archive", true);
    try {
      const problem = `bucket ${BUCKET} is public, so every file in it is world-readable: export-ops neither deletes from nor writes to it until it is private`;
      await expect(runJob(exportFileCleanup, {})).rejects.toThrow(problem);
      await expect(runJob(exportFileCleanup, { dry_run: "true" })).rejects.toThrow(problem);
      const deps = { ...ports(), env: testEnv(), clock: systemClock, logger: captureLogger().logger, deadline: Number.POSITIVE_INFINITY };
      await expect(eraseUser(deps, { userId: expired[0]!.user_id })).rejects.toThrow(problem);
      await expect(runJob(exportLogCleanup, {}, { env: testEnv({ EXPORT_ARCHIVE_BUCKET: "export-archive" }) })).rejects.toThrow(
        "bucket export-archive is public, so every file in it is world-readable",
      );
      // nothing was deleted, expired or archived
      expect(await statuses(ids(expired))).toEqual({ completed: 5 });
      expect(await statuses(ids(oldLogs))).toEqual({ expired: 5 });
      const left = await objectNames();
      expect(expired.every((r) => left.has(r.file_path!))).toBe(true);
      expect(await objectNames("export-archive")).toHaveProperty("size", 0);
      const { rows } = await sql().query(
        "select status, error ->> 'code' as code from export_ops_runs where job = 'export-file-cleanup' and not dry_run",
      );
      expect(rows).toEqual([{ status: "failed", code: "config_error" }]);

      const health = await detailedHealth(ports().db, jobs, systemClock, {
        stuckHours: 24,
        env: testEnv({ EXPORT_ARCHIVE_BUCKET: "export-archive" }),
      });
      expect(health.status).toBe("unhealthy");
      expect(health.buckets!.map((b) => [b.bucket, b.problem?.startsWith(`bucket ${b.bucket} is public`)])).toEqual([
        [BUCKET, true],
        ["export-archive", true],
      ]);
      const page = await loadOpsPage(ports().db, jobs, pageSettings, systemClock);
      expect(page.buckets[0]!.problem).toContain(problem);
    } finally {
      await setPublic(BUCKET, false);
      await setPublic("export-archive", false);
    }
    expect(await runJob(exportFileCleanup, {})).toMatchObject({ deleted_count: 5 });
  });

  it("that does not exist: the file cleanup refuses it rather than call files gone that are elsewhere", async () => {
    const expired = await seedExports({ count: 3, ageHours: 30, withFiles: true });
    await expect(runJob(exportFileCleanup, {}, { env: testEnv({ EXPORTS_BUCKET: "exprots" }) })).rejects.toThrow(
      "bucket exprots does not exist: create it (private), or set EXPORTS_BUCKET to the bucket you use",
    );
    expect(await statuses(ids(expired))).toEqual({ completed: 3 });
    const health = await detailedHealth(ports().db, jobs, systemClock, { stuckHours: 24, env: testEnv({ EXPORTS_BUCKET: "exprots" }) });
    expect(health.status).toBe("unhealthy");
  });
});
