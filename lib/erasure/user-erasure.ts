/**
 * Per-user erasure, for a deletion request: deletes one user's export files (those export-ops knows: the paths
 * their logs name, and in their folder what was written after the install, in a bucket export-ops created or named
 * after one of their exports; the host app's own files are left and listed), export logs and raw export metrics,
 * and removes their rows from every archive object that holds any (found in the archive manifest). Files go
 * first, through the same path checks as the file cleanup, so a crash leaves logs that still point at any file
 * not yet deleted. Each archive object is rewritten without the user's rows, the rewrite read back and checked,
 * and only then put in place of the original (lib/archive/archive-rewrite.ts); a crash at any step leaves either
 * the original or the checked rewrite, and running the erasure again finishes. Logs in an archive batch another run is still writing are
 * waited for: the result says `has_more` until that batch is written and rewritten too.
 *
 * Their id, their exports' ids and paths also leave export-ops' run history and bookkeeping (export_ops_runs'
 * results and errors, check-in and alert notes, the file cleanup's notes, dead archive batches, the orphan sweep's
 * cursor): once before anything is deleted, while their logs still say which exports are theirs, and once at the
 * end, for whatever a run wrote meanwhile.
 *
 * With `keepCopy` (a team's reason may be a legal hold), the user's logs are first copied to the archive bucket
 * under `erasure/<user_id>/` and their existing archive objects are left as they are: a copy is kept on purpose.
 * Erasing again without it removes that copy too.
 */
import { randomUUID } from "node:crypto";
import * as z from "zod";
import { countInArchiveObject, eraseFromArchives } from "../archive/archive-rewrite";
import { deleteLogsInBatches } from "../archive/log-archive";
import { deleteMetricsInBatches } from "../batches/metrics";
import { archiveBucketOf, assertBucketsUsable, type VersionedBucketState } from "../files/buckets";
import { formatOfExtension, unsafePathReason } from "../files/export-paths";
import { filesInBucket } from "../files/versions";
import { ValidationError } from "../errors";
import { MAX_NAMES_PER_DELETE, sqlTime, type JobDeps } from "../ports";
import type { SqlResult } from "../sql-contract";

export const userIdSchema = z.guid({ error: "must be a UUID" });

export interface ErasureResult {
  user_id: string;
  files_found: number;
  files_deleted: number;
  /** Other objects in the user's folder, left alone: the host app's own (up to 50 names). */
  files_left: string[];
  logs_deleted: number;
  /** Logs copied to the archive bucket to keep a copy (0 otherwise). */
  archived_count: number;
  metrics_deleted: number;
  archive_objects: string[];
  /** Archive objects rewritten without the user's rows (or deleted, when only their rows were in them). */
  archive_objects_rewritten: number;
  archive_rows_removed: number;
  /** Old versions of rewritten archive objects deleted: in a bucket that keeps versions, they held the user's rows. */
  archive_versions_removed: number;
  /** A copy of the user's logs was kept on purpose (`keepCopy`). */
  kept_copy: boolean;
  /** Rows of run history and bookkeeping that named the user or one of their exports, rewritten without them. */
  history_scrubbed: number;
  errors: string[];
  /** Something of the user is still stored: in an archive batch being written, or after an error. Run again. */
  has_more: boolean;
  dry_run: boolean;
}

type Deps = Pick<JobDeps, "db" | "storage" | "clock" | "logger" | "deadline" | "env">;

type ErasureState = SqlResult<"export_ops_user_erasure_state">;

/** Takes the user out of run history and bookkeeping (with `dryRun`, counts what would change): the rows changed. */
async function scrubHistory({ db, clock }: Pick<Deps, "db" | "clock">, userId: string, dryRun: boolean): Promise<number> {
  const changed = await db.call("export_ops_erase_user_history", { p_user_id: userId, p_dry_run: dryRun, ...sqlTime(clock) });
  return Object.values(changed).reduce((a, b) => a + b, 0);
}

export async function eraseUser(deps: Deps, input: { userId: string; dryRun?: boolean; keepCopy?: boolean }): Promise<ErasureResult> {
  const parsed = userIdSchema.safeParse(input.userId);
  if (!parsed.success) throw new ValidationError("Invalid user id: must be a UUID", { field: "user_id" });
  const userId = parsed.data.toLowerCase();
  const keepCopy = input.keepCopy ?? false;
  if (keepCopy && !deps.env.EXPORT_ARCHIVE_BUCKET)
    throw new ValidationError("Keeping a copy needs EXPORT_ARCHIVE_BUCKET: the copy is kept there");
  const plan = await planErasure(deps, userId, keepCopy);
  if (input.dryRun) return countErasure(deps, plan);
  const result = await erase(deps, plan);
  deps.logger.info(
    { type: "user_erasure", ...result, archive_objects: result.archive_objects.length, files_left: result.files_left.length },
    `user erasure: ${result.files_deleted} files, ${result.logs_deleted} logs, ${result.metrics_deleted} metrics, ${result.archive_rows_removed} archived rows${result.has_more ? " (more left: run again)" : ""}`,
  );
  return result;
}

interface ErasurePlan {
  userId: string;
  keepCopy: boolean;
  exportsBucket: VersionedBucketState;
  /** The user's files export-ops knows, and of those the ones in their own folder, in the export layout. */
  files: string[];
  safe: string[];
  before: ErasureState;
  result: ErasureResult;
}

/** What there is to erase: the buckets checked, the user's files, and where their rows are; changes nothing. */
async function planErasure(deps: Deps, userId: string, keepCopy: boolean): Promise<ErasurePlan> {
  const { db, storage, env, clock } = deps;
  // it deletes from the exports bucket and rewrites archive objects
  const [[exportsBucket], formats, listed, before] = await Promise.all([
    assertBucketsUsable(db, storage, env, ["exports", "archive"]),
    db.call("export_ops_formats"),
    db.call("export_ops_user_files", { p_user_id: userId, p_bucket: env.EXPORTS_BUCKET }),
    db.call("export_ops_user_erasure_state", { p_user_id: userId, ...sqlTime(clock) }),
  ]);
  // in a bucket that keeps versions, a name is listed once per version
  const files = [...new Set(listed.filter((f) => f.known).map((f) => f.name))];
  // only the user's own folder, in the export layout: a log pointing elsewhere is reported, never followed
  const formatOf = (name: string) => formatOfExtension(formats, name.slice(name.lastIndexOf(".") + 1)) ?? "";
  const safe = files.filter((name) => unsafePathReason(name, formats, { user_id: userId, format: formatOf(name) }) === null);
  const result: ErasureResult = {
    user_id: userId,
    files_found: files.length,
    files_deleted: 0,
    files_left: [...new Set(listed.filter((f) => !f.known).map((f) => f.name.slice(0, 200)))].slice(0, 50),
    logs_deleted: 0,
    archived_count: 0,
    metrics_deleted: 0,
    archive_objects: keepCopy ? [] : before.archive_objects.map((o) => o.name),
    archive_objects_rewritten: 0,
    archive_rows_removed: 0,
    archive_versions_removed: 0,
    kept_copy: keepCopy,
    history_scrubbed: 0,
    errors: files.filter((f) => !safe.includes(f)).map((f) => `not deleted, outside the user's export folder: ${f.slice(0, 200)}`),
    has_more: false,
    dry_run: false,
  };
  return { userId, keepCopy, exportsBucket: exportsBucket!, files, safe, before, result };
}

/** A dry run: what the erasure would do, counted without changing anything. */
async function countErasure(deps: Deps, { userId, keepCopy, safe, before, result }: ErasurePlan): Promise<ErasureResult> {
  const objects = keepCopy ? [] : before.archive_objects.filter((o) => !o.in_flight);
  const logs = before.logs_left - before.logs_in_flight;
  const rows = await Promise.all(objects.map((o) => countInArchiveObject(deps, userId, o)));
  return Object.assign(result, {
    dry_run: true,
    files_deleted: safe.length,
    logs_deleted: logs,
    archived_count: keepCopy ? logs : 0,
    metrics_deleted: before.metrics_left,
    archive_objects_rewritten: objects.length,
    archive_rows_removed: rows.reduce((a, b) => a + b, 0),
    history_scrubbed: await scrubHistory(deps, userId, true),
    has_more: before.logs_in_flight > 0 || before.archive_objects.some((o) => o.in_flight),
  });
}

/** Files, then logs (copied first when a copy is kept), metrics, the archive, and the history twice around them. */
async function erase(deps: Deps, { userId, keepCopy, exportsBucket, safe, result }: ErasurePlan): Promise<ErasureResult> {
  const { db, storage, env, clock } = deps;
  // while their logs and metrics still say which exports were theirs
  result.history_scrubbed += await scrubHistory(deps, userId, false);
  const exportFiles = filesInBucket(storage, exportsBucket);
  for (let i = 0; i < safe.length; i += MAX_NAMES_PER_DELETE) {
    result.files_deleted += (await exportFiles.remove(safe.slice(i, i + MAX_NAMES_PER_DELETE))).length;
  }
  const logs = await deleteLogsInBatches(deps, { userId }, { archiveBucket: keepCopy ? archiveBucketOf(env) : undefined });
  Object.assign(result, { logs_deleted: logs.deleted, archived_count: logs.archived });
  if (keepCopy) result.archive_objects = logs.archiveObjects;
  result.errors.push(...logs.errors);
  const metrics = logs.finished ? await deleteMetricsInBatches(deps, { userId }) : { deleted: 0, finished: false };
  result.metrics_deleted = metrics.deleted;

  const state = await db.call("export_ops_user_erasure_state", { p_user_id: userId, ...sqlTime(clock) });
  const runId = randomUUID();
  const archives = keepCopy
    ? null
    : await eraseFromArchives(
        deps,
        runId,
        userId,
        state.archive_objects.filter((o) => !o.in_flight),
      );
  if (archives) {
    Object.assign(result, {
      archive_objects_rewritten: archives.rewritten,
      archive_rows_removed: archives.rows,
      archive_versions_removed: archives.oldVersions,
    });
    result.errors.push(...archives.errors);
  }
  const inFlight = state.archive_objects.filter((o) => o.in_flight).length;
  if (state.logs_in_flight > 0 || inFlight > 0) {
    result.errors.push(
      `${state.logs_in_flight} logs sit in ${inFlight} archive batches another run is writing: run the erasure again once it has finished (within 15 minutes)`,
    );
  }
  // what runs wrote meanwhile, and archive batches of theirs whose logs are gone now
  result.history_scrubbed += await scrubHistory(deps, userId, false);
  result.has_more = !logs.finished || !metrics.finished || state.logs_left > 0 || inFlight > 0 || (archives?.errors.length ?? 0) > 0;
  return result;
}
