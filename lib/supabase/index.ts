import type { Env } from "../env";
import type { ObjectStorage, SqlApi } from "../ports";
import { createServiceClient } from "./client";
import { createObjectStorage } from "./object-storage";
import { createSqlApi } from "./sql-api";

export { createServiceClient } from "./client";
export type { ServiceClient } from "./client";
export { createSqlApi, unwrap } from "./sql-api";
export { createObjectStorage } from "./object-storage";

/** The database and storage ports for the configured Supabase project, acting as service_role. */
export function createSupabasePorts(env: Pick<Env, "SUPABASE_URL" | "SUPABASE_SERVICE_ROLE_KEY">): { db: SqlApi; storage: ObjectStorage } {
  const client = createServiceClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY);
  return { db: createSqlApi(client), storage: createObjectStorage(client) };
}
