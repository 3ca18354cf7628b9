/**
 * The ports jobs depend on. Adapters in lib/supabase implement them over supabase-js; tests use fakes or the
 * local stack. Keeping them here (not in lib/supabase) is what lets jobs stay free of supabase-js.
 */
import type { Env } from "./env";
import type { Logger } from "./logger";
import type { SqlArgs, SqlFunction, SqlResult } from "./sql-contract";

/**
 * The SQL API: every database operation is a Postgres function called by name with named arguments, typed from
 * the list in ./sql-contract.ts (arguments and result), and validated against it by the one client that implements
 * it (createSqlApi, lib/supabase/sql-api.ts), which the host library (lib/host) uses too.
 */
export interface SqlApi {
  // arguments may be left out only where every argument has a default
  call<F extends SqlFunction>(fn: F, ...args: {} extends SqlArgs<F> ? [args?: SqlArgs<F>] : [args: SqlArgs<F>]): Promise<SqlResult<F>>;
}

export interface StoredObject {
  name: string;
  id: string | null;
  created_at: string | null;
  updated_at: string | null;
  metadata: Record<string, unknown> | null;
}

/** A bucket's object versioning (Storage's `versioning_status`): DISABLED until a team turns it on, never again after. */
export type VersioningStatus = "DISABLED" | "ENABLED" | "SUSPENDED";

export interface BucketVersioning {
  status: VersioningStatus;
  /**
   * The bucket's lifecycle rule that expires noncurrent versions soonest, in days after they turn noncurrent;
   * null when none is enabled (or none can be read). Storage's rules apply to the whole bucket and never expire
   * current objects.
   */
  noncurrent_expiry_days: number | null;
}

/** One version of a name: the current one, a noncurrent one (kept bytes), or a delete marker (no bytes). */
export interface ObjectVersion {
  path: string;
  versionId: string;
  current: boolean;
  deleteMarker: boolean;
}

/** Whether a bucket is there and public, as the store that holds it says (an S3 bucket: SQL cannot see it). */
export interface BucketProbe {
  exists: boolean;
  public: boolean;
}

/**
 * A bucket in an S3-compatible store is passed and recorded (in the archive manifest) as `s3://<bucket>`: a name
 * Supabase Storage cannot have, so each archive object's manifest row says which store holds it, and the objects
 * archived before a change of EXPORT_ARCHIVE_TARGET stay readable and erasable where they are.
 */
export const S3_BUCKET_SCHEME = "s3://";

/** The S3 bucket a reference names, or undefined for a Supabase Storage bucket. */
export function s3BucketName(bucket: string): string | undefined {
  return bucket.startsWith(S3_BUCKET_SCHEME) ? bucket.slice(S3_BUCKET_SCHEME.length) : undefined;
}

/** Storage (v1.60 on) refuses more than this many names (or versions) in one bulk delete. */
export const MAX_NAMES_PER_DELETE = 1000;

export interface ObjectStorage {
  /**
   * Deletes exact names (sent MAX_NAMES_PER_DELETE per request); resolves to the names that existed and were
   * deleted. In a versioned bucket this only adds delete markers: lib/files/versions.ts deletes for good.
   */
  remove(bucket: string, paths: string[]): Promise<string[]>;
  /** The bucket's versioning status and, when it keeps versions, its lifecycle rules. */
  versioning(bucket: string): Promise<BucketVersioning>;
  /** Every version of one exact name, delete markers included, current first. */
  versions(bucket: string, path: string): Promise<ObjectVersion[]>;
  /** Deletes exact versions for good (MAX_NAMES_PER_DELETE per request); resolves to the number deleted. */
  removeVersions(bucket: string, versions: Pick<ObjectVersion, "path" | "versionId">[]): Promise<number>;
  /** One page of a folder listing; sub-folders come back with `id: null`. */
  list(bucket: string, prefix: string, page: { limit: number; offset: number }): Promise<StoredObject[]>;
  upload(bucket: string, path: string, body: Uint8Array | string, options: { contentType: string; upsert: boolean }): Promise<void>;
  download(bucket: string, path: string): Promise<Uint8Array>;
  /**
   * Whether the bucket exists and is public, for a store whose buckets SQL cannot see (S3; Supabase's buckets are
   * read from storage.buckets instead). Refused credentials are a ConfigError naming the settings.
   */
  probe?(bucket: string): Promise<BucketProbe>;
}

/**
 * The app's clock: time budgets and log times. Leases, claims, hour boundaries and run times are the database's
 * (`now()` in SQL). A test clock may also set `sqlNow`, the time SQL functions then take as "now" (their `p_now`);
 * the system clock never does.
 */
export interface Clock {
  now(): Date;
  sqlNow?: () => Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The `p_now` argument for SQL functions: nothing (the database's own clock) unless a test clock sets one. */
export function sqlTime(clock: Clock): { p_now?: string } {
  return clock.sqlNow ? { p_now: clock.sqlNow().toISOString() } : {};
}

/**
 * How long any one call through a port may take before it is aborted (PostgREST, Storage). A run's deadline
 * margin is counted in these: see deadlineFor in lib/jobs/job.ts.
 */
export const REQUEST_TIMEOUT_MS = 20_000;

/** Everything a job may use; each job narrows this to the parts it needs. */
export interface JobDeps {
  env: Env;
  /** This invocation's id: in every log line, and the owner of any rows the job claims. */
  runId: string;
  db: SqlApi;
  storage: ObjectStorage;
  clock: Clock;
  logger: Logger;
  /** Epoch ms by which the job must have stopped taking new work. */
  deadline: number;
}
