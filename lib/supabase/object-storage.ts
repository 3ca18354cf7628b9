import { StorageError } from "../errors";
import type { ObjectStorage, StoredObject } from "../ports";
import { inSpan } from "../tracing";
import type { ServiceClient } from "./client";

interface StorageLikeError {
  message: string;
  status?: number;
  statusCode?: string;
}

/** Storage (v1.60 on) refuses more than this many names in one bulk delete. */
export const MAX_NAMES_PER_DELETE = 1000;

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
function unwrapStorage<T>(operation: string, bucket: string, call: () => Promise<{ data: T | null; error: StorageLikeError | null }>): Promise<T> {
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

/** The ObjectStorage port over supabase-js Storage. */
export function createObjectStorage(client: ServiceClient): ObjectStorage {
  return {
    async remove(bucket, paths) {
      // current Storage refuses more than 1,000 names per request, older servers do not: never rely on either
      const removed: string[] = [];
      for (let i = 0; i < paths.length; i += MAX_NAMES_PER_DELETE) {
        const rows = await unwrapStorage("remove", bucket, () => client.storage.from(bucket).remove(paths.slice(i, i + MAX_NAMES_PER_DELETE)));
        removed.push(...rows.map((o) => o.name));
      }
      return removed;
    },
    async list(bucket, prefix, page) {
      const entries = await unwrapStorage(
        "list",
        bucket,
        () => client.storage.from(bucket).list(prefix, { limit: page.limit, offset: page.offset, sortBy: { column: "name", order: "asc" } }),
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
