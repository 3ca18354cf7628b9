/**
 * Buckets that keep versions, against the local stack: a deletion export-ops reports frees the bytes there too.
 * The file cleanup, the orphan sweep and erasure delete every version of the files they delete (never another
 * name's); erasure deletes the old versions of each archive object it rewrites, which hold the user's rows, and
 * finishes that after a crash; health and the run result say each bucket's versioning and lifecycle rule.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { decodeArchive } from "../lib/archive/log-archive";
import { eraseUser } from "../lib/erasure/user-erasure";
import { exportFileCleanup } from "../lib/jobs/export-file-cleanup";
import { exportLogCleanup } from "../lib/jobs/export-log-cleanup";
import { jobs } from "../lib/jobs";
import { detailedHealth } from "../lib/reporting/health";
import { readOpsPanels } from "../lib/ops/page-data";
import { cleanupPanel } from "../lib/ops-page/panels/cleanup";
import { systemClock } from "../lib/ports";
import { addObjects, installedHoursAgo, ports, resetData, stackDeps, runJob, seedExports, seedOrphans, testEnv } from "./helpers/exports";
import { closeSql, sql } from "./helpers/stack";
import { createVersionedBucket, dropBucket, storageClient, versionsOf } from "./helpers/versioned-buckets";

const tag = randomUUID().slice(0, 8);
const EXPORTS = `versioned-exports-${tag}`;
const ARCHIVE = `versioned-archive-${tag}`;
const env = (extra: Record<string, string> = {}) => testEnv({ EXPORTS_BUCKET: EXPORTS, EXPORT_ARCHIVE_BUCKET: ARCHIVE, ...extra });
const deps = () => stackDeps(env());
const [A, B] = ["0a000000-0000-4000-8000-0000000000aa", "0b000000-0000-4000-8000-0000000000bb"];

/** Every row Storage keeps in the bucket (versions and delete markers), by name. */
async function rowsByName(bucket: string): Promise<Map<string, number>> {
  const { rows } = await sql().query<{ name: string; n: number }>(
    "select name, count(*)::int as n from storage.objects where bucket_id = $1 group by name",
    [bucket],
  );
  return new Map(rows.map((r) => [r.name, r.n]));
}

beforeEach(async () => {
  await resetData();
  await dropBucket(EXPORTS);
  await dropBucket(ARCHIVE);
  await createVersionedBucket(EXPORTS);
  await createVersionedBucket(ARCHIVE);
});

afterAll(async () => {
  await dropBucket(EXPORTS);
  await dropBucket(ARCHIVE);
  await closeSql();
});

describe("the file cleanup in a versioned exports bucket", () => {
  it("deletes every version of each expired file, and no version of a file it does not delete", async () => {
    const expired = await seedExports({ count: 3, ageHours: 48 });
    const fresh = await seedExports({ count: 1, ageHours: 1 });
    const paths = [...expired, ...fresh].map((r) => r.file_path!);
    await addObjects(paths, 48, EXPORTS);
    await addObjects(paths, 48, EXPORTS); // the export wrote its file twice: two versions each
    const hostFile = `${A}/avatar.png`;
    await addObjects([hostFile], 48, EXPORTS);
    await addObjects([hostFile], 48, EXPORTS);
    expect(await rowsByName(EXPORTS)).toEqual(new Map([...paths.map((p) => [p, 2] as const), [hostFile, 2]]));

    const result = await runJob(exportFileCleanup, { sweep_orphans: "false" }, { env: env() });
    expect(result).toMatchObject({
      deleted_count: 3,
      logs_updated: 3,
      bucket_versioning: { status: "ENABLED", noncurrent_expiry_days: null },
    });
    // no version and no delete marker left of the expired files; the fresh file and the host's file keep theirs
    expect(await rowsByName(EXPORTS)).toEqual(
      new Map([
        [fresh[0]!.file_path!, 2],
        [hostFile, 2],
      ]),
    );
    const logs = await sql().query("select status from export_logs where export_id = any($1::uuid[])", [expired.map((r) => r.export_id)]);
    expect(logs.rows.map((r) => r.status)).toEqual(["expired", "expired", "expired"]);
  });

  it("deletes the noncurrent versions of a file that was already deleted by name", async () => {
    const [row] = await seedExports({ count: 1, ageHours: 48 });
    await addObjects([row!.file_path!], 48, EXPORTS);
    await storageClient().from(EXPORTS).remove([row!.file_path!]); // a delete by name: a marker, the bytes kept
    expect(await versionsOf(EXPORTS, row!.file_path!)).toHaveLength(2);
    await runJob(exportFileCleanup, { sweep_orphans: "false" }, { env: env() });
    expect(await versionsOf(EXPORTS, row!.file_path!)).toEqual([]);
  });

  it("sweeps an orphan's every version", async () => {
    await installedHoursAgo(24 * 30);
    const orphans = await seedOrphans({ count: 2, ageHours: 48 });
    await addObjects(orphans, 48, EXPORTS);
    await addObjects(orphans, 48, EXPORTS);
    const result = await runJob(exportFileCleanup, {}, { env: env({ EXPORT_ORPHAN_SWEEP: "on" }) });
    expect(result.orphans_deleted).toBe(2);
    expect(await rowsByName(EXPORTS)).toEqual(new Map());
  });
});

describe("erasure in versioned buckets", () => {
  /** Every version of every archive object, decoded: the rows Storage still keeps, current or not. */
  async function everyArchivedRow(): Promise<Record<string, unknown>[]> {
    const { rows } = await sql().query<{ name: string; version: string }>(
      "select name, version from storage.objects where bucket_id = $1 and not is_delete_marker",
      [ARCHIVE],
    );
    const out: Record<string, unknown>[] = [];
    for (const { name, version } of rows) {
      const { data, error } = await storageClient()
        .from(ARCHIVE)
        .download(name, { versionId: version } as never);
      if (error) throw error;
      out.push(...decodeArchive(new Uint8Array(await data.arrayBuffer())));
    }
    return out;
  }

  async function archiveHistory(): Promise<void> {
    for (let i = 0; i < 4; i += 1) {
      await seedExports({ count: 1, userId: A, status: "expired", ageHours: 40 * 24 + i });
      await seedExports({ count: 1, userId: B, status: "expired", ageHours: 40 * 24 + i });
    }
    const cleanup = await runJob(exportLogCleanup, { batch_size: "4", prune_metrics: "false" }, { env: env() });
    expect(cleanup).toMatchObject({ archived_count: 8, archive_bucket_versioning: { status: "ENABLED", noncurrent_expiry_days: null } });
  }

  it("leaves no version of any archive object holding the user's rows, and keeps everyone else's", async () => {
    await archiveHistory();
    const [file] = await seedExports({ count: 1, userId: A, ageHours: 1 });
    await addObjects([file!.file_path!], 1, EXPORTS);
    await addObjects([file!.file_path!], 1, EXPORTS);

    const result = await eraseUser(deps(), { userId: A });
    expect(result).toMatchObject({
      files_deleted: 1,
      archive_objects_rewritten: 2,
      archive_rows_removed: 4,
      archive_versions_removed: 2,
      errors: [],
      has_more: false,
    });
    const rows = await everyArchivedRow();
    expect(rows.filter((r) => r.user_id === A)).toEqual([]);
    expect(rows.filter((r) => r.user_id === B)).toHaveLength(4);
    expect(await versionsOf(EXPORTS, file!.file_path!)).toEqual([]);
  });

  it("finishes after a crash that put the rewrite in place but kept the old versions", async () => {
    await archiveHistory();
    const names = (
      await sql().query<{ name: string }>("select distinct name from storage.objects where bucket_id = $1", [ARCHIVE])
    ).rows.map((r) => r.name);
    // what a run that died after replacing the objects leaves: each current version without A, the old ones with A
    const storage = ports().storage;
    for (const name of names) {
      const kept = decodeArchive(await storage.download(ARCHIVE, name)).filter((r) => r.user_id !== A);
      const { archiveObject } = await import("../lib/archive/log-archive");
      const archive = await archiveObject(kept.map((r) => JSON.stringify(r)).join("\n") + "\n");
      await storage.upload(ARCHIVE, name, archive.bytes, { contentType: "application/gzip", upsert: true });
    }
    expect((await everyArchivedRow()).some((r) => r.user_id === A)).toBe(true);

    const rerun = await eraseUser(deps(), { userId: A });
    expect(rerun).toMatchObject({ archive_rows_removed: 0, archive_versions_removed: 2, has_more: false });
    expect((await everyArchivedRow()).filter((r) => r.user_id === A)).toEqual([]);
  });
});

describe("an archive object deleted by name in a versioned bucket", () => {
  it("is not erased from while only its older versions keep everyone's rows: the erasure says so and changes nothing", async () => {
    for (let i = 0; i < 2; i += 1) {
      await seedExports({ count: 1, userId: A, status: "expired", ageHours: 40 * 24 + i });
      await seedExports({ count: 1, userId: B, status: "expired", ageHours: 40 * 24 + i });
    }
    await runJob(exportLogCleanup, { prune_metrics: "false" }, { env: env() });
    const [name] = (await sql().query<{ name: string }>("select name from storage.objects where bucket_id = $1", [ARCHIVE])).rows.map(
      (r) => r.name,
    );
    await storageClient().from(ARCHIVE).remove([name!]); // someone deleted it by name: a marker over the bytes
    const before = await versionsOf(ARCHIVE, name!);

    const refused = await eraseUser(deps(), { userId: A });
    expect(refused.has_more).toBe(true);
    expect(refused.errors).toEqual([expect.stringContaining(`archive ${name} still holds the user's rows`)]);
    expect(refused.errors[0]).toMatch(/deleted by name but 1 older versions keep its rows: restore its newest version/);
    expect(await versionsOf(ARCHIVE, name!)).toEqual(before);

    // restored (its newest version copied back), the erasure finishes: no version holds A's rows, B's remain
    const old = before.find((v) => !v.delete_marker)!;
    const { data } = await storageClient()
      .from(ARCHIVE)
      .download(name!, { versionId: old.version } as never);
    await storageClient().from(ARCHIVE).upload(name!, data!, { contentType: "application/gzip", upsert: true });
    const done = await eraseUser(deps(), { userId: A });
    expect(done).toMatchObject({ archive_rows_removed: 2, has_more: false, errors: [] });
    const left = await versionsOf(ARCHIVE, name!);
    expect(left).toEqual([expect.objectContaining({ current: true, delete_marker: false })]);
    const rows = decodeArchive(await ports().storage.download(ARCHIVE, name!));
    expect(rows.map((r) => r.user_id)).toEqual([B, B]);
  });
});

describe("health and the ops page", () => {
  it("the ops page's cleanup panel shows each bucket's versioning and what a deletion means there", async () => {
    const settings = { exportsBucket: EXPORTS, archiveBucket: ARCHIVE, fileRetentionHours: 24, logRetentionDays: 30 };
    const panels = await readOpsPanels(ports().db, jobs, settings, systemClock, ports().storage);
    const page = String(cleanupPanel(panels.cleanup, 100_000));
    expect(page).toMatch(
      new RegExp(
        `data-bucket="${EXPORTS}".*<data value="ENABLED" data-field="versioning">ENABLED</data>.*delete every version of the files`,
        "s",
      ),
    );
    expect(page).toMatch(new RegExp(`data-bucket="${ARCHIVE}".*<data value="ENABLED" data-field="versioning">`, "s"));
  });

  it("health shows each bucket's versioning, its lifecycle rule and what a deletion means there", async () => {
    await storageClient().updateBucketLifecycle(ARCHIVE, {
      rules: [{ status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 7 } }],
    });
    const report = await detailedHealth(ports().db, jobs, systemClock, { stuckHours: 2, env: env(), storage: ports().storage });
    expect(report.buckets).toEqual([
      expect.objectContaining({
        bucket: EXPORTS,
        versioning: { status: "ENABLED", noncurrent_expiry_days: null },
        versioning_note: expect.stringMatching(/the file cleanup, the orphan sweep and erasure delete every version.*no lifecycle rule/),
      }),
      expect.objectContaining({
        bucket: ARCHIVE,
        versioning: { status: "ENABLED", noncurrent_expiry_days: 7 },
        versioning_note: expect.stringMatching(/erasure deletes the old versions.*after 7 days/),
      }),
    ]);
    expect(report.buckets!.every((b) => b.problem === null)).toBe(true);
  });
});
