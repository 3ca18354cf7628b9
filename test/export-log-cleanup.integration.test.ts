/**
 * The monthly log cleanup (with and without archival) and per-user erasure against the local stack.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { DatabaseError, ValidationError } from "../lib/errors";
import { exportLogCleanup } from "../lib/jobs/export-log-cleanup";
import { ARCHIVE_BATCH, decodeArchive, restoreArchive } from "../lib/archive/log-archive";
import { eraseUser } from "../lib/erasure/user-erasure";
import { fixedClock, tickingClock } from "./doubles";
import {
  addObjects,
  installedHoursAgo,
  objectNames,
  ports,
  resetData,
  runJob,
  runWithoutLease,
  seedExports,
  seedOrphans,
  stackDeps,
  testEnv,
} from "./helpers/exports";
import { closeSql, itStandIn, sql, standIn } from "./helpers/stack";

const ARCHIVE = "export-archive";
const archiveEnv = () => testEnv({ EXPORT_ARCHIVE_BUCKET: ARCHIVE });
const DAY = 24;

/** Rows as an archive holds them: every column of export_logs. */
async function snapshot(ids: string[]): Promise<Map<string, string>> {
  const { rows } = await sql().query(
    `select export_id, to_jsonb(l) as row
     from export_logs l where export_id = any($1)`,
    [ids],
  );
  return new Map(rows.map((r) => [r.export_id, JSON.stringify(r.row)]));
}

/** Every row in every archive object, keyed by export_id, with the number of times each appears. */
async function archivedRows(): Promise<{ rows: Map<string, Record<string, unknown>>; copies: number; objects: string[] }> {
  const storage = ports().storage;
  const objects = [...(await objectNames(ARCHIVE))].sort();
  const rows = new Map<string, Record<string, unknown>>();
  let copies = 0;
  for (const name of objects) {
    for (const row of decodeArchive(await storage.download(ARCHIVE, name))) {
      rows.set(String(row.export_id), row);
      copies += 1;
    }
  }
  return { rows, copies, objects };
}

async function remaining(ids: string[]): Promise<number> {
  const { rows } = await sql().query("select count(*)::int as n from export_logs where export_id = any($1)", [ids]);
  return rows[0].n;
}

const ids = (rows: { export_id: string }[]) => rows.map((r) => r.export_id);

/** Compares two JSON rows by value (Postgres and JavaScript may order keys differently). */
const sameRow = (a: string, b: Record<string, unknown>) => expect(b).toEqual(JSON.parse(a));

beforeEach(async () => {
  await resetData();
  await standIn.clearFaults();
});
afterAll(closeSql);

describe("export-log-cleanup with archival", () => {
  it("archives and deletes 25,000 old logs across batches; the archives hold exactly the deleted rows", async () => {
    const old = [
      ...(await seedExports({ count: 24_800, status: "expired", ageHours: 40 * DAY })),
      ...(await seedExports({ count: 200, status: "failed", ageHours: 45 * DAY })),
    ];
    const recent = await seedExports({ count: 300, status: "expired", ageHours: 10 * DAY });
    const withFiles = await seedExports({ count: 50, status: "completed", ageHours: 35 * DAY, withFiles: true });
    const before = await snapshot(ids(old));

    const result = await runJob(exportLogCleanup, {}, { env: archiveEnv() });

    expect(result).toMatchObject({
      total_eligible: 25_000,
      kept_with_files: 50,
      deleted_count: 25_000,
      archived_count: 25_000,
      errors: [],
      has_more: false,
    });
    expect(result.archive_objects).toHaveLength(Math.ceil(25_000 / ARCHIVE_BATCH));
    expect(await remaining(ids(old))).toBe(0);
    expect(await remaining(ids(recent))).toBe(300);
    expect(await remaining(ids(withFiles))).toBe(50);

    const archived = await archivedRows();
    expect(archived.objects).toEqual([...result.archive_objects].sort());
    expect(archived.copies).toBe(25_000);
    expect(new Set(archived.rows.keys())).toEqual(new Set(before.keys()));
    for (const [id, row] of before) sameRow(row, archived.rows.get(id)!);
  });

  itStandIn("fault injection")(
    "deletes nothing of a batch whose archive upload failed, and the next run finishes with one object per batch",
    async () => {
      const n = 2 * ARCHIVE_BATCH + 2000;
      const old = await seedExports({ count: n, status: "expired", ageHours: 40 * DAY });
      await standIn.addFault({ method: "POST", pathPrefix: `/storage/v1/object/${ARCHIVE}/`, status: 500, times: 1 });
      const clock = fixedClock(new Date().toISOString());

      const failed = await runJob(exportLogCleanup, {}, { env: archiveEnv(), clock });
      expect(failed).toMatchObject({ deleted_count: 0, archived_count: 0, has_more: true });
      expect(failed.errors).toHaveLength(1);
      expect(failed.errors[0]).toMatch(
        new RegExp(`^archive logs/.*\\.jsonl\\.gz not written or not verified, its ${ARCHIVE_BATCH} logs were kept`),
      );
      expect(await remaining(ids(old))).toBe(n);

      const rerun = await runJob(exportLogCleanup, {}, { env: archiveEnv(), clock });
      expect(rerun).toMatchObject({ deleted_count: n, archived_count: n, has_more: false });
      // the failed batch was retried under its own name
      expect(rerun.archive_objects).toContain(failed.errors[0]!.match(/^archive (\S+) /)![1]);
      const archived = await archivedRows();
      expect(archived.objects).toHaveLength(3);
      expect(archived.copies).toBe(n);
    },
  );

  itStandIn("fault injection")(
    "after a crash between upload and delete, a rerun leaves one archive object per batch and loses or repeats no row",
    async () => {
      const n = 2 * ARCHIVE_BATCH + 1000;
      const old = await seedExports({ count: n, status: "expired", ageHours: 40 * DAY });
      const before = await snapshot(ids(old));
      // the process dies after writing the first batch's archive, before deleting its rows
      await standIn.addFault({ pathPrefix: "/rest/v1/rpc/export_ops_delete_archived_logs", status: 503, times: 1 });
      const clock = fixedClock(new Date().toISOString());
      const crash = await runJob(exportLogCleanup, {}, { env: archiveEnv(), clock }).catch((e: unknown) => e);
      expect(crash).toBeInstanceOf(DatabaseError);
      expect(await remaining(ids(old))).toBe(n);
      const afterCrash = await archivedRows();
      expect(afterCrash.objects).toHaveLength(1);

      clock.advance(16 * 60_000); // the dead run's lease expires
      const rerun = await runJob(exportLogCleanup, {}, { env: archiveEnv(), clock });
      expect(rerun).toMatchObject({ deleted_count: n, has_more: false });
      // the object written before the crash was written again under its own name
      expect(rerun.archive_objects).toContain(afterCrash.objects[0]);

      const archived = await archivedRows();
      expect(archived.objects).toHaveLength(3);
      expect(archived.copies).toBe(n);
      for (const [id, row] of before) sameRow(row, archived.rows.get(id)!);
      expect(await remaining(ids(old))).toBe(0);
    },
  );

  it("lets two concurrent runs delete only rows that are archived, each exactly once", async () => {
    const old = await seedExports({ count: 20_000, status: "expired", ageHours: 40 * DAY });
    const before = await snapshot(ids(old));

    // outside the runner, so the job's lease does not turn one away: the claims alone must keep them apart
    const [a, b] = await Promise.all([
      runWithoutLease(exportLogCleanup, { batch_size: "2000" }, { env: archiveEnv() }),
      runWithoutLease(exportLogCleanup, { batch_size: "2000" }, { env: archiveEnv() }),
    ]);

    expect(a.deleted_count + b.deleted_count).toBe(20_000);
    expect(a.archived_count + b.archived_count).toBe(20_000);
    expect(a.deleted_count).toBeGreaterThan(0);
    expect(b.deleted_count).toBeGreaterThan(0);
    const archived = await archivedRows();
    expect(archived.copies).toBe(20_000);
    expect(new Set(archived.rows.keys())).toEqual(new Set(before.keys()));
    expect(await remaining(ids(old))).toBe(0);
  });

  it("walks through a run of logs with equal times across batches, archiving each once", async () => {
    const old = await seedExports({ count: 25, status: "expired", ageHours: 40 * DAY });
    await sql().query("update export_logs set created_at = now() - interval '40 days' where export_id = any($1)", [ids(old)]);
    const before = await snapshot(ids(old));

    const result = await runJob(exportLogCleanup, { batch_size: "10" }, { env: archiveEnv() });

    expect(result).toMatchObject({ deleted_count: 25, archived_count: 25, has_more: false });
    expect(result.archive_objects).toHaveLength(3);
    const archived = await archivedRows();
    expect(archived.copies).toBe(25);
    for (const [id, row] of before) sameRow(row, archived.rows.get(id)!);
  });

  it("archives and deletes a batch's logs only as the batch read them: a log changed since is in neither, and stays", async () => {
    const old = await seedExports({ count: 5, status: "failed", ageHours: 40 * DAY });
    const { rows } = await sql().query(
      "select export_ops_claim_log_batch(p_bucket => $1, p_limit => 10, p_cutoff => now() - interval '30 days') as c",
      [ARCHIVE],
    );
    const batch = rows[0].c.batch as string;
    // the host app edits one of them after the batch was taken
    await sql().query("update export_logs set error_message = 'retried by support' where export_id = $1", [old[0]!.export_id]);

    const text = await sql().query("select export_ops_archive_batch_text($1) as t", [batch]);
    const inArchive = (text.rows[0].t as string)
      .split("\n")
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { export_id: string }).export_id);
    expect(inArchive.sort()).toEqual(ids(old).slice(1).sort());
    const deleted = await sql().query("select export_ops_delete_archived_logs($1) as n", [batch]);

    expect(deleted.rows[0].n).toBe(4);
    const left = await sql().query("select export_id, error_message from export_logs where export_id = any($1)", [ids(old)]);
    expect(left.rows).toEqual([{ export_id: old[0]!.export_id, error_message: "retried by support" }]);
    const claims = await sql().query("select count(*)::int as n from export_ops_archive_batches");
    expect(claims.rows[0].n).toBe(0);
  });

  it("restores an archive object into the table", async () => {
    const old = await seedExports({ count: 30, status: "failed", ageHours: 40 * DAY });
    const before = await snapshot(ids(old));
    const result = await runJob(exportLogCleanup, {}, { env: archiveEnv() });
    expect(await remaining(ids(old))).toBe(0);

    const restored = await restoreArchive(ports(), ARCHIVE, result.archive_objects[0]!);
    expect(restored).toEqual({ rows: 30, restored: 30 });
    expect(await snapshot(ids(old))).toEqual(before);
    expect(await restoreArchive(ports(), ARCHIVE, result.archive_objects[0]!)).toEqual({ rows: 30, restored: 0 });
  });

  it.each([1, 2, 4])(
    "with concurrency=%i, never holds more batches claimed and not yet deleted, and archives every log once",
    async (concurrency) => {
      const old = await seedExports({ count: 3000, status: "expired", ageHours: 40 * DAY });
      const base = ports();
      let open = 0;
      let most = 0;
      const untyped = base.db as unknown as { call(fn: string, args: Record<string, unknown>): Promise<unknown> };
      const db = {
        // a batch is in flight from its claim's request until its logs' delete answers (or the claim comes back empty)
        call: async (fn: string, args: Record<string, unknown> = {}) => {
          if (fn === "export_ops_claim_log_batch") most = Math.max(most, ++open);
          const answer = (await untyped.call(fn, args)) as { batch?: unknown };
          if (fn === "export_ops_delete_archived_logs" || (fn === "export_ops_claim_log_batch" && !answer.batch)) open -= 1;
          return answer;
        },
      } as unknown as typeof base.db;

      const result = await runJob(
        exportLogCleanup,
        { batch_size: "500", concurrency: String(concurrency), prune_metrics: "false" },
        { env: archiveEnv(), ports: { ...base, db } },
      );

      expect(result).toMatchObject({ deleted_count: 3000, archived_count: 3000, has_more: false });
      expect(most).toBe(concurrency); // 6 batches of 500: each setting reaches its bound, and none passes it
      const archived = await archivedRows();
      expect(archived.copies).toBe(3000);
      expect(await remaining(ids(old))).toBe(0);
    },
  );

  it.each(["0", "5", "2.5"])("refuses concurrency=%j, naming the option, and deletes nothing", async (value) => {
    const old = await seedExports({ count: 10, status: "expired", ageHours: 40 * DAY });
    await expect(runJob(exportLogCleanup, { concurrency: value }, { env: archiveEnv() })).rejects.toThrow(/concurrency/);
    expect(await remaining(ids(old))).toBe(10);
  });
});

describe("an archive bucket that refuses archive objects", () => {
  it.each([
    ["a MIME type other than gzip", "{text/plain}", null, /refuses application\/gzip: add it to the bucket's allowed MIME types/],
    [
      "a file size limit below an archive object",
      "{application/gzip}",
      100,
      /over the file size limit of the archive bucket narrow-archive: raise/,
    ],
  ])(
    "stops archival with an error naming the bucket and the setting when it allows only %s, deleting nothing",
    async (_, mime, size, message) => {
      await sql().query(
        "insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types) values ('narrow-archive', 'narrow-archive', false, $2, $1) on conflict (id) do update set file_size_limit = excluded.file_size_limit, allowed_mime_types = excluded.allowed_mime_types",
        [mime, size],
      );
      const old = await seedExports({ count: 30, status: "expired", ageHours: 40 * DAY });
      const result = await runJob(
        exportLogCleanup,
        { prune_metrics: "false" },
        { env: testEnv({ EXPORT_ARCHIVE_BUCKET: "narrow-archive" }) },
      );
      expect(result).toMatchObject({ deleted_count: 0, archived_count: 0, has_more: true });
      expect(result.errors).toEqual([expect.stringMatching(message)]);
      expect(result.errors[0]).toContain("narrow-archive");
      expect(await remaining(ids(old))).toBe(30);
      const run = await sql().query("select status from export_ops_runs where job = 'export-log-cleanup' order by started_at desc limit 1");
      expect(run.rows[0].status).toBe("failed");
    },
  );
});

describe("export-log-cleanup without archival", () => {
  it("deletes eligible logs in short batches and keeps newer ones and ones whose files still exist", async () => {
    const old = await seedExports({ count: 12_345, status: "expired", ageHours: 31 * DAY });
    const neverFiled = await seedExports({ count: 10, status: "queued", ageHours: 60 * DAY, paths: Array(10).fill(null) });
    const recent = await seedExports({ count: 100, status: "failed", ageHours: 29 * DAY });
    const withFiles = await seedExports({ count: 20, status: "completed", ageHours: 60 * DAY, withFiles: true });

    const result = await runJob(exportLogCleanup, { batch_size: "5000" });

    expect(result).toMatchObject({
      total_eligible: 12_355,
      kept_with_files: 20,
      deleted_count: 12_355,
      archived_count: 0,
      archive_objects: [],
      has_more: false,
    });
    expect(await remaining([...ids(old), ...ids(neverFiled)])).toBe(0);
    expect(await remaining(ids(recent))).toBe(100);
    expect(await remaining(ids(withFiles))).toBe(20);
    expect((await objectNames()).size).toBe(20);
  });

  it("dry run reports counts, age range and size from Postgres, and deletes nothing", async () => {
    await seedExports({ count: 500, status: "expired", ageHours: 40 * DAY });
    await seedExports({ count: 5, status: "completed", ageHours: 40 * DAY, withFiles: true });

    const result = await runJob(exportLogCleanup, { dry_run: "true" });

    expect(result).toMatchObject({ dry_run: true, total_eligible: 500, kept_with_files: 5, deleted_count: 0 });
    expect(result.stats).toMatchObject({ logs_eligible: 500, logs_kept_with_files: 5 });
    expect(result.stats!.logs_bytes).toBeGreaterThan(500 * 100);
    expect(new Date(result.stats!.oldest_log!).getTime()).toBeLessThanOrEqual(new Date(result.stats!.newest_log!).getTime());
    const { rows } = await sql().query("select count(*)::int as n from export_logs");
    expect(rows[0].n).toBe(505);
  });

  it("stops at its time budget with has_more, and the next run continues", async () => {
    const old = await seedExports({ count: 3000, status: "expired", ageHours: 40 * DAY });
    const clock = tickingClock(60_000); // each reading a minute later: the budget allows the first few batches
    const first = await runJob(exportLogCleanup, { batch_size: "500" }, { clock, deadline: clock.start + 5 * 60_000 });
    expect(first.has_more).toBe(true);
    expect(first.deleted_count).toBeGreaterThan(0);
    expect(first.deleted_count).toBeLessThan(3000);
    const second = await runJob(exportLogCleanup, { batch_size: "500" });
    expect(first.deleted_count + second.deleted_count).toBe(3000);
    expect(await remaining(ids(old))).toBe(0);
  });

  it.each([
    ["without archival", () => testEnv()],
    ["with archival", () => archiveEnv()],
  ])("paced by nice_ratio %s, rests between batches and still deletes every eligible log", async (_, runEnv) => {
    const old = await seedExports({ count: 3000, status: "expired", ageHours: 40 * DAY });

    const result = await runJob(exportLogCleanup, { batch_size: "500", nice_ratio: "1", prune_metrics: "false" }, { env: runEnv() });

    expect(result).toMatchObject({ deleted_count: 3000, has_more: false });
    expect(result.rested_ms).toBeGreaterThan(0);
    expect(result.rested_ms).toBeLessThanOrEqual(result.duration_ms);
    expect(await remaining(ids(old))).toBe(0);
  });

  it("prunes raw metrics past their retention only in hours already rolled up; rollups stay", async () => {
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 100 * DAY * 3_600_000);
    await sql().query(
      `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms, recorded_at)
       select gen_random_uuid(), gen_random_uuid(), 'json', 'completed', 1, 'small', 100, $1::timestamptz + (g % 2) * interval '1 hour' + interval '1 minute'
       from generate_series(1, 40) g`,
      [hour],
    );
    await sql().query("insert into export_ops_metric_hours (hour, total, completed, failed) values ($1, 20, 20, 0)", [hour]);

    const result = await runJob(exportLogCleanup, {});

    expect(result.metrics_deleted).toBe(20);
    const { rows } = await sql().query("select count(*)::int as n from export_metrics");
    expect(rows[0].n).toBe(20); // the hour without a rollup keeps its raw rows
    const hours = await sql().query("select count(*)::int as n from export_ops_metric_hours");
    expect(hours.rows[0].n).toBe(1);
  });
});

describe("per-user erasure", () => {
  const deps = (env = testEnv()) => stackDeps(env);

  /** 12 logs (7 with files), their metrics, a file whose log is gone (its metric remains), and a file of the host's. */
  async function userWithData(userId: string) {
    await installedHoursAgo(200);
    const logs = [
      ...(await seedExports({ count: 7, userId, ageHours: 2, withFiles: true })),
      ...(await seedExports({ count: 5, userId, status: "expired", ageHours: 50 * DAY })),
    ];
    await sql().query(
      `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms)
       select export_id, user_id, 'jsonl', 'completed', 1, 'small', 10 from export_logs where user_id = $1`,
      [userId],
    );
    const [gone] = await seedOrphans({ count: 1, ageHours: 100, knownBy: "metric", userId });
    // named like an export, but of none export-ops knew: the host app's own
    const hostOwn = `${userId}/${randomUUID()}.csv`;
    await addObjects([hostOwn], 100);
    return { logs, gone: gone!, hostOwn };
  }

  async function holdings(userId: string) {
    const logs = await sql().query("select count(*)::int as n from export_logs where user_id = $1", [userId]);
    const metrics = await sql().query("select count(*)::int as n from export_metrics where user_id = $1", [userId]);
    const files = [...(await objectNames())].filter((n) => n.startsWith(`${userId}/`));
    return { logs: logs.rows[0].n, metrics: metrics.rows[0].n, files: files.length };
  }

  it("removes exactly one user's logs, metrics and files, and nothing of anyone else's", async () => {
    const [alice, bob] = [randomUUID(), randomUUID()];
    const { gone, hostOwn } = await userWithData(alice);
    await userWithData(bob);
    const bobBefore = await holdings(bob);

    const result = await eraseUser(deps(), { userId: alice });

    expect(result).toMatchObject({
      user_id: alice,
      files_found: 13,
      files_deleted: 8,
      logs_deleted: 12,
      metrics_deleted: 13,
      errors: [],
      has_more: false,
    });
    expect(result.files_left).toEqual([hostOwn]);
    expect(await holdings(alice)).toEqual({ logs: 0, metrics: 0, files: 1 });
    expect((await objectNames()).has(gone)).toBe(false);
    expect((await objectNames()).has(hostOwn)).toBe(true);
    expect(await holdings(bob)).toEqual(bobBefore);
    expect(bobBefore).toEqual({ logs: 12, metrics: 13, files: 9 });
  });

  it("keeps a copy of the user's logs in the archive bucket when asked to, and only then", async () => {
    const alice = randomUUID();
    const { logs } = await userWithData(alice);
    const before = await snapshot(ids(logs));
    const result = await eraseUser(deps(archiveEnv()), { userId: alice, keepCopy: true });
    expect(result).toMatchObject({ logs_deleted: 12, archived_count: 12, kept_copy: true });
    expect(result.archive_objects).toHaveLength(1);
    expect(result.archive_objects[0]).toMatch(new RegExp(`^erasure/${alice}/.*\\.jsonl\\.gz$`));
    const archived = await archivedRows();
    for (const [id, row] of before) sameRow(row, archived.rows.get(id)!);
  });

  it("reports without deleting in a dry run", async () => {
    const alice = randomUUID();
    await userWithData(alice);
    const result = await eraseUser(deps(), { userId: alice, dryRun: true });
    // what the run would delete, counted; nothing deleted
    expect(result).toMatchObject({ dry_run: true, files_found: 13, logs_deleted: 12, metrics_deleted: 13 });
    expect(await holdings(alice)).toEqual({ logs: 12, metrics: 13, files: 9 });
  });

  it.each(["", "42", "not-a-uuid", "'; delete from export_logs; --", `${randomUUID()}/..`])(
    "refuses the malformed id %j, deleting nothing",
    async (bad) => {
      const alice = randomUUID();
      await userWithData(alice);
      const error = await eraseUser(deps(), { userId: bad }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toBe("Invalid user id: must be a UUID");
      expect(await holdings(alice)).toEqual({ logs: 12, metrics: 13, files: 9 });
    },
  );
});

describe("side rows", () => {
  it("go with their log whoever deletes it, one statement for many logs, and no other log's side rows go", async () => {
    const logs = await seedExports({ count: 3000, status: "expired", ageHours: 40 * DAY });
    const [gone, kept] = [ids(logs.slice(0, 2500)), ids(logs.slice(2500))];
    await sql().query("insert into export_ops_file_cleanup (export_id) select unnest($1::uuid[])", [[...gone, ...kept]]);
    // the host app deletes logs itself
    await sql().query("delete from export_logs where export_id = any($1::uuid[])", [gone]);
    const { rows } = await sql().query<{ id: string }>("select export_id as id from export_ops_file_cleanup");
    expect(rows.map((r) => r.id).sort()).toEqual([...kept].sort());
  });
});
