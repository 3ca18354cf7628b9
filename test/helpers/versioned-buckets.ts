/** Versioned buckets on the local stack, set up and read the way a team and Storage's API do it. */
import { createClient } from "@supabase/supabase-js";
import { sql, stack } from "./stack";

export const storageClient = () =>
  createClient(stack.SUPABASE_URL, stack.SUPABASE_SERVICE_ROLE_KEY, { auth: { persistSession: false } }).storage;

/** A new private bucket (created as the migrations create buckets), then versioning turned on through updateBucket. */
export async function createVersionedBucket(bucket: string, status: "ENABLED" | "SUSPENDED" = "ENABLED"): Promise<void> {
  await sql().query("insert into storage.buckets (id, name, public) values ($1, $1, false) on conflict (id) do nothing", [bucket]);
  const { error } = await storageClient().updateBucket(bucket, { public: false, versioningStatus: "ENABLED" });
  if (error) throw error;
  if (status === "SUSPENDED") {
    const suspended = await storageClient().updateBucket(bucket, { public: false, versioningStatus: "SUSPENDED" });
    if (suspended.error) throw suspended.error;
  }
}

/** Every row Storage keeps for `name`, current first: its versions and delete markers. */
export async function versionsOf(
  bucket: string,
  name: string,
): Promise<{ version: string; current: boolean; delete_marker: boolean; size: number | null }[]> {
  const { rows } = await sql().query(
    `select version, archived_at is null as current, is_delete_marker as delete_marker, (metadata ->> 'size')::int as size
     from storage.objects where bucket_id = $1 and name = $2 order by archived_at desc nulls first, created_at desc`,
    [bucket, name],
  );
  return rows;
}

/** Removes a test bucket and everything in it, as Storage's own emptyBucket + deleteBucket would. */
export async function dropBucket(bucket: string): Promise<void> {
  await sql().query(
    "begin; select set_config('storage.allow_delete_query', 'true', true); delete from storage.objects where bucket_id = $1; delete from storage.buckets where id = $1; commit;".replace(
      /\$1/g,
      `'${bucket.replace(/'/g, "''")}'`,
    ),
  );
}
