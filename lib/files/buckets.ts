/**
 * The buckets export-ops works in, as the database sees them: whether each exists, is public, and was created by
 * export-ops. A job checks its buckets before it deletes from or writes to them, and refuses a public or missing
 * one (user exports in a public bucket are world-readable; a missing one means a wrong setting, and deleting
 * "nothing" there would mark logs expired while their files stay elsewhere). The orphan sweep runs by itself
 * only in a bucket export-ops created: one that existed before the install may hold the host app's own files.
 * Detailed health and the ops page show the same judgements, and each bucket's versioning: in a bucket that keeps
 * versions, a delete by name frees nothing, so export-ops deletes every version of what it deletes there
 * (./versions.ts).
 */
import type { Env } from "../env";
import { ConfigError } from "../errors";
import { S3_BUCKET_SCHEME, s3BucketName, type BucketVersioning, type ObjectStorage, type SqlApi } from "../ports";

export interface BucketState {
  bucket: string;
  purpose: "exports" | "archive";
  exists: boolean;
  public: boolean;
  created_by_export_ops: boolean;
  /** Why no job may use it (public, or missing), or null. */
  problem: string | null;
  /** Its versioning and lifecycle rules, read from Storage; null when it is missing or Storage was not asked. */
  versioning: BucketVersioning | null;
  /** What deleting in it means, when it keeps versions (or why its versioning could not be read); else null. */
  versioning_note: string | null;
}

export interface OrphanSweepState {
  enabled: boolean;
  reason: string;
}

const SETTING = { exports: "EXPORTS_BUCKET", archive: "EXPORT_ARCHIVE_BUCKET" } as const;

function problemOf(bucket: string, purpose: BucketState["purpose"], state: { exists: boolean; public: boolean }): string | null {
  if (!state.exists) return `bucket ${bucket} does not exist: create it (private), or set ${SETTING[purpose]} to the bucket you use`;
  if (state.public) {
    return (
      `bucket ${bucket} is public, so every file in it is world-readable: export-ops neither deletes from nor writes to it ` +
      `until it is private (${s3BucketName(bucket) === undefined ? `Storage > ${bucket} > Edit bucket > Public off` : "its bucket policy and public access block"}), or ${SETTING[purpose]} names a private bucket`
    );
  }
  return null;
}

const DELETES_THERE = {
  exports: "the file cleanup, the orphan sweep and erasure delete every version of the files they delete",
  archive: "erasure deletes the old versions of each archive object it rewrites, so no version keeps an erased user's rows",
} as const;

/** What deleting means in a bucket that keeps versions; null when it keeps none. */
export function versioningNote(bucket: string, purpose: BucketState["purpose"], versioning: BucketVersioning): string | null {
  if (versioning.status === "DISABLED") return null;
  const expiry =
    versioning.noncurrent_expiry_days === null
      ? "no lifecycle rule expires noncurrent versions"
      : `its lifecycle rule expires noncurrent versions after ${versioning.noncurrent_expiry_days} days`;
  return `bucket ${bucket} keeps versions (${versioning.status}): a delete by name only adds a delete marker and keeps the bytes, so ${DELETES_THERE[purpose]}; ${expiry}`;
}

type Buckets = Pick<Env, "EXPORTS_BUCKET" | "EXPORT_ARCHIVE_BUCKET"> & Partial<Pick<Env, "EXPORT_ARCHIVE_TARGET">>;

/**
 * The archive bucket as the archive code names it (and the manifest records it): EXPORT_ARCHIVE_BUCKET in Supabase
 * Storage, or `s3://<bucket>` in the S3-compatible store (EXPORT_ARCHIVE_TARGET=s3); undefined without archival.
 */
export function archiveBucketOf(env: Omit<Buckets, "EXPORTS_BUCKET">): string | undefined {
  if (!env.EXPORT_ARCHIVE_BUCKET) return undefined;
  return env.EXPORT_ARCHIVE_TARGET === "s3" ? `${S3_BUCKET_SCHEME}${env.EXPORT_ARCHIVE_BUCKET}` : env.EXPORT_ARCHIVE_BUCKET;
}

type BucketStorage = Pick<ObjectStorage, "versioning" | "probe">;
type Found = { exists: boolean; public: boolean; created_by_export_ops: boolean; problem?: string };

/**
 * An S3 bucket's state, from the store (SQL cannot see it): refused credentials are its problem; any other failure
 * is thrown when `strict` (a job: it must not go on), else noted as its problem (health, the ops page).
 */
async function probeS3(storage: BucketStorage | undefined, bucket: string, strict: boolean): Promise<Found> {
  const none = { exists: false, public: false, created_by_export_ops: false };
  if (!storage?.probe) return { ...none, problem: `bucket ${bucket} is in an S3 store, which was not asked` };
  try {
    return { ...(await storage.probe(bucket)), created_by_export_ops: false };
  } catch (error) {
    if (strict && !(error instanceof ConfigError)) throw error;
    return {
      ...none,
      problem: error instanceof ConfigError ? error.message : `bucket ${bucket} could not be checked: ${(error as Error).message}`,
    };
  }
}

/**
 * Each bucket's existence and publicity: Supabase's from SQL (one call), an S3 bucket's from its store. For a job
 * (`only` its buckets), a failure to reach the store is thrown.
 */
async function bucketStates(
  db: SqlApi,
  env: Buckets,
  storage: BucketStorage | undefined,
  only?: { purposes: readonly BucketState["purpose"][] },
): Promise<BucketState[]> {
  const strict = only !== undefined;
  const archive = archiveBucketOf(env);
  const wanted = [
    { bucket: env.EXPORTS_BUCKET, purpose: "exports" as const },
    ...(archive ? [{ bucket: archive, purpose: "archive" as const }] : []),
  ].filter((w) => !only || only.purposes.includes(w.purpose));
  const inSupabase = wanted.map((w) => w.bucket).filter((b) => s3BucketName(b) === undefined);
  const { buckets } = await db.call("export_ops_bucket_states", { p_buckets: inSupabase });
  return Promise.all(
    wanted.map(async ({ bucket, purpose }): Promise<BucketState> => {
      const found: Found =
        s3BucketName(bucket) === undefined
          ? (buckets[bucket] ?? { exists: false, public: false, created_by_export_ops: false })
          : await probeS3(storage, bucket, strict);
      const { problem, ...state } = found;
      return { bucket, purpose, ...state, problem: problem ?? problemOf(bucket, purpose, state), versioning: null, versioning_note: null };
    }),
  );
}

/**
 * The exports bucket's state and, when archival is on, the archive bucket's: one SQL call (and a probe of an S3
 * archive bucket), and with `storage` each existing bucket's versioning (a failed read is noted in its place).
 */
export async function readBuckets(db: SqlApi, env: Buckets, storage?: BucketStorage): Promise<BucketState[]> {
  const states = await bucketStates(db, env, storage);
  return Promise.all(
    states.map(async (judged): Promise<BucketState> => {
      const { bucket } = judged;
      if (!storage || !judged.exists) return judged;
      try {
        return withVersioning(judged, await storage.versioning(bucket));
      } catch (error) {
        return { ...judged, versioning_note: `bucket ${bucket}'s versioning could not be read: ${(error as Error).message}` };
      }
    }),
  );
}

export type VersionedBucketState = BucketState & { versioning: BucketVersioning };

/** A bucket's state with its versioning, and what deleting in it means. */
function withVersioning(state: BucketState, versioning: BucketVersioning): VersionedBucketState {
  return { ...state, versioning, versioning_note: versioningNote(state.bucket, state.purpose, versioning) };
}

/**
 * Throws a ConfigError naming every bucket of `purposes` that no job may use, and why; changes nothing. The states
 * carry each bucket's versioning, read from Storage (a failed read throws: a job must not delete without it).
 */
export async function assertBucketsUsable(
  db: SqlApi,
  storage: BucketStorage,
  env: Buckets,
  purposes: readonly BucketState["purpose"][],
): Promise<VersionedBucketState[]> {
  const states = await bucketStates(db, env, storage, { purposes });
  const problems = states.flatMap((s) => (s.problem ? [s.problem] : []));
  if (problems.length > 0) throw new ConfigError(`Refused: ${problems.join("; ")}`);
  return Promise.all(states.map(async (s) => withVersioning(s, await storage.versioning(s.bucket))));
}

/** Whether the orphan sweep may delete in the exports bucket, and why (the run result and health say it). */
export function orphanSweepState(
  setting: Env["EXPORT_ORPHAN_SWEEP"],
  exports: Pick<BucketState, "bucket" | "created_by_export_ops">,
): OrphanSweepState {
  if (setting === "off") return { enabled: false, reason: "EXPORT_ORPHAN_SWEEP=off" };
  if (setting === "on") return { enabled: true, reason: "EXPORT_ORPHAN_SWEEP=on" };
  if (exports.created_by_export_ops) return { enabled: true, reason: `bucket ${exports.bucket} was created by export-ops` };
  return {
    enabled: false,
    reason:
      `bucket ${exports.bucket} existed before export-ops was installed and may hold your app's own files: ` +
      "check what a dry run lists (sample_orphans), then set EXPORT_ORPHAN_SWEEP=on to sweep it",
  };
}
