/**
 * Deleting export logs in batches, archiving each batch first when an archive bucket is configured. Shared by
 * the monthly log cleanup (logs past retention) and per-user erasure (one user's logs).
 *
 * With archival, each batch becomes one gzip JSON Lines object named after the batch's key (a retried batch
 * overwrites the same object): the batch's text as the database writes it, one row per line, oldest first,
 * compressed as it arrives (the text is never held whole). The object is read back and must hold exactly that text
 * before the batch's rows are deleted, each only as the version the batch read. If the upload or the check fails,
 * nothing of the batch is deleted, the batch (and those claimed ahead of it) is released for the next run, and the
 * run stops (archival is failing; going on would only repeat it).
 */
import { createHash } from "node:crypto";
import { pipeline } from "node:stream/promises";
import { createGzip, gunzipSync } from "node:zlib";
import { StorageError } from "../errors";
import { LEASE_SECONDS } from "../batches/lease";
import { FULL_SPEED, type Pacer } from "../batches/pacing";
import { sqlTime, type JobDeps } from "../ports";
import type { SqlResult } from "../sql-contract";

/**
 * Rows per archive object: about 2.3 MB of text, 0.3 MB compressed (held while the object is written and checked,
 * and while the next batches are read).
 */
export const ARCHIVE_BATCH = 5_000;
/** Fast compression: an archive is written once and read rarely, and the run's time goes to its batches. */
const ARCHIVE_GZIP_LEVEL = 1;
/** Rows per delete statement without archival: still a short statement (~0.2 s), far fewer round trips. */
export const DELETE_BATCH = 20_000;

export type LogScope = { cutoff: Date; userId?: undefined } | { userId: string; cutoff?: undefined };

export interface BatchDeletion {
  deleted: number;
  archived: number;
  archiveObjects: string[];
  errors: string[];
  /** False when the run stopped early (time budget, load, or an archive failure) with work left. */
  finished: boolean;
}

type Deps = Pick<JobDeps, "db" | "storage" | "clock" | "logger" | "deadline">;

const scopeArgs = (scope: LogScope) => ({ p_cutoff: scope.cutoff?.toISOString() ?? null, p_user_id: scope.userId ?? null });

/** An archive's text: JSON Lines, one row per line. */
export function archiveText(rows: Record<string, unknown>[]): string {
  return rows.map((row) => JSON.stringify(row)).join("\n") + "\n";
}

/** An archive object as written: its bytes (gzip), and the rows and digest of its text to check it by. */
export interface ArchiveObject {
  bytes: Buffer;
  rows: number;
  /** sha256 of the text */
  digest: string;
}

const countLines = (chunk: Uint8Array) => {
  let lines = 0;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
  return lines;
};

/** An archive object from its text (whole, or in pieces as it arrives): compressed, its rows counted and its digest taken on the way. */
export async function archiveObject(text: string | ReadableStream<Uint8Array>): Promise<ArchiveObject> {
  const hash = createHash("sha256");
  let rows = 0;
  const compressed: Buffer[] = [];
  await pipeline(
    async function* () {
      for await (const chunk of typeof text === "string" ? [Buffer.from(text)] : (text as unknown as AsyncIterable<Uint8Array>)) {
        hash.update(chunk);
        rows += countLines(chunk);
        yield chunk;
      }
    },
    createGzip({ level: ARCHIVE_GZIP_LEVEL }),
    async (gzip: AsyncIterable<Buffer>) => {
      for await (const chunk of gzip) compressed.push(chunk);
    },
  );
  return { bytes: Buffer.concat(compressed), rows, digest: hash.digest("hex") };
}

/** An archive object's lines, as stored (no row parsed or re-serialised). */
export function archiveLines(bytes: Uint8Array): string[] {
  return gunzipSync(bytes)
    .toString("utf8")
    .split("\n")
    .filter((line) => line.length > 0);
}

export function decodeArchive(bytes: Uint8Array): Record<string, unknown>[] {
  return archiveLines(bytes).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Deletes the logs in scope, batch by batch, until none are left, the deadline comes or the pacer stops the run for load. */
export async function deleteLogsInBatches(
  deps: Deps,
  scope: LogScope,
  options: { batchSize?: number; archiveBucket?: string; pacer?: Pacer; inFlight?: number },
): Promise<BatchDeletion> {
  const pacer = options.pacer ?? FULL_SPEED;
  if (options.archiveBucket) {
    return archiveLogsInBatches(deps, scope, options.archiveBucket, {
      batchSize: options.batchSize ?? ARCHIVE_BATCH,
      inFlight: options.inFlight ?? ARCHIVE_CONCURRENCY,
      pacer,
    });
  }
  const { db, clock, logger } = deps;
  const batchSize = options.batchSize ?? DELETE_BATCH;
  const result: BatchDeletion = { deleted: 0, archived: 0, archiveObjects: [], errors: [], finished: false };
  // each batch starts where the previous one reached, so no batch re-reads what earlier ones deleted
  let after: string | null = null;
  while (!pacer.stoppedForLoad() && clock.now().getTime() < deps.deadline) {
    await pacer.pause();
    const step: { deleted: number; reached: string | null } = await pacer.timed(
      "log delete",
      () => db.call("export_ops_delete_logs", { p_limit: batchSize, ...sqlTime(clock), p_after: after, ...scopeArgs(scope) }),
      (s) => s.deleted,
    );
    result.deleted += step.deleted;
    after = step.reached;
    logger.debug({ type: "log_cleanup_batch", deleted: step.deleted }, `log cleanup: ${step.deleted} logs deleted`);
    if (step.deleted < batchSize) return { ...result, finished: true };
  }
  return result;
}

type Claimed = SqlResult<"export_ops_claim_log_batch">;
type Fetched = { claimed: Claimed; archive?: ArchiveObject };
const NOTHING_LEFT: Claimed = { batch: null, object: null, count: 0, last_created_at: null, reclaimed: false };
/** No claim made because the load governor stopped the run: the batches claimed before it are written, no more. */
const STOPPED_FOR_LOAD: Claimed = { ...NOTHING_LEFT };

/**
 * The most archive batches in flight at once, the one being written included (the log cleanup's `concurrency`):
 * the batches ahead of it are claimed and their text read and compressed meanwhile (0.3 MB held for each), so the
 * database writes the next batches' text while this process writes and checks the current object.
 */
export const ARCHIVE_IN_FLIGHT = 4;
/**
 * The default: one batch at a time, each stage after the one before, so the host's database has one of the run's
 * statements at a time. Chosen in the bench's host-impact phase (BENCHMARKS.md): with 4 in flight the host's p99
 * was 5.5× idle beside the archival even with the load governor, with 1 near 2×, at half the rate (a monthly job).
 */
export const ARCHIVE_CONCURRENCY = 1;

type Run = { batchSize: number; inFlight: number; pacer: Pacer };
/** A claimed batch being written: its id, its archive object's name and its rows. */
type Batch = { id: string; object: string; rows: number };

/**
 * Archive before delete, batch by batch (see the module's comment): each batch in turn is written, checked and
 * deleted while the batches ahead of it are claimed and read (claimsAhead).
 */
async function archiveLogsInBatches(deps: Deps, scope: LogScope, bucket: string, run: Run): Promise<BatchDeletion> {
  const result: BatchDeletion = { deleted: 0, archived: 0, archiveObjects: [], errors: [], finished: false };
  const ahead = claimsAhead(deps, scope, bucket, run);
  try {
    for (let next = ahead.next(); next; next = ahead.next()) {
      const { claimed, archive } = await next;
      if (claimed === STOPPED_FOR_LOAD) return result;
      if (!claimed.batch || !claimed.object || !archive) return { ...result, finished: true };
      const batch: Batch = { id: claimed.batch, object: claimed.object, rows: claimed.count };
      await run.pacer.pause();
      ahead.writing(true);
      const failure = await writeArchive(deps.storage, bucket, batch.object, archive);
      if (failure) {
        // this batch and those claimed ahead of it go back for the next run
        await deps.db.call("export_ops_release_log_batch", { p_batch: batch.id });
        await ahead.release();
        keptOnFailure(deps, result, batch, failure);
        return result;
      }
      await deleteArchived(deps, result, batch, run.pacer);
      ahead.writing(false);
    }
  } catch (error) {
    await ahead.release().catch(() => undefined);
    throw error;
  }
  return result;
}

/**
 * The batches ahead of the one being written. Claims follow one another, each from where the previous one reached
 * (a dead run's batch taken back may lie anywhere); each claimed batch's text is read as soon as it is claimed,
 * while at most `inFlight` batches are claimed and not yet deleted (the one being written among them).
 */
function claimsAhead(deps: Deps, scope: LogScope, bucket: string, { batchSize, inFlight, pacer }: Run) {
  const { db, clock } = deps;
  let after: string | null = null;
  /** A claim came back empty (nothing left in scope) or failed: no further claim is made. */
  let exhausted = false;
  let lastClaim: Promise<unknown> = Promise.resolve();
  const queue: Promise<Fetched>[] = [];
  /** The batch being written, checked and deleted: 1 while there is one. */
  let writing = 0;

  const claim = async (): Promise<Claimed> => {
    if (exhausted) return NOTHING_LEFT;
    // paced at every stage (claims, the text read ahead, and writing and deleting): a rest holds them all
    await pacer.pause();
    if (exhausted) return NOTHING_LEFT;
    if (pacer.stoppedForLoad()) return STOPPED_FOR_LOAD;
    const args = {
      p_bucket: bucket,
      p_limit: batchSize,
      p_lease_seconds: LEASE_SECONDS,
      ...sqlTime(clock),
      p_after: after,
      ...scopeArgs(scope),
    };
    const claimed = await pacer.timed(
      "log claim",
      () => db.call("export_ops_claim_log_batch", args),
      (c) => c.count,
    );
    if (!claimed.batch || claimed.count === 0) exhausted = true;
    else if (!claimed.reclaimed) after = claimed.last_created_at;
    return claimed;
  };
  const read = async (claimed: Claimed): Promise<Fetched> => {
    if (!claimed.batch || claimed.count === 0) return { claimed };
    await pacer.pause(); // reading ahead is work too: a rest holds it
    const text = async () => archiveObject(await db.call("export_ops_archive_batch_text", { p_batch: claimed.batch! }));
    return { claimed, archive: await pacer.timed("log read", text, () => claimed.count) };
  };
  const fill = () => {
    while (queue.length + writing < inFlight && !exhausted && !pacer.stoppedForLoad() && clock.now().getTime() < deps.deadline) {
      const claimed = lastClaim.then(claim);
      // a failed claim ends the claiming (the claims queued behind it see that first)
      lastClaim = claimed.catch(() => void (exhausted = true));
      const fetched = claimed.then(read);
      fetched.catch(() => undefined); // awaited (and its error thrown) when its turn comes
      queue.push(fetched);
    }
  };

  return {
    /** The next batch, its claim and text (claims topped up first); none once nothing is queued. */
    next(): Promise<Fetched> | undefined {
      fill();
      return queue.shift();
    },
    /** A batch is being written (it counts against `inFlight`), or is done with. */
    writing(on: boolean) {
      writing = on ? 1 : 0;
      if (on) fill();
    },
    /** Batches claimed ahead go back for the next run, unwritten; no further claim is made. */
    async release() {
      exhausted = true;
      for (const ahead of await Promise.all(queue.splice(0).map((f) => f.catch(() => undefined)))) {
        if (ahead?.claimed.batch) await db.call("export_ops_release_log_batch", { p_batch: ahead.claimed.batch });
      }
    },
  };
}

/**
 * Writes an archive object and reads it back: undefined when it holds exactly what was written, else the error
 * (`reason`: in words that name the bucket's setting to change, where the bucket refused it).
 */
async function writeArchive(
  storage: Deps["storage"],
  bucket: string,
  name: string,
  archive: ArchiveObject,
): Promise<{ message: string; reason: string } | undefined> {
  try {
    await storage.upload(bucket, name, archive.bytes, { contentType: ARCHIVE_CONTENT_TYPE, upsert: true });
    verifyArchive(await storage.download(bucket, name), archive);
    return undefined;
  } catch (error) {
    const message = (error as Error).message;
    return { message, reason: bucketRefusal(error, bucket, archive.bytes.length) ?? message };
  }
}

/** The batch's logs, each only as the version the archive holds. */
async function deleteArchived({ db, logger }: Deps, result: BatchDeletion, batch: Batch, pacer: Pacer): Promise<void> {
  const deleted = await pacer.timed(
    "archived log delete",
    () => db.call("export_ops_delete_archived_logs", { p_batch: batch.id }),
    (n) => n,
  );
  result.deleted += deleted;
  result.archived += deleted;
  result.archiveObjects.push(batch.object);
  logger.debug(
    { type: "log_cleanup_batch", object: batch.object, rows: batch.rows, deleted },
    `log cleanup: ${deleted} logs archived to ${batch.object} and deleted`,
  );
}

/** An archive object not written or not verified: its batch's logs were kept, and the run says why. */
function keptOnFailure({ logger }: Deps, result: BatchDeletion, batch: Batch, failure: { message: string; reason: string }): void {
  result.errors.push(`archive ${batch.object} not written or not verified, its ${batch.rows} logs were kept: ${failure.reason}`);
  logger.warn(
    { type: "log_archive_failed", object: batch.object, rows: batch.rows, error: failure.message },
    `log cleanup: archive ${batch.object} not written, its logs kept`,
  );
}

export const ARCHIVE_CONTENT_TYPE = "application/gzip";

/** A bucket that refuses archive objects, in words that name the bucket and the setting to change. */
function bucketRefusal(error: unknown, bucket: string, size: number): string | undefined {
  if (!(error instanceof StorageError)) return undefined;
  if (error.storageStatus === 415) {
    return `the archive bucket ${bucket} refuses ${ARCHIVE_CONTENT_TYPE}: add it to the bucket's allowed MIME types (Storage → bucket → Edit)`;
  }
  if (error.storageStatus === 413) {
    return `the archive object (${size} bytes) is over the file size limit of the archive bucket ${bucket}: raise the bucket's file size limit, or lower batch_size`;
  }
  return undefined;
}

/**
 * An archive object read back must hold exactly the text written: every row, as it was, and nothing else. Bytes
 * read back as written need no decompressing; otherwise (a server that re-encodes) the text must have the same rows
 * and digest. Throws saying how it differs.
 */
export function verifyArchive(stored: Uint8Array, expected: ArchiveObject): void {
  if (expected.bytes.equals(stored)) return;
  const text = gunzipSync(stored);
  const rows = countLines(text);
  if (rows !== expected.rows) throw new Error(`archive holds ${rows} rows, expected ${expected.rows}`);
  if (createHash("sha256").update(text).digest("hex") !== expected.digest) {
    throw new Error(`archive holds ${rows} rows, but not the rows written (its text differs)`);
  }
}

/** Puts an archive object's rows back into export_logs (rows already there are left alone). */
export async function restoreArchive(
  deps: Pick<JobDeps, "db" | "storage">,
  bucket: string,
  name: string,
): Promise<{ rows: number; restored: number }> {
  const rows = decodeArchive(await deps.storage.download(bucket, name));
  let restored = 0;
  for (let i = 0; i < rows.length; i += 1000) {
    restored += await deps.db.call("export_ops_restore_logs", { p_rows: rows.slice(i, i + 1000) });
  }
  return { rows: rows.length, restored };
}
