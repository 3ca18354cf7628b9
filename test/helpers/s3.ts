/** The S3 archive target's settings and ports on an s3rver (./s3-server.ts), over the local stack's. */
import type { Env } from "../../lib/env";
import { createS3ObjectStorage, s3StoreSettings, withS3Archive } from "../../lib/s3";
import { ports, testEnv } from "./exports";
import { S3_KEY, type S3Server } from "../../scripts/local-stack/s3-server";

export { S3_KEY, startS3, type S3Fault, type S3Server } from "../../scripts/local-stack/s3-server";

/** The settings of the S3 archive target on `s3`, over the stack's. */
export function s3Env(s3: S3Server, overrides: Record<string, string> = {}): Env {
  return testEnv({
    EXPORT_ARCHIVE_TARGET: "s3",
    EXPORT_ARCHIVE_REGION: "us-east-1",
    EXPORT_ARCHIVE_S3_ENDPOINT: s3.endpoint,
    ...S3_KEY,
    ...overrides,
  });
}

/** The stack's ports, with `s3://` buckets in the store `env` names; shorter timeouts and fewer attempts for the fault tests. */
export function s3Ports(env: Env, options: { timeoutMs?: number; maxAttempts?: number } = {}) {
  const base = ports();
  return { db: base.db, storage: withS3Archive(base.storage, env, () => createS3ObjectStorage({ ...s3StoreSettings(env), ...options })) };
}
