/**
 * Erasing one user from the log archive: each archive object that holds their rows (found in the archive
 * manifest) is rewritten without them, holding the object's rewrite lease (one erasure per object at a time). The
 * rewrite is uploaded beside the object under a name of the run's own, read back and checked, then, if the lease
 * still holds at the manifest version read (the object's row in export_ops_archive_objects, not a Storage version),
 * uploaded in its place and checked again, and the manifest updated from that version; an object left empty is
 * deleted. Every other line is kept byte for byte. In a bucket that keeps versions, the object's old versions
 * (which hold the user's rows) are deleted, and every deletion is for good (lib/files/versions.ts). Idempotent: after a crash at any step, running it again reaches the same end state.
 */
import { StorageError } from "../errors";
import { filesInBucket, type FilesInBucket } from "../files/versions";
import { sqlTime, type JobDeps } from "../ports";
import type { SqlResult } from "../sql-contract";
import { ARCHIVE_CONTENT_TYPE, archiveLines, archiveObject, verifyArchive } from "./log-archive";

type Deps = Pick<JobDeps, "db" | "storage" | "clock" | "deadline">;

type ArchiveObjectRef = { bucket: string; name: string };

export interface ArchiveErasure {
  rewritten: number;
  rows: number;
  oldVersions: number;
  /** One line per object that still holds the user's rows: retried on the next erasure. */
  errors: string[];
}

/** Rewrites each object without the user's rows, one at a time; a failure is reported and the others go on. */
export async function eraseFromArchives(deps: Deps, runId: string, userId: string, objects: ArchiveObjectRef[]): Promise<ArchiveErasure> {
  const done: ArchiveErasure = { rewritten: 0, rows: 0, oldVersions: 0, errors: [] };
  const filesOf = filesByBucket(deps.storage);
  for (const object of objects) {
    try {
      const erased = await eraseFromArchiveObject(deps, runId, userId, object, await filesOf(object.bucket));
      done.rewritten += 1;
      done.rows += erased.rows;
      done.oldVersions += erased.oldVersions;
    } catch (error) {
      done.errors.push(`archive ${object.name} still holds the user's rows, retried on the next erasure: ${(error as Error).message}`);
    }
  }
  return done;
}

/** Each archive bucket's files, deleted for good as its versioning requires (read once per bucket). */
function filesByBucket(storage: JobDeps["storage"]): (bucket: string) => Promise<FilesInBucket> {
  const known = new Map<string, Promise<FilesInBucket>>();
  return (bucket) => {
    if (!known.has(bucket))
      known.set(
        bucket,
        storage.versioning(bucket).then((versioning) => filesInBucket(storage, { bucket, versioning })),
      );
    return known.get(bucket)!;
  };
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

async function downloadIfThere(storage: JobDeps["storage"], bucket: string, name: string): Promise<Uint8Array | null> {
  try {
    return await storage.download(bucket, name);
  } catch (error) {
    // a batch whose run died before uploading has no object: nothing of the user is stored there
    if (error instanceof StorageError && error.storageStatus === 404) return null;
    throw error;
  }
}

/** The user's rows in one archive object, for a dry run. */
export async function countInArchiveObject(
  { storage }: Pick<Deps, "storage">,
  userId: string,
  object: { bucket: string; name: string },
): Promise<number> {
  const bytes = await downloadIfThere(storage, object.bucket, object.name);
  return bytes ? splitArchive(bytes, userId).removed : 0;
}

type Claim = SqlResult<"export_ops_claim_archive_rewrite">;

/** Takes the object's rewrite lease, waiting while another erasure holds it, until the run's deadline. */
async function claimRewrite(
  deps: Pick<Deps, "db" | "clock" | "deadline">,
  runId: string,
  object: { bucket: string; name: string },
): Promise<Claim> {
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

/** Rewrites one archive object without the user's rows (see the top of this file): the rows and old versions removed. */
async function eraseFromArchiveObject(
  deps: Deps,
  runId: string,
  userId: string,
  object: { bucket: string; name: string },
  files: FilesInBucket,
): Promise<{ rows: number; oldVersions: number }> {
  const { db, storage } = deps;
  const { bucket, name } = object;
  const claim = await claimRewrite(deps, runId, object);
  if (claim.gone) return { rows: 0, oldVersions: 0 }; // emptied and deleted by another erasure: nothing of anyone is left there
  const manifestVersion = claim.version ?? 0;
  const rewrite = `${name}.rewrite-${runId}`;
  // what a crashed run may have left beside the object (this release's name, and the one before it)
  const leftovers = [`${name}.rewrite`, ...(claim.left_by ? [`${name}.rewrite-${claim.left_by}`] : [])];
  try {
    // where the old versions could not be deleted, nothing is rewritten: the user's rows would stay in them
    const older = await files.oldVersionsWithBytes(name);
    const bytes = await downloadIfThere(storage, bucket, name);
    if (!bytes && older > 0) {
      // deleted by name in a bucket that keeps versions: the rows of everyone else are only in those versions
      throw new Error(
        `it was deleted by name but ${older} older versions keep its rows: restore its newest version (or delete them all), then erase again`,
      );
    }
    const { kept, removed } = bytes ? splitArchive(bytes, userId) : { kept: [], removed: 0 };
    let oldVersions = 0;
    if (kept.length === 0) {
      oldVersions = await files.removeOldVersions(name);
      await files.remove([name, rewrite, ...leftovers]);
    } else if (removed > 0) {
      const archive = await archiveObject(kept.join("\n") + "\n");
      await storage.upload(bucket, rewrite, archive.bytes, { contentType: ARCHIVE_CONTENT_TYPE, upsert: true });
      verifyArchive(await storage.download(bucket, rewrite), archive);
      const still = await claimRewrite(deps, runId, object); // renews the lease, and says whether the object moved on
      if (!still.claimed || still.version !== manifestVersion) throw new Error("the object changed while it was rewritten");
      await storage.upload(bucket, name, archive.bytes, { contentType: ARCHIVE_CONTENT_TYPE, upsert: true });
      verifyArchive(await storage.download(bucket, name), archive);
      await files.remove([rewrite, ...leftovers]);
    } else {
      await files.remove(leftovers);
    }
    // in every case, so a run after a crash past the rewrite still deletes the versions holding the user's rows
    if (kept.length > 0) oldVersions = await files.removeOldVersions(name);
    const recorded = await db.call("export_ops_archive_object_rewritten", {
      p_bucket: bucket,
      p_name: name,
      p_user_id: userId,
      p_rows: kept.length,
      p_run_id: runId,
      p_version: manifestVersion,
    });
    if (!recorded) throw new Error("the object changed while it was rewritten");
    return { rows: removed, oldVersions };
  } catch (error) {
    await db.call("export_ops_release_archive_rewrite", { p_bucket: bucket, p_name: name, p_run_id: runId }).catch(() => undefined);
    throw error;
  }
}
