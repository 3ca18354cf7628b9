import { StorageError } from "../errors";
import {
  MAX_NAMES_PER_DELETE,
  type BucketVersioning,
  type ObjectStorage,
  type ObjectVersion,
  type StoredObject,
  type VersioningStatus,
} from "../ports";
import { inSpan } from "../tracing";
import type { ServiceClient } from "./client";

interface StorageLikeError {
  message: string;
  status?: number;
  statusCode?: string;
}

/** Storage sends every 4xx as HTTP 400 with the real code in the body's `statusCode`; keep the real one. */
function storageFailure(operation: string, error: StorageLikeError | Error): StorageError {
  const e = error as StorageLikeError;
  const real = Number(e.statusCode ?? e.status);
  return new StorageError(`storage ${operation} failed: ${e.message}`, {
    cause: error,
    storageStatus: Number.isFinite(real) ? real : undefined,
  });
}

/** One Storage call, in its own span (lib/tracing.ts), its error turned into a StorageError. */
function unwrapStorage<T>(
  operation: string,
  bucket: string,
  call: () => Promise<{ data: T | null; error: StorageLikeError | null }>,
): Promise<T> {
  return inSpan(`storage ${operation}`, { "export_ops.storage.operation": operation, "export_ops.storage.bucket": bucket }, async () => {
    let response: { data: T | null; error: StorageLikeError | null };
    try {
      response = await call();
    } catch (error) {
      throw storageFailure(operation, error as Error);
    }
    if (response.error) throw storageFailure(operation, response.error);
    return response.data as T;
  });
}

const VERSIONS_PAGE = 1000;

/** The soonest noncurrent-version expiry among the bucket's enabled lifecycle rules; null when none or unreadable. */
async function noncurrentExpiryDays(client: ServiceClient, bucket: string): Promise<BucketVersioning["noncurrent_expiry_days"]> {
  // no configuration (NoSuchLifecycleConfiguration) and lifecycle off (FeatureNotEnabled) both mean: none expire
  const { data, error } = await client.storage.getBucketLifecycle(bucket);
  if (error || !data) return null;
  const days = data.rules.filter((r) => r.status === "Enabled").map((r) => r.noncurrentVersionExpiration.noncurrentDays);
  return days.length > 0 ? Math.min(...days) : null;
}

/** The ObjectStorage port over supabase-js Storage. */
export function createObjectStorage(client: ServiceClient): ObjectStorage {
  return {
    async remove(bucket, paths) {
      // current Storage refuses more than 1,000 names per request, older servers do not: never rely on either
      const removed: string[] = [];
      for (let i = 0; i < paths.length; i += MAX_NAMES_PER_DELETE) {
        const rows = await unwrapStorage("remove", bucket, () =>
          client.storage.from(bucket).remove(paths.slice(i, i + MAX_NAMES_PER_DELETE)),
        );
        removed.push(...rows.map((o) => o.name));
      }
      return removed;
    },
    async versioning(bucket) {
      const found = await unwrapStorage("get bucket", bucket, () => client.storage.getBucket(bucket));
      // a server without versioning does not send the field
      const status: VersioningStatus = found.versioning_status ?? "DISABLED";
      if (status === "DISABLED") return { status, noncurrent_expiry_days: null };
      return { status, noncurrent_expiry_days: await noncurrentExpiryDays(client, bucket) };
    },
    async versions(bucket, path) {
      const found: ObjectVersion[] = [];
      const name = path.slice(path.lastIndexOf("/") + 1);
      for (let offset = 0; ; offset += VERSIONS_PAGE) {
        const options = {
          exactMatch: true,
          noncurrentVersions: "include",
          deleteMarkers: "include",
          limit: VERSIONS_PAGE,
          offset,
        } as const;
        const entries = await unwrapStorage("list versions", bucket, () => client.storage.from(bucket).list(path, options));
        for (const entry of entries.filter((e) => e.name === name || e.name === path)) {
          if (!entry.version) {
            throw new StorageError(
              `storage list versions failed: bucket ${bucket} keeps versions, but Storage listed ${path} without its version id, ` +
                "so its old versions cannot be deleted; nothing was deleted",
            );
          }
          found.push({ path, versionId: entry.version, current: !entry.archived_at, deleteMarker: entry.is_delete_marker === true });
        }
        if (entries.length < VERSIONS_PAGE) return found;
      }
    },
    async removeVersions(bucket, versions) {
      let removed = 0;
      for (let i = 0; i < versions.length; i += MAX_NAMES_PER_DELETE) {
        const entries = versions.slice(i, i + MAX_NAMES_PER_DELETE).map(({ path, versionId }) => ({ path, versionId }));
        removed += (await unwrapStorage("remove versions", bucket, () => client.storage.from(bucket).remove(entries))).length;
      }
      return removed;
    },
    async list(bucket, prefix, page) {
      const entries = await unwrapStorage("list", bucket, () =>
        client.storage.from(bucket).list(prefix, { limit: page.limit, offset: page.offset, sortBy: { column: "name", order: "asc" } }),
      );
      return entries.map((o): StoredObject => ({
        name: o.name,
        id: o.id ?? null,
        created_at: o.created_at ?? null,
        updated_at: o.updated_at ?? null,
        metadata: (o.metadata as Record<string, unknown> | null) ?? null,
      }));
    },
    async upload(bucket, path, body, options) {
      await unwrapStorage("upload", bucket, () => client.storage.from(bucket).upload(path, body, options));
    },
    async download(bucket, path) {
      const blob = await unwrapStorage("download", bucket, () => client.storage.from(bucket).download(path));
      return new Uint8Array(await blob.arrayBuffer());
    },
  };
}
