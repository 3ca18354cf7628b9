/**
 * The stand-in's bucket endpoints export-ops reads, and those tests use to set a bucket up: a bucket as
 * `GET /bucket/:id` answers it (with `versioning_status`), `PUT /bucket/:id` (updateBucket, which can turn
 * versioning on or suspend it but never back to DISABLED), and the bucket's lifecycle configuration
 * (`/bucket/:id/lifecycle`: rules that expire noncurrent versions; the filter must be `{}`), shaped as
 * storage-js 2.119's types describe them. The stand-in stores lifecycle rules but runs no lifecycle executor.
 */
import type { Pool } from "pg";
import { StorageHttpError, badRequest, noSuchBucket, type Reply } from "./storage-http";

export type VersioningStatus = "DISABLED" | "ENABLED" | "SUSPENDED";

const BUCKET_COLUMNS =
  "id, name, owner, public, type, file_size_limit::float8 as file_size_limit, allowed_mime_types, created_at, updated_at, versioning_status";

export async function bucketRow(pool: Pool, bucket: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await pool.query(`select ${BUCKET_COLUMNS} from storage.buckets where id = $1`, [bucket]);
  return rows[0];
}

export async function versioningOf(pool: Pool, bucket: string): Promise<VersioningStatus | undefined> {
  return (await bucketRow(pool, bucket))?.versioning_status as VersioningStatus | undefined;
}

export async function getBucket(pool: Pool, bucket: string): Promise<Reply> {
  const row = await bucketRow(pool, bucket);
  if (!row) throw noSuchBucket();
  return { status: 200, body: { ...row, owner: row.owner ?? "" } };
}

export async function updateBucket(pool: Pool, bucket: string, body: Record<string, unknown>): Promise<Reply> {
  const current = await bucketRow(pool, bucket);
  if (!current) throw noSuchBucket();
  const status = body.versioning_status;
  if (status !== undefined && status !== "ENABLED" && status !== "SUSPENDED") {
    throw badRequest(`versioning_status must be ENABLED or SUSPENDED: a bucket's versioning cannot go back to DISABLED`);
  }
  if (status !== undefined && current.type !== "STANDARD") throw badRequest("versioning is for STANDARD buckets only");
  await pool.query(
    `update storage.buckets set public = coalesce($2, public), file_size_limit = coalesce($3, file_size_limit),
       allowed_mime_types = coalesce($4, allowed_mime_types), versioning_status = coalesce($5, versioning_status), updated_at = now()
     where id = $1`,
    [bucket, body.public ?? null, body.file_size_limit ?? null, body.allowed_mime_types ?? null, status ?? null],
  );
  return { status: 200, body: { message: "Successfully updated" } };
}

interface LifecycleRule {
  id: string;
  status: "Enabled" | "Disabled";
  filter: Record<string, never>;
  noncurrentVersionExpiration: { noncurrentDays: number; newerNoncurrentVersions?: number };
}

const isWhole = (n: unknown, min: number, max: number) => Number.isInteger(n) && (n as number) >= min && (n as number) <= max;

function lifecycleRules(body: Record<string, unknown>): LifecycleRule[] {
  const rules = body.rules;
  if (!Array.isArray(rules) || rules.length < 1 || rules.length > 1000) throw badRequest("rules must hold 1 to 1000 rules");
  return rules.map((rule: Record<string, unknown>, i): LifecycleRule => {
    const filter = rule.filter as Record<string, unknown> | undefined;
    if (!filter || typeof filter !== "object" || Object.keys(filter).length > 0)
      throw badRequest(`rules[${i}].filter must be {}: prefix, tag and size filters are refused`);
    if (rule.status !== "Enabled" && rule.status !== "Disabled") throw badRequest(`rules[${i}].status must be Enabled or Disabled`);
    const expiration = rule.noncurrentVersionExpiration as LifecycleRule["noncurrentVersionExpiration"] | undefined;
    if (!expiration || !isWhole(expiration.noncurrentDays, 1, 36_500))
      throw badRequest(`rules[${i}].noncurrentVersionExpiration.noncurrentDays must be a whole number of days`);
    if (expiration.newerNoncurrentVersions !== undefined && !isWhole(expiration.newerNoncurrentVersions, 1, 100)) {
      throw badRequest(`rules[${i}].noncurrentVersionExpiration.newerNoncurrentVersions must be 1 to 100`);
    }
    const keys = Object.keys(rule).filter((k) => !["id", "status", "filter", "noncurrentVersionExpiration"].includes(k));
    if (keys.length > 0) throw badRequest(`rules[${i}]: only noncurrentVersionExpiration is supported, not ${keys.join(", ")}`);
    return {
      id: typeof rule.id === "string" ? rule.id : `rule-${i + 1}`,
      status: rule.status,
      filter: {},
      noncurrentVersionExpiration: expiration,
    };
  });
}

/** `GET|PUT|DELETE /bucket/:id/lifecycle`, the rules kept in `store` (per bucket). */
export async function lifecycle(
  pool: Pool,
  store: Map<string, LifecycleRule[]>,
  method: string,
  bucket: string,
  body: () => Promise<Record<string, unknown>>,
): Promise<Reply> {
  if (!(await bucketRow(pool, bucket))) throw noSuchBucket();
  if (method === "PUT") {
    store.set(bucket, lifecycleRules(await body()));
    return { status: 200, body: { rules: store.get(bucket) } };
  }
  if (method === "DELETE") {
    store.delete(bucket);
    return { status: 200, body: { message: "Successfully deleted" } };
  }
  const rules = store.get(bucket);
  if (!rules)
    throw new StorageHttpError(
      404,
      "NoSuchLifecycleConfiguration",
      "The lifecycle configuration does not exist",
      "NoSuchLifecycleConfiguration",
    );
  return { status: 200, body: { rules } };
}

export type { LifecycleRule };
