/**
 * The log archive on an S3-compatible store (EXPORT_ARCHIVE_TARGET=s3), against a real S3-protocol server (s3rver)
 * beside the local stack: the log cleanup archives there with every guarantee it has on a Storage bucket (each
 * batch one object, read back and compared before a row goes; a crash loses and repeats nothing; two runs archive
 * each row once), erasure rewrites the objects without the user, and a refused key, a missing bucket, a store
 * answering 500 or slowly, and a store that keeps versions it cannot list all stop before anything is lost.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, DatabaseError } from "../lib/errors";
import { exportLogCleanup } from "../lib/jobs/export-log-cleanup";
import { jobs } from "../lib/jobs";
import { listArchiveObjects } from "../lib/archive/archive-listing";
import { decodeArchive, restoreArchive } from "../lib/archive/log-archive";
import { eraseUser } from "../lib/erasure/user-erasure";
import { detailedHealth } from "../lib/reporting/health";
import { systemClock } from "../lib/ports";
import type { Env } from "../lib/env";
import { fixedClock } from "./doubles";
import { resetData, runJob, runWithoutLease, seedExports, stackDeps } from "./helpers/exports";
import { s3Env, s3Ports, startS3, type S3Server } from "./helpers/s3";
import { closeSql, itStandIn, sql, standIn, stack } from "./helpers/stack";

const BUCKET = "audit-archive";
const REF = `s3://${BUCKET}`;
const DAY = 24;
const [A, B] = ["0a000000-0000-4000-8000-00000000000a", "0b000000-0000-4000-8000-00000000000b"];

let s3: S3Server;
const env = (overrides: Record<string, string> = {}) => s3Env(s3, { EXPORT_ARCHIVE_BUCKET: BUCKET, ...overrides });
/** Short timeouts and one attempt, so the fault tests take seconds. */
const quickPorts = (e: Env = env()) => s3Ports(e, { timeoutMs: 1_500, maxAttempts: 1 });

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
});
afterAll(async () => {
  await s3?.close();
  await closeSql();
});
beforeEach(async () => {
  s3.fault(null);
  await standIn.clearFaults();
  await resetData();
  const storage = s3Ports(env()).storage;
  const names = (await listArchiveObjects(storage, REF, "")).map((o) => o.name);
  if (names.length > 0) await storage.remove(REF, names);
});

/** Every row in every archive object in the S3 bucket, by export id, and how many copies in all. */
async function archivedRows(): Promise<{ rows: Map<string, Record<string, unknown>>; copies: number; objects: string[] }> {
  const storage = s3Ports(env()).storage;
  const objects = (await listArchiveObjects(storage, REF, "")).map((o) => o.name);
  const rows = new Map<string, Record<string, unknown>>();
  let copies = 0;
  for (const name of objects) {
    for (const row of decodeArchive(await storage.download(REF, name))) {
      rows.set(String(row.export_id), row);
      copies += 1;
    }
  }
  return { rows, copies, objects };
}

async function snapshot(ids: string[]): Promise<Map<string, Record<string, unknown>>> {
  const { rows } = await sql().query("select export_id, to_jsonb(l) as row from export_logs l where export_id = any($1)", [ids]);
  return new Map(rows.map((r) => [r.export_id as string, r.row as Record<string, unknown>]));
}

const remaining = async (ids: string[]) =>
  (await sql().query("select count(*)::int as n from export_logs where export_id = any($1)", [ids])).rows[0].n as number;
const ids = (rows: { export_id: string }[]) => rows.map((r) => r.export_id);

describe("export-log-cleanup archiving to S3", () => {
  it("writes one object per batch in the S3 bucket, each read back before its rows go; the manifest says s3://", async () => {
    const old = await seedExports({ count: 12_000, status: "expired", ageHours: 40 * DAY });
    const recent = await seedExports({ count: 100, status: "expired", ageHours: 5 * DAY });
    const before = await snapshot(ids(old));

    const result = await runJob(exportLogCleanup, { prune_metrics: "false" }, { env: env(), ports: s3Ports(env()) });

    expect(result).toMatchObject({
      deleted_count: 12_000,
      archived_count: 12_000,
      errors: [],
      has_more: false,
      archive_bucket_versioning: { status: "DISABLED" },
    });
    expect(result.archive_objects).toHaveLength(3);
    const archived = await archivedRows();
    expect(archived.objects).toEqual([...result.archive_objects].sort());
    expect(archived.copies).toBe(12_000);
    for (const [id, row] of before) expect(archived.rows.get(id)).toEqual(row);
    expect(await remaining(ids(old))).toBe(0);
    expect(await remaining(ids(recent))).toBe(100);
    const manifest = await sql().query("select distinct bucket from export_ops_archive_objects");
    expect(manifest.rows).toEqual([{ bucket: REF }]);

    // restoring one object from S3 puts its rows back
    const restored = await restoreArchive(s3Ports(env()), REF, result.archive_objects[0]!);
    expect(restored.rows).toBe(restored.restored);
    expect(await remaining(ids(old))).toBe(restored.rows);
  });

  it("npm run archive lists and restores from the S3 bucket", async () => {
    const old = await seedExports({ count: 50, status: "failed", ageHours: 40 * DAY });
    const {
      archive_objects: [object],
    } = await runJob(exportLogCleanup, { prune_metrics: "false" }, { env: env(), ports: s3Ports(env()) });
    const run = (...args: string[]) =>
      promisify(execFile)("npx", ["tsx", "scripts/archive.ts", ...args], {
        env: {
          ...process.env,
          SUPABASE_URL: stack.SUPABASE_URL,
          SUPABASE_SERVICE_ROLE_KEY: stack.SUPABASE_SERVICE_ROLE_KEY,
          EXPORT_ARCHIVE_BUCKET: BUCKET,
          EXPORT_ARCHIVE_REGION: "us-east-1",
          EXPORT_ARCHIVE_S3_ENDPOINT: s3.endpoint,
          EXPORT_ARCHIVE_S3_ACCESS_KEY_ID: "S3RVER",
          EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY: "S3RVER",
          LOG_LEVEL: "silent",
        },
      });
    const listed = (await run("list")).stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { bucket: string; name: string });
    expect(listed).toEqual([expect.objectContaining({ bucket: REF, name: object })]);
    const restored = JSON.parse((await run("restore", object!)).stdout) as { rows: number; restored: number };
    expect(restored).toMatchObject({ rows: 50, restored: 50 });
    expect(await remaining(ids(old))).toBe(50);
  });

  itStandIn("fault injection")(
    "after a crash between upload and delete, a rerun leaves one object per batch and loses or repeats no row",
    async () => {
      const n = 2 * 5_000 + 500;
      const old = await seedExports({ count: n, status: "expired", ageHours: 40 * DAY });
      const before = await snapshot(ids(old));
      await standIn.addFault({ pathPrefix: "/rest/v1/rpc/export_ops_delete_archived_logs", status: 503, times: 1 });
      const clock = fixedClock(new Date().toISOString());
      const crash = await runJob(exportLogCleanup, { prune_metrics: "false" }, { env: env(), ports: s3Ports(env()), clock }).catch(
        (e: unknown) => e,
      );
      expect(crash).toBeInstanceOf(DatabaseError);
      expect(await remaining(ids(old))).toBe(n);
      const afterCrash = await archivedRows();
      expect(afterCrash.objects).toHaveLength(1);

      clock.advance(16 * 60_000); // the dead run's lease expires
      const rerun = await runJob(exportLogCleanup, { prune_metrics: "false" }, { env: env(), ports: s3Ports(env()), clock });
      expect(rerun).toMatchObject({ deleted_count: n, has_more: false });
      expect(rerun.archive_objects).toContain(afterCrash.objects[0]);
      const archived = await archivedRows();
      expect(archived.objects).toHaveLength(3);
      expect(archived.copies).toBe(n);
      for (const [id, row] of before) expect(archived.rows.get(id)).toEqual(row);
    },
  );

  it("lets two runs at once archive and delete each row exactly once", async () => {
    const old = await seedExports({ count: 8_000, status: "expired", ageHours: 40 * DAY });
    const options = { batch_size: "1000", prune_metrics: "false" } as const;
    const [a, b] = await Promise.all([
      runWithoutLease(exportLogCleanup, options, { env: env(), ports: s3Ports(env()) }),
      runWithoutLease(exportLogCleanup, options, { env: env(), ports: s3Ports(env()) }),
    ]);
    expect(a.archived_count + b.archived_count).toBe(8_000);
    expect(a.archived_count).toBeGreaterThan(0);
    expect(b.archived_count).toBeGreaterThan(0);
    const archived = await archivedRows();
    expect(archived.copies).toBe(8_000);
    expect(new Set(archived.rows.keys())).toEqual(new Set(ids(old)));
    expect(await remaining(ids(old))).toBe(0);
  });
});

describe("the S3 store refusing or failing", () => {
  it("refuses a key the store does not take: config_error naming the settings, nothing deleted, no secret shown", async () => {
    const old = await seedExports({ count: 200, status: "expired", ageHours: 40 * DAY });
    const wrong = env({
      EXPORT_ARCHIVE_S3_ACCESS_KEY_ID: "AKIANOTTHEKEY0123456",
      EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY: "not-the-secret-0123456789",
    });
    const error = await runJob(exportLogCleanup, {}, { env: wrong, ports: s3Ports(wrong) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).toJSON()).toMatchObject({ code: "config_error" });
    expect((error as Error).message).toContain("EXPORT_ARCHIVE_S3_ACCESS_KEY_ID and EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY");
    expect(JSON.stringify(error)).not.toMatch(/not-the-secret|AKIANOTTHEKEY/);
    expect(await remaining(ids(old))).toBe(200);

    // detailed health says the same, unhealthy, with no credential in it
    const health = await detailedHealth(s3Ports(wrong).db, jobs, systemClock, {
      stuckHours: 24,
      env: wrong,
      storage: s3Ports(wrong).storage,
    });
    expect(health.status).toBe("unhealthy");
    expect(health.buckets?.find((b) => b.purpose === "archive")).toMatchObject({
      bucket: REF,
      problem: expect.stringContaining("refused the archive credentials"),
    });
    expect(JSON.stringify(health)).not.toMatch(/not-the-secret|AKIANOTTHEKEY/);
  });

  it("refuses a bucket that does not exist, naming EXPORT_ARCHIVE_BUCKET; nothing deleted", async () => {
    const old = await seedExports({ count: 200, status: "expired", ageHours: 40 * DAY });
    const missing = env({ EXPORT_ARCHIVE_BUCKET: "no-such-archive" });
    const error = await runJob(exportLogCleanup, {}, { env: missing, ports: s3Ports(missing) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(
      "bucket s3://no-such-archive does not exist: create it (private), or set EXPORT_ARCHIVE_BUCKET",
    );
    expect(await remaining(ids(old))).toBe(200);
  });

  it("keeps every log when the store answers 500 to the writes, and archives them once it is back", async () => {
    const old = await seedExports({ count: 3_000, status: "expired", ageHours: 40 * DAY });
    s3.fault({ method: "PUT", status: 500 });
    const failed = await runJob(exportLogCleanup, { batch_size: "1000", prune_metrics: "false" }, { env: env(), ports: quickPorts() });
    expect(failed).toMatchObject({ deleted_count: 0, archived_count: 0, has_more: true });
    expect(failed.errors[0]).toMatch(/its 1000 logs were kept: s3 upload failed in bucket s3:\/\/audit-archive: InternalError \(500\)/);
    expect(await remaining(ids(old))).toBe(3_000);
    // every batch released for the next run
    expect((await sql().query("select count(*)::int as n from export_ops_archive_batches where claimed_until > now()")).rows[0].n).toBe(0);

    s3.fault(null);
    const rerun = await runJob(exportLogCleanup, { batch_size: "1000", prune_metrics: "false" }, { env: env(), ports: quickPorts() });
    expect(rerun).toMatchObject({ deleted_count: 3_000, archived_count: 3_000, has_more: false });
    expect((await archivedRows()).copies).toBe(3_000);
  });

  it("keeps every log when the store answers too slowly (the request times out)", async () => {
    const old = await seedExports({ count: 500, status: "expired", ageHours: 40 * DAY });
    s3.fault({ method: "PUT", delayMs: 4_000 });
    const slow = await runJob(exportLogCleanup, { prune_metrics: "false" }, { env: env(), ports: quickPorts() });
    expect(slow).toMatchObject({ deleted_count: 0, archived_count: 0, has_more: true });
    expect(slow.errors[0]).toMatch(/its 500 logs were kept: s3 upload failed/);
    expect(await remaining(ids(old))).toBe(500);
  });
});

describe("erasure on an S3 archive", () => {
  const deps = (e: Env = env()) => stackDeps(e, s3Ports(e));

  async function archivedHistory(): Promise<void> {
    for (let i = 0; i < 10; i += 1) {
      await seedExports({ count: 1, userId: A, status: "expired", ageHours: 40 * DAY + i * 2 });
      await seedExports({ count: 1, userId: B, status: "expired", ageHours: 40 * DAY + i * 2 + 1 });
    }
    const cleanup = await runJob(exportLogCleanup, { batch_size: "10", prune_metrics: "false" }, { env: env(), ports: s3Ports(env()) });
    expect(cleanup).toMatchObject({ archived_count: 20, has_more: false });
  }

  it("rewrites every object without the user; everyone else's rows stay as they were", async () => {
    await archivedHistory();
    const bRows = [...(await archivedRows()).rows.values()].filter((r) => r.user_id === B);

    const result = await eraseUser(deps(), { userId: A });

    expect(result).toMatchObject({
      archive_objects_rewritten: 2,
      archive_rows_removed: 10,
      archive_versions_removed: 0,
      errors: [],
      has_more: false,
    });
    const after = await archivedRows();
    expect(after.objects.every((name) => name.endsWith(".jsonl.gz"))).toBe(true); // no rewrite left beside them
    expect([...after.rows.values()].filter((r) => r.user_id === A)).toEqual([]);
    expect([...after.rows.values()]).toEqual(bRows);
    // again: nothing left to do
    expect(await eraseUser(deps(), { userId: A })).toMatchObject({ archive_rows_removed: 0, errors: [], has_more: false });
  });

  it("in a bucket that keeps versions on a store that cannot list them, says so and keeps the user's rows to retry", async () => {
    await archivedHistory();
    s3.fault({ versioningEnabled: true });
    const before = await archivedRows();
    const result = await eraseUser(deps(), { userId: A });
    expect(result).toMatchObject({ archive_objects_rewritten: 0, has_more: true });
    expect(result.errors.join("\n")).toContain("cannot list object versions (ListObjectVersions: MethodNotAllowed)");
    // refused before anything changed: the objects are as they were
    expect(await archivedRows()).toEqual(before);
    s3.fault(null);
    expect(await eraseUser(deps(), { userId: A })).toMatchObject({ errors: [], has_more: false });
    expect([...(await archivedRows()).rows.values()].filter((r) => r.user_id === A)).toEqual([]);
  });

  it("keeps a copy of the user's logs in the S3 bucket when asked to", async () => {
    const user = randomUUID();
    await seedExports({ count: 3, userId: user, status: "expired", ageHours: 2 * DAY });
    const result = await eraseUser(deps(), { userId: user, keepCopy: true });
    expect(result).toMatchObject({ kept_copy: true, archived_count: 3, logs_deleted: 3 });
    expect(result.archive_objects[0]).toMatch(new RegExp(`^erasure/${user}/`));
    expect((await listArchiveObjects(s3Ports(env()).storage, REF, `erasure/${user}`)).map((o) => o.name)).toEqual(result.archive_objects);
  });
});
