/**
 * Erasure is complete, against the local stack: a user's rows leave every archive object (rewritten, checked,
 * put in place) while everyone else's stay exactly as they were; a crash between rewrite and replace is finished
 * by a rerun; rows in an archive batch another run is writing are waited for and reported truthfully.
 */
import { randomUUID } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { exportFileCleanup } from "../lib/jobs/export-file-cleanup";
import { exportLogCleanup } from "../lib/jobs/export-log-cleanup";
import { decodeArchive } from "../lib/archive/log-archive";
import { eraseUser } from "../lib/erasure/user-erasure";
import { installedHoursAgo, objectNames, ports, resetData, stackDeps, runJob, seedExports, seedOrphans, testEnv } from "./helpers/exports";
import { closeSql, itStandIn, sql, standIn } from "./helpers/stack";

const ARCHIVE = "export-archive";
const env = () => testEnv({ EXPORT_ARCHIVE_BUCKET: ARCHIVE });
const deps = () => stackDeps(env());
const [A, B] = ["0a000000-0000-4000-8000-00000000000a", "0b000000-0000-4000-8000-00000000000b"];

beforeEach(async () => {
  await standIn.clearFaults();
  await resetData();
  await sql().query("truncate export_ops_archive_objects");
});
afterAll(closeSql);

/** Every archive object and its rows. */
async function archives(): Promise<Map<string, Record<string, unknown>[]>> {
  const out = new Map<string, Record<string, unknown>[]>();
  for (const name of [...(await objectNames(ARCHIVE))].sort()) out.set(name, decodeArchive(await ports().storage.download(ARCHIVE, name)));
  return out;
}

/** 30 old logs of A and B interleaved, archived by the monthly cleanup in three objects; B's rows as archived. */
async function archivedHistory(): Promise<Map<string, Record<string, unknown>>> {
  for (let i = 0; i < 15; i += 1) {
    await seedExports({ count: 1, userId: A, status: "expired", ageHours: 40 * 24 + i * 2 });
    await seedExports({ count: 1, userId: B, status: "expired", ageHours: 40 * 24 + i * 2 + 1 });
  }
  const cleanup = await runJob(exportLogCleanup, { batch_size: "10", prune_metrics: "false" }, { env: env() });
  expect(cleanup).toMatchObject({ archived_count: 30, has_more: false });
  const objects = await archives();
  expect(objects.size).toBe(3);
  for (const rows of objects.values()) expect(new Set(rows.map((r) => r.user_id))).toEqual(new Set([A, B]));
  return new Map(
    [...objects.values()]
      .flat()
      .filter((r) => r.user_id === B)
      .map((r) => [String(r.export_id), r]),
  );
}

/** The end state every erasure of A must reach: no row of A anywhere, every row of B as it was. */
async function expectErased(bRows: Map<string, Record<string, unknown>>) {
  const objects = await archives();
  expect([...objects.keys()].every((name) => name.endsWith(".jsonl.gz"))).toBe(true); // no rewrite left behind
  const rows = [...objects.values()].flat();
  expect(rows.filter((r) => r.user_id === A)).toEqual([]);
  expect(new Map(rows.map((r) => [String(r.export_id), r]))).toEqual(bRows);
  const manifest = await sql().query("select name, users, row_count from export_ops_archive_objects order by name");
  expect(manifest.rows.map((m) => m.name)).toEqual([...objects.keys()]);
  expect(manifest.rows.every((m) => m.users.length === 1 && m.users[0] === B && m.row_count === 5)).toBe(true);
  expect((await sql().query("select count(*)::int as n from export_logs where user_id = $1", [A])).rows[0].n).toBe(0);
}

describe("erasure through archives", () => {
  it("removes the user's rows from every archive object and keeps everyone else's, verified", async () => {
    const bRows = await archivedHistory();
    await seedExports({ count: 3, userId: A, status: "expired", ageHours: 5 * 24 }); // not archived yet
    const result = await eraseUser(deps(), { userId: A });
    expect(result).toMatchObject({ logs_deleted: 3, archive_objects_rewritten: 3, archive_rows_removed: 15, errors: [], has_more: false });
    await expectErased(bRows);

    // idempotent: nothing more to do, nothing changes
    expect(await eraseUser(deps(), { userId: A })).toMatchObject({ archive_objects_rewritten: 0, has_more: false });
    await expectErased(bRows);
  });

  itStandIn("fault injection")("finishes after a crash between writing the checked rewrite and replacing the original", async () => {
    const bRows = await archivedHistory();
    const first = [...(await archives()).keys()][0]!;
    // the rewrite of the first object is written, then its read-back fails: the original is never replaced
    await standIn.addFault({ method: "GET", pathPrefix: `/storage/v1/object/${ARCHIVE}/${first}.rewrite`, status: 500, times: 1 });
    const crashed = await eraseUser(deps(), { userId: A });
    expect(crashed.has_more).toBe(true);
    expect(crashed.errors).toEqual([expect.stringMatching(new RegExp(`^archive ${first} still holds the user's rows`))]);
    const midway = await archives();
    expect(midway.get(first)!.some((r) => r.user_id === A)).toBe(true);
    expect([...midway.keys()].filter((name) => name.startsWith(`${first}.rewrite-`))).toHaveLength(1); // named after its run

    const rerun = await eraseUser(deps(), { userId: A });
    expect(rerun).toMatchObject({ archive_objects_rewritten: 1, archive_rows_removed: 5, errors: [], has_more: false });
    await expectErased(bRows);
  });

  it("waits for an archive batch another run is writing, says so, and erases it once written", async () => {
    await seedExports({ count: 4, userId: A, status: "expired", ageHours: 40 * 24 });
    await seedExports({ count: 4, userId: B, status: "expired", ageHours: 40 * 24 });
    // another run has claimed them and is writing their archive object right now
    await sql().query("select export_ops_claim_log_batch(p_bucket => $1, p_limit => 100, p_cutoff => now() - interval '30 days')", [
      ARCHIVE,
    ]);

    const waiting = await eraseUser(deps(), { userId: A });
    expect(waiting).toMatchObject({ logs_deleted: 0, has_more: true });
    expect(waiting.errors).toEqual([expect.stringContaining("4 logs sit in 1 archive batches another run is writing")]);

    // that run dies; the next monthly run takes its batch back and writes it
    await sql().query("update export_ops_archive_batches set claimed_until = now() - interval '1 second'");
    await runJob(exportLogCleanup, { prune_metrics: "false" }, { env: env() });
    const written = [...(await archives()).values()].flat();
    expect(written.filter((r) => r.user_id === A)).toHaveLength(4);

    const done = await eraseUser(deps(), { userId: A });
    expect(done).toMatchObject({ archive_objects_rewritten: 1, archive_rows_removed: 4, has_more: false, errors: [] });
    const rows = [...(await archives()).values()].flat();
    expect(rows.map((r) => r.user_id)).toEqual([B, B, B, B]);
  });

  it("keeping a copy leaves existing archives alone; erasing again without it removes all", async () => {
    const bRows = await archivedHistory();
    await seedExports({ count: 2, userId: A, status: "expired", ageHours: 5 * 24 });
    const held = await eraseUser(deps(), { userId: A, keepCopy: true });
    expect(held).toMatchObject({ kept_copy: true, archived_count: 2, archive_objects_rewritten: 0, has_more: false });
    expect(held.archive_objects).toEqual([expect.stringMatching(new RegExp(`^erasure/${A}/`))]);
    expect([...(await archives()).values()].flat().filter((r) => r.user_id === A)).toHaveLength(17);

    const released = await eraseUser(deps(), { userId: A });
    expect(released).toMatchObject({ archive_objects_rewritten: 4, archive_rows_removed: 17, has_more: false });
    await expectErased(bRows);
  });
});

describe("erasures at the same time", () => {
  const C = "0c000000-0000-4000-8000-00000000000c";
  /** The raw lines of every archive object. */
  const lines = async () => {
    const out: string[] = [];
    for (const name of await objectNames(ARCHIVE))
      out.push(
        ...gunzipSync(await ports().storage.download(ARCHIVE, name))
          .toString("utf8")
          .split("\n")
          .filter(Boolean),
      );
    return out;
  };

  it("of two users whose rows share archive objects leave neither in any object, and everyone else's lines byte for byte", async () => {
    for (let attempt = 0; attempt < 6; attempt += 1) {
      await resetData();
      await sql().query("truncate export_ops_archive_objects");
      for (let i = 0; i < 6; i += 1) {
        for (const [j, user] of [A, B, C].entries())
          await seedExports({ count: 1, userId: user, status: "expired", ageHours: 40 * 24 + i * 3 + j });
      }
      // a size past 2^53 that a parse and re-serialise would change
      await sql().query("update export_logs set file_size_bytes = 9007199254740993 where user_id = $1", [C]);
      await runJob(exportLogCleanup, { batch_size: "9", prune_metrics: "false" }, { env: env() });
      const before = (await lines()).filter((line) => line.includes(C));
      expect(before).toHaveLength(6);
      expect(before.every((line) => line.includes('"file_size_bytes":9007199254740993'))).toBe(true);

      const [a, b] = await Promise.all([eraseUser(deps(), { userId: A }), eraseUser(deps(), { userId: B })]);
      expect([a.errors, b.errors, a.has_more, b.has_more]).toEqual([[], [], false, false]);
      const after = await lines();
      expect(after.filter((line) => line.includes(A) || line.includes(B))).toEqual([]);
      expect(after.sort()).toEqual(before.sort());
      const manifest = await sql().query("select users, row_count, rewrite_run from export_ops_archive_objects");
      expect(manifest.rows.every((m) => m.users.length === 1 && m.users[0] === C && m.rewrite_run === null)).toBe(true);
      expect(manifest.rows.reduce((n, m) => n + m.row_count, 0)).toBe(6);
      expect([...(await objectNames(ARCHIVE))].every((name) => name.endsWith(".jsonl.gz"))).toBe(true);
    }
  });
});

describe("run history and bookkeeping", () => {
  /** Each row of export-ops' own tables whose text names one of `needles` (case aside): table and key. */
  const naming = async (needles: string[]) =>
    (
      await sql().query<{ t: string; k: string }>(
        `select t, k from (
           select 'runs' as t, r.run_id::text as k, concat(r.result::text, ' ', r.error::text) as text from export_ops_runs r
           union all select 'checkins', c.run_id::text || ' ' || c.event, c.error from export_ops_checkins c
           union all select 'alerts', a.alert, concat(a.last_payload::text, ' ', a.notify_error) from export_ops_alerts a
           union all select 'alert_transitions', t.id::text, t.payload::text from export_ops_alert_transitions t
           union all select 'file_cleanup', f.export_id::text, concat_ws(' ', f.last_error, f.quarantine_reason, f.kept_file_for) from export_ops_file_cleanup f
           union all select 'archive_batches', b.batch, b.batch || ' ' || b.export_ids::text from export_ops_archive_batches b
           union all select 'orphan_cursor', o.bucket, o.after from export_ops_orphan_cursor o
         ) x
         where exists (select 1 from unnest($1::text[]) n where strpos(lower(x.text), lower(n)) > 0)
         order by 1, 2`,
        [needles],
      )
    ).rows;

  it("keep nothing of the user's id, export ids or paths, and everything of everyone else's", async () => {
    await installedHoursAgo(24 * 60);
    // A's and B's exports past retention, and an orphan of each: a dry run of the file cleanup names their paths
    const a = await seedExports({ count: 3, userId: A, ageHours: 48, format: "csv", withFiles: true });
    const b = await seedExports({ count: 3, userId: B, ageHours: 48, format: "csv", withFiles: true });
    const [aOrphan] = await seedOrphans({ count: 1, ageHours: 48, userId: A });
    const [bOrphan] = await seedOrphans({ count: 1, ageHours: 48, userId: B });
    // and an export of A's whose log points into B's folder: reported by export id, with a path that is not A's
    const [astray] = await seedExports({ count: 1, userId: A, ageHours: 48, format: "csv", paths: [`${B}/astray.csv`] });
    const dry = await runJob(exportFileCleanup, { dry_run: "true" });
    expect(dry.sample_paths).toEqual(expect.arrayContaining([...a, ...b].map((e) => e.file_path)));
    expect(dry.sample_orphans).toEqual(expect.arrayContaining([aOrphan, bOrphan]));
    expect(dry.errors).toContainEqual(expect.objectContaining({ export_id: astray!.export_id, path: `${B}/astray.csv` }));
    // what else keeps text or ids: a check-in's error, alert state, the file cleanup's notes, a dead archive batch, and
    // the orphan sweep's cursor stopped in A's folder
    const [run] = (await sql().query("select run_id from export_ops_runs")).rows;
    const note = `upstream said: ${a[0]!.file_path} failed`;
    await sql().query(
      "insert into export_ops_checkins (run_id, event, job, provider, delivered, error) values ($1, 'fail', 'export-file-cleanup', 'webhook', false, $2)",
      [run.run_id, note],
    );
    await sql().query("insert into export_ops_alerts (alert, last_payload, notify_error) values ('export_failure_rate', $1, $2)", [
      { message: `see ${A}` },
      note,
    ]);
    await sql().query("insert into export_ops_file_cleanup (export_id, last_error, kept_file_for) values ($1, $2, $3)", [
      b[0]!.export_id,
      note,
      a[1]!.export_id,
    ]);
    await sql().query("insert into export_ops_orphan_cursor (bucket, after) values ('exports', $1)", [a[2]!.file_path]);
    await sql().query("update export_ops_alerts set state = 'firing' where alert = 'export_failure_rate'"); // a transition, with its payload
    const old = await seedExports({ count: 2, userId: A, status: "expired", ageHours: 40 * 24 });
    const oldB = await seedExports({ count: 2, userId: B, status: "expired", ageHours: 40 * 24 });
    await sql().query("select export_ops_claim_log_batch(p_bucket => $1, p_limit => 100, p_cutoff => now() - interval '30 days')", [
      ARCHIVE,
    ]);
    // and an erasure of A's keeping a copy that died while copying the rest of A's logs (a batch named after A)
    await sql().query("select export_ops_claim_log_batch(p_bucket => $1, p_limit => 100, p_user_id => $2)", [ARCHIVE, A]);
    await sql().query("update export_ops_archive_batches set claimed_until = now() - interval '1 minute'"); // their runs died

    const aIds = [A, ...[...a, ...old, astray!].map((e) => e.export_id), aOrphan!.split("/")[1]!.split(".")[0]!];
    const bKept = [B, ...[...b, ...oldB].map((e) => e.export_id), bOrphan!, ...b.map((e) => e.file_path!)];
    const everyTable = ["alert_transitions", "alerts", "archive_batches", "checkins", "file_cleanup", "orphan_cursor", "runs"];
    expect([...new Set((await naming(aIds)).map((r) => r.t))]).toEqual(everyTable);
    const bBefore = await naming(bKept);

    // a dry run says how many rows would change, and changes none
    const preview = await eraseUser(deps(), { userId: A, dryRun: true });
    expect(preview.history_scrubbed).toBeGreaterThanOrEqual(everyTable.length);
    expect([...new Set((await naming(aIds)).map((r) => r.t))]).toEqual(everyTable);

    // (A's erasure batch goes only at the end, once the erasure has deleted its logs: one row more than the preview)
    const result = await eraseUser(deps(), { userId: A });
    expect(result).toMatchObject({ has_more: false, history_scrubbed: preview.history_scrubbed + 1 });
    expect(await naming(aIds)).toEqual([]);
    // B's are all still there: paths in the run, ids in the dead batch (theirs, waiting to be archived)
    expect(await naming(bKept)).toEqual(bBefore);
    const [history] = (await sql().query("select result from export_ops_runs where run_id = $1", [run.run_id])).rows;
    expect(history.result.sample_paths).toEqual(expect.arrayContaining(b.map((e) => e.file_path)));
    expect(history.result.sample_paths).toContain("[erased]/[erased].csv");
    expect(history.result.errors).toContainEqual(expect.objectContaining({ export_id: "[erased]", path: `${B}/astray.csv` }));
    const batches = (await sql().query("select batch, export_ids from export_ops_archive_batches")).rows;
    expect(batches).toHaveLength(1); // A's erasure batch is gone
    expect([...batches[0].export_ids].sort()).toEqual(oldB.map((e) => e.export_id).sort());
    // the sweep picks up before A's folder, not after a name in it
    const [cursor] = (await sql().query("select after from export_ops_orphan_cursor where bucket = 'exports'")).rows;
    expect(cursor.after < `${A}/`).toBe(true);

    // a second erasure finds nothing more to scrub
    expect(await eraseUser(deps(), { userId: A })).toMatchObject({ history_scrubbed: 0 });
  });
});

describe("a dry run", () => {
  it("reports what the run would do, and changes nothing", async () => {
    const bRows = await archivedHistory();
    await seedExports({ count: 3, userId: A, status: "expired", ageHours: 5 * 24 });
    await sql().query(
      `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms)
       select gen_random_uuid(), $1, 'json', 'completed', 1, 'small', 10 from generate_series(1, 4)`,
      [A],
    );
    const manifest = async () =>
      (await sql().query("select name, users, row_count, version from export_ops_archive_objects order by name")).rows;
    const stateBefore = [await manifest(), await archives()];
    const dry = await eraseUser(deps(), { userId: A, dryRun: true });
    expect(dry).toMatchObject({
      dry_run: true,
      logs_deleted: 3,
      metrics_deleted: 4,
      archive_objects_rewritten: 3,
      archive_rows_removed: 15,
      has_more: false,
    });
    expect([await manifest(), await archives()]).toEqual(stateBefore);
    const real = await eraseUser(deps(), { userId: A });
    expect(real).toMatchObject({
      dry_run: false,
      logs_deleted: dry.logs_deleted,
      metrics_deleted: dry.metrics_deleted,
      archive_rows_removed: dry.archive_rows_removed,
    });
    await expectErased(bRows);
  });
});

it("knows nothing of an unrelated user id", async () => {
  const result = await eraseUser(deps(), { userId: randomUUID() });
  expect(result).toMatchObject({ files_found: 0, logs_deleted: 0, archive_objects: [], has_more: false });
});
