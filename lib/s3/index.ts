/**
 * The archive target as one ObjectStorage: a bucket named `s3://<bucket>` (lib/ports.ts) is in the S3-compatible
 * store the EXPORT_ARCHIVE_REGION / EXPORT_ARCHIVE_S3_* settings reach, every other bucket in Supabase Storage.
 * The archive code (log cleanup, erasure, `npm run archive`) works through it unchanged on either target.
 */
import type { Env } from "../env";
import { ConfigError } from "../errors";
import { s3BucketName, type ObjectStorage } from "../ports";
import { createS3ObjectStorage, type S3StoreSettings } from "./object-storage";

export { createS3ObjectStorage, type S3StoreSettings } from "./object-storage";

export type S3Settings = Partial<
  Pick<
    Env,
    | "EXPORT_ARCHIVE_REGION"
    | "EXPORT_ARCHIVE_S3_ENDPOINT"
    | "EXPORT_ARCHIVE_S3_ACCESS_KEY_ID"
    | "EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY"
    | "EXPORT_ARCHIVE_S3_STORAGE_CLASS"
  >
>;

/** The store's settings from the environment's; a ConfigError naming what is missing (never a value). */
export function s3StoreSettings(env: S3Settings): S3StoreSettings {
  const {
    EXPORT_ARCHIVE_REGION: region,
    EXPORT_ARCHIVE_S3_ACCESS_KEY_ID: accessKeyId,
    EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY: secretAccessKey,
  } = env;
  if (!region || !accessKeyId || !secretAccessKey) {
    const missing = Object.entries({
      EXPORT_ARCHIVE_REGION: region,
      EXPORT_ARCHIVE_S3_ACCESS_KEY_ID: accessKeyId,
      EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY: secretAccessKey,
    })
      .filter(([, value]) => !value)
      .map(([name]) => name);
    throw new ConfigError(
      `an archive object is in an S3 bucket, and ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not set: set the S3 archive settings`,
    );
  }
  return {
    region,
    accessKeyId,
    secretAccessKey,
    endpoint: env.EXPORT_ARCHIVE_S3_ENDPOINT,
    storageClass: env.EXPORT_ARCHIVE_S3_STORAGE_CLASS,
  };
}

/** Every call of the port: each takes the bucket first, which says the store. */
const CALLS = ["remove", "versioning", "versions", "removeVersions", "list", "upload", "download", "probe"] as const;

type Call = (bucket: string, ...rest: unknown[]) => Promise<unknown>;

/**
 * `storage` (Supabase Storage) with `s3://` buckets sent to the S3 store; `s3` makes that store (tests give their
 * own, with shorter timeouts). The store is made on first use: without an S3 bucket, nothing of the SDK loads.
 */
export function withS3Archive(storage: ObjectStorage, env: S3Settings, s3?: () => ObjectStorage): ObjectStorage {
  let store: ObjectStorage | undefined;
  const s3Store = () => (store ??= s3 ? s3() : createS3ObjectStorage(s3StoreSettings(env)));
  const routed = (call: (typeof CALLS)[number]): Call => {
    return async (bucket, ...rest) => {
      const name = s3BucketName(bucket);
      const [target, targetBucket] = name === undefined ? [storage, bucket] : [s3Store(), name];
      const method = target[call] as Call | undefined;
      // Supabase buckets are judged in the database (lib/files/buckets.ts); only an S3 bucket is probed
      if (!method) throw new ConfigError(`bucket ${bucket} is checked in the database, not probed`);
      return method.call(target, targetBucket, ...rest);
    };
  };
  return Object.fromEntries(CALLS.map((call) => [call, routed(call)])) as unknown as ObjectStorage;
}
