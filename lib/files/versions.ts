/**
 * Deleting for good in a bucket that may keep versions. With a bucket's versioning ENABLED (or SUSPENDED, over
 * versions made before), Storage's delete by name only adds a delete marker: the bytes stay as a noncurrent
 * version until a lifecycle rule expires them, at the earliest a day later and for the whole bucket (its rules
 * take no prefix). A deletion export-ops reports (a file past retention, an erased user's file, an archive
 * object's old content) must free the bytes, so in such a bucket it lists each name's versions and deletes each
 * one exactly. Only the names it was given: the host's other files, and their versions, are never touched.
 */
import type { BucketVersioning, ObjectStorage, ObjectVersion } from "../ports";

/** Version listings in flight at once: one request per name. */
const LISTINGS_IN_FLIGHT = 8;

export interface FilesInBucket {
  /** Deletes each name for good; resolves to the names that had a file (a current version holding bytes). */
  remove(paths: string[]): Promise<string[]>;
  /** Deletes every version of `path` except the current one; resolves to how many (none without versioning). */
  removeOldVersions(path: string): Promise<number>;
  /**
   * How many of `path`'s noncurrent versions hold bytes (none without versioning). Throws when the store cannot
   * list them, so could not delete them either (an S3-compatible store without ListObjectVersions): asked before
   * anything is changed.
   */
  oldVersionsWithBytes(path: string): Promise<number>;
}

async function versionsOf(storage: ObjectStorage, bucket: string, paths: string[]): Promise<ObjectVersion[]> {
  const found: ObjectVersion[] = [];
  for (let i = 0; i < paths.length; i += LISTINGS_IN_FLIGHT) {
    const listed = await Promise.all(paths.slice(i, i + LISTINGS_IN_FLIGHT).map((path) => storage.versions(bucket, path)));
    found.push(...listed.flat());
  }
  return found;
}

export function filesInBucket(
  storage: ObjectStorage,
  { bucket, versioning }: { bucket: string; versioning: BucketVersioning },
): FilesInBucket {
  if (versioning.status === "DISABLED") {
    return {
      remove: (paths) => storage.remove(bucket, paths),
      removeOldVersions: async () => 0,
      oldVersionsWithBytes: async () => 0,
    };
  }
  return {
    async remove(paths) {
      const versions = await versionsOf(storage, bucket, [...new Set(paths)]);
      if (versions.length > 0) await storage.removeVersions(bucket, versions);
      return versions.filter((v) => v.current && !v.deleteMarker).map((v) => v.path);
    },
    async removeOldVersions(path) {
      const old = (await storage.versions(bucket, path)).filter((v) => !v.current);
      return old.length > 0 ? storage.removeVersions(bucket, old) : 0;
    },
    async oldVersionsWithBytes(path) {
      return (await storage.versions(bucket, path)).filter((v) => !v.current && !v.deleteMarker).length;
    },
  };
}
