/**
 * Per-user erasure, for a deletion request: deletes one user's export files (those export-ops knows: the paths
 * their logs name, and in their folder what was written after the install, in a bucket export-ops created or named
 * after one of their exports; the host app's own files are left and listed), export logs and raw export metrics,
 * and removes their rows from every archive object that holds any (found in the archive manifest). Files go
 * first, through the same path checks as the file cleanup, so a crash leaves logs that still point at any file
 * not yet deleted. Each archive object is rewritten without the user's rows, the rewrite read back and checked,
 * and only then put in place of the original; a crash at any step leaves either the original or the checked
 * rewrite, and running the erasure again finishes. Logs in an archive batch another run is still writing are
 * waited for: the result says `has_more` until that batch is written and rewritten too.
 *
 * Their id, their exports' ids and paths also leave export-ops' run history and bookkeeping (export_ops_runs'
 * results and errors, check-in and alert notes, the file cleanup's notes, dead archive batches, the orphan sweep's
 * cursor): once before anything is deleted, while their logs still say which exports are theirs, and once at the
 * end, for whatever a run wrote meanwhile.
 *
 * With `legalHold`, the user's logs are first copied to the archive bucket under `erasure/<user_id>/` and their
 * existing archive objects are left as they are: a copy is kept on purpose. Erasing again without it removes
 * that copy too.
 */
import { randomUUID } from "node:crypto";
import * as z from "zod";
import { assertBucketsUsable } from "../files/buckets";
import { filesInBucket, type FilesInBucket } from "../files/versions";
import { StorageError, ValidationError } from "../errors";
import { sqlTime, type JobDeps } from "../ports";
import type { SqlResult } from "../sql-contract";
import { formatOfExtension, unsafePathReason } from "../files/export-paths";
import { METRICS_BATCH } from "../jobs/export-log-cleanup";
import { ARCHIVE_CONTENT_TYPE, archiveLines, archiveObject, deleteLogsInBatches, verifyArchive } from "../archive/log-archive";

const MAX_STORAGE_BATCH = 1000;

export const userIdSchema = z.guid({ error: "must be a UUID" });

export interface ErasureResult {
  user_id: string;
  files_found: number;
  files_deleted: number;
  /** Other objects in the user's folder, left alone: the host app's own (up to 50 names). */
  files_left: string[];
  logs_deleted: number;
  /** Logs copied to the archive bucket for a legal hold (0 otherwise). */
  archived_count: number;
  metrics_deleted: number;
  archive_objects: string[];
  /** Archive objects rewritten without the user's rows (or deleted, when only their rows were in them). */
  archive_objects_rewritten: number;
  archive_rows_removed: number;
  /** Old versions of rewritten archive objects deleted: in a bucket that keeps versions, they held the user's rows. */
  archive_versions_removed: number;
  legal_hold: boolean;
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

export async function cleanupUserExportLogs(
  deps: Deps,
  input: { userId: string; dryRun?: boolean; legalHold?: boolean },
): Promise<ErasureResult> {
  const parsed = userIdSchema.safeParse(input.userId);
  if (!parsed.success) throw new ValidationError("Invalid user id: must be a UUID", { field: "user_id" });
  const userId = parsed.data.toLowerCase();
  const { db, storage, env, logger, clock } = deps;
  const bucket = env.EXPORTS_BUCKET;
  const legalHold = input.legalHold ?? false;
  if (legalHold && !env.EXPORT_ARCHIVE_BUCKET) throw new ValidationError("A legal hold needs EXPORT_ARCHIVE_BUCKET: the copy is kept there");

  // it deletes from the exports bucket and rewrites archive objects
  const [[exportsBucket], formats, listed] = await Promise.all([
    assertBucketsUsable(db, env, ["exports", "archive"], storage),
    db.call("export_ops_formats"),
    db.call("export_ops_user_files", { p_user_id: userId, p_bucket: bucket }),
  ]);
  // in a bucket that keeps versions, a name is listed once per version
  const files = [...new Set(listed.filter((f) => f.known).map((f) => f.name))];
  // only the user's own folder, in the export layout: a log pointing elsewhere is reported, never followed
  const formatOf = (name: string) => formatOfExtension(formats, name.slice(name.lastIndexOf(".") + 1)) ?? "";
  const safe = files.filter((name) => unsafePathReason(name, formats, { user_id: userId, format: formatOf(name) }) === null);
  const before = await db.call("export_ops_user_erasure_state", { p_user_id: userId, ...sqlTime(clock) });
  const result: ErasureResult = {
    user_id: userId,
    files_found: files.length,
    files_deleted: 0,
    files_left: [...new Set(listed.filter((f) => !f.known).map((f) => f.name.slice(0, 200)))].slice(0, 50),
    logs_deleted: 0,
    archived_count: 0,
    metrics_deleted: 0,
    archive_objects: legalHold ? [] : before.archive_objects.map((o) => o.name),
    archive_objects_rewritten: 0,
    archive_rows_removed: 0,
    archive_versions_removed: 0,
    legal_hold: legalHold,
    history_scrubbed: 0,
    errors: files.filter((f) => !safe.includes(f)).map((f) => `not deleted, outside the user's export folder: ${f.slice(0, 200)}`),
    has_more: false,
    dry_run: input.dryRun ?? false,
  };
  if (result.dry_run) {
    // what the run would do, counted without changing anything
    const objects = legalHold ? [] : before.archive_objects.filter((o) => !o.in_flight);
    const logs = before.logs_left - before.logs_in_flight;
    Object.assign(result, {
      files_deleted: safe.length,
      logs_deleted: logs,
      archived_count: legalHold ? logs : 0,
      metrics_deleted: before.metrics_left,
      archive_objects_rewritten: objects.length,
      archive_rows_removed: (await Promise.all(objects.map((o) => countInArchiveObject(deps, userId, o)))).reduce((a, b) => a + b, 0),
      history_scrubbed: await scrubHistory(deps, userId, true),
      has_more: before.logs_in_flight > 0 || before.archive_objects.some((o) => o.in_flight),
    });
    return result;
  }
  const runId = randomUUID();
  // while their logs and metrics still say which exports were theirs
  result.history_scrubbed += await scrubHistory(deps, userId, false);

  const exportFiles = filesInBucket(storage, exportsBucket!);
  for (let i = 0; i < safe.length; i += MAX_STORAGE_BATCH) {
    result.files_deleted += (await exportFiles.remove(safe.slice(i, i + MAX_STORAGE_BATCH))).length;
  }
  const logs = await deleteLogsInBatches(deps, { userId }, { archiveBucket: legalHold ? env.EXPORT_ARCHIVE_BUCKET : undefined });
  Object.assign(result, { logs_deleted: logs.deleted, archived_count: logs.archived });
  if (legalHold) result.archive_objects = logs.archiveObjects;
  result.errors.push(...logs.errors);
  if (logs.finished) {
    let deleted: number;
    do {
      deleted = await db.call("export_ops_delete_metrics", { p_user_id: userId, p_limit: METRICS_BATCH });
      result.metrics_deleted += deleted;
    } while (deleted === METRICS_BATCH);
  }

  const state = await db.call("export_ops_user_erasure_state", { p_user_id: userId, ...sqlTime(clock) });
  let archivesLeft = 0;
  if (!legalHold) {
    const archiveFiles = filesByBucket(storage);
    for (const object of state.archive_objects.filter((o) => !o.in_flight)) {
      try {
        const erased = await eraseFromArchiveObject(deps, runId, userId, object, await archiveFiles(object.bucket));
        result.archive_objects_rewritten += 1;
        result.archive_rows_removed += erased.rows;
        result.archive_versions_removed += erased.oldVersions;
      } catch (error) {
        archivesLeft += 1;
        result.errors.push(`archive ${object.name} still holds the user's rows, retried on the next erasure: ${(error as Error).message}`);
      }
    }
  }
  const inFlight = state.archive_objects.filter((o) => o.in_flight).length;
  if (state.logs_in_flight > 0 || inFlight > 0) {
    result.errors.push(
      `${state.logs_in_flight} logs sit in ${inFlight} archive batches another run is writing: run the erasure again once it has finished (within 15 minutes)`,
    );
  }
  // what runs wrote meanwhile, and archive batches of theirs whose logs are gone now
  result.history_scrubbed += await scrubHistory(deps, userId, false);
  result.has_more = !logs.finished || state.logs_left > 0 || inFlight > 0 || archivesLeft > 0;
  logger.info({ type: "user_erasure", ...result, archive_objects: result.archive_objects.length, files_left: result.files_left.length }, `user erasure: ${result.files_deleted} files, ${result.logs_deleted} logs, ${result.metrics_deleted} metrics, ${result.archive_rows_removed} archived rows${result.has_more ? " (more left: run again)" : ""}`);
  return result;
}

/** How long one erasure holds an archive object's rewrite (a rewrite of one object takes about a second). */
export const REWRITE_LEASE_SECONDS = 120;
const LEASE_POLL_MS = 200;

/** The object's lines, split into the user's and everyone else's; kept lines stay byte for byte as they were. */
function splitArchive(bytes: Uint8Array, userId: string): { kept: string[]; removed: number } {
  const kept: string[] = [];
  let removed = 0;
  for (const line of archiveLines(bytes)) {
    if (String((JSON.parse(line) as { user_id?: unknown }).user_id).toLowerCase() === userId) removed += 1;
    else kept.push(line);
  }
  return { kept, removed };
}

async function downloadIfThere(storage: Deps["storage"], bucket: string, name: string): Promise<Uint8Array | null> {
  try {
    return await storage.download(bucket, name);
  } catch (error) {
    // a batch whose run died before uploading has no object: nothing of the user is stored there
    if (error instanceof StorageError && error.storageStatus === 404) return null;
    throw error;
  }
}

/** The user's rows in one archive object, for a dry run. */
async function countInArchiveObject({ storage }: Pick<Deps, "storage">, userId: string, object: { bucket: string; name: string }): Promise<number> {
  const bytes = await downloadIfThere(storage, object.bucket, object.name);
  return bytes ? splitArchive(bytes, userId).removed : 0;
}

type Claim = SqlResult<"export_ops_claim_archive_rewrite">;

/** Takes the object's rewrite lease, waiting while another erasure holds it, until the run's deadline. */
async function claimRewrite(deps: Pick<Deps, "db" | "clock" | "deadline">, runId: string, object: { bucket: string; name: string }): Promise<Claim> {
  for (;;) {
    const claim = await deps.db.call("export_ops_claim_archive_rewrite", {
      p_bucket: object.bucket,
      p_name: object.name,
      p_run_id: runId,
      p_seconds: REWRITE_LEASE_SECONDS,
      ...sqlTime(deps.clock),
    });
    if (claim.claimed || claim.gone) return claim;
    if (deps.clock.now().getTime() + LEASE_POLL_MS >= deps.deadline) {
      throw new Error(`another erasure is rewriting it (until ${claim.held_until ?? "soon"})`);
    }
    await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS));
  }
}

/** Each archive bucket's files, deleted for good as its versioning requires (read once per bucket). */
function filesByBucket(storage: Deps["storage"]): (bucket: string) => Promise<FilesInBucket> {
  const known = new Map<string, Promise<FilesInBucket>>();
  return (bucket) => {
    if (!known.has(bucket)) known.set(bucket, storage.versioning(bucket).then((versioning) => filesInBucket(storage, { bucket, versioning })));
    return known.get(bucket)!;
  };
}

/**
 * Rewrites one archive object without the user's rows, holding its rewrite lease (one erasure per object at a
 * time): the rewrite is uploaded beside it under a name of this run's own, read back and checked, then, if the
 * lease still holds at the version read, uploaded in its place and checked again, and the manifest updated from
 * that version; an object left empty is deleted. Every other line is kept byte for byte. In a bucket that keeps
 * versions, the object's old versions (which hold the user's rows) are deleted, and every deletion is for good.
 * Idempotent: after a crash at any step, running it again reaches the same end state. Returns the rows removed
 * and the old versions deleted.
 */
async function eraseFromArchiveObject(
  deps: Pick<Deps, "db" | "storage" | "clock" | "deadline">,
  runId: string,
  userId: string,
  object: { bucket: string; name: string },
  files: FilesInBucket,
): Promise<{ rows: number; oldVersions: number }> {
  const { db, storage } = deps;
  const { bucket, name } = object;
  const claim = await claimRewrite(deps, runId, object);
  if (claim.gone) return { rows: 0, oldVersions: 0 }; // emptied and deleted by another erasure: nothing of anyone is left there
  const version = claim.version ?? 0;
  const rewrite = `${name}.rewrite-${runId}`;
  // what a crashed run may have left beside the object (this release's name, and the one before it)
  const leftovers = [`${name}.rewrite`, ...(claim.left_by ? [`${name}.rewrite-${claim.left_by}`] : [])];
  try {
    const bytes = await downloadIfThere(storage, bucket, name);
    const { kept, removed } = bytes ? splitArchive(bytes, userId) : { kept: [], removed: 0 };
    if (kept.length === 0) {
      await files.remove([name, rewrite, ...leftovers]);
    } else if (removed > 0) {
      const archive = await archiveObject(kept.join("\n") + "\n");
      await storage.upload(bucket, rewrite, archive.bytes, { contentType: ARCHIVE_CONTENT_TYPE, upsert: true });
      verifyArchive(await storage.download(bucket, rewrite), archive);
      const still = await claimRewrite(deps, runId, object); // renews the lease, and says whether the object moved on
      if (!still.claimed || still.version !== version) throw new Error("the object changed while it was rewritten");
      await storage.upload(bucket, name, archive.bytes, { contentType: ARCHIVE_CONTENT_TYPE, upsert: true });
      verifyArchive(await storage.download(bucket, name), archive);
      await files.remove([rewrite, ...leftovers]);
    } else {
      await files.remove(leftovers);
    }
    // in every case, so a run after a crash past the rewrite still deletes the versions holding the user's rows
    const oldVersions = kept.length === 0 ? 0 : await files.removeOldVersions(name);
    const recorded = await db.call("export_ops_archive_object_rewritten", {
      p_bucket: bucket,
      p_name: name,
      p_user_id: userId,
      p_rows: kept.length,
      p_run_id: runId,
      p_version: version,
    });
    if (!recorded) throw new Error("the object changed while it was rewritten");
    return { rows: removed, oldVersions };
  } catch (error) {
    await db.call("export_ops_release_archive_rewrite", { p_bucket: bucket, p_name: name, p_run_id: runId }).catch(() => undefined);
    throw error;
  }
}
