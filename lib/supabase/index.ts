import type { Env } from "../env";
import type { ObjectStorage, SqlApi } from "../ports";
import { createServiceClient } from "./client";
import { createObjectStorage } from "./object-storage";
import { createSqlApi } from "./sql-api";
import { withS3Archive, type S3Settings } from "../s3";

export { createServiceClient } from "./client";
export type { ServiceClient } from "./client";
export { createSqlApi, unwrap } from "./sql-api";
export { createObjectStorage } from "./object-storage";

/**
 * The database and storage ports for the configured Supabase project, acting as service_role; an archive bucket in
 * an S3-compatible store (`s3://<bucket>`, EXPORT_ARCHIVE_TARGET=s3) is reached through the same storage port.
 */
export function createSupabasePorts(env: Pick<Env, "SUPABASE_URL" | "SUPABASE_SERVICE_ROLE_KEY"> & S3Settings): {
  db: SqlApi;
  storage: ObjectStorage;
} {
  const client = createServiceClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY);
  return { db: createSqlApi(client), storage: withS3Archive(createObjectStorage(client), env) };
}
