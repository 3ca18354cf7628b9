/**
 * The stand-in's object endpoints: upload, download, list and bulk delete, with object versioning as Storage
 * models it (its migration 0062-object-versioning-core.sql and storage-js 2.119's types). In a bucket whose
 * `versioning_status` is ENABLED, an upload over a name keeps the old bytes as a noncurrent version
 * (`archived_at` set) and a delete by name only adds a delete marker; only a delete of an exact
 * `{ path, versionId }` removes bytes. SUSPENDED keeps the versions it has and overwrites the unversioned one.
 * Rows live in `storage.objects`; the current version's bytes at `<dataDir>/<bucket>/<name>`, a noncurrent
 * version's at `<dataDir>/.versions/<bucket>/<row id>`.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import path from "node:path";
import type { Pool, PoolClient } from "pg";
import { bucketRow, versioningOf, type VersioningStatus } from "./storage-buckets";
import {
  GLOBAL_FILE_SIZE_LIMIT,
  MAX_LIST_LIMIT,
  MAX_NAMES_PER_DELETE,
  StorageHttpError,
  badRequest,
  noSuchBucket,
  notFound,
  readBody,
  validKey,
  type Reply,
} from "./storage-http";
import type { StorageBehaviour } from "./storage-server";

export interface StandIn {
  pool: Pool;
  dataDir: string;
  behaviour: StorageBehaviour;
}

type Row = Record<string, unknown> & {
  id: string;
  name: string;
  archived_at: Date | null;
  is_delete_marker: boolean;
  is_versioned: boolean;
};
/** What happens to a row's bytes once its transaction commits. */
type ByteChange = { kind: "archive" | "drop"; row: Row };

const currentFile = (ctx: StandIn, bucket: string, name: string) => path.join(ctx.dataDir, bucket, ...name.split("/"));
const versionFile = (ctx: StandIn, bucket: string, id: string) => path.join(ctx.dataDir, ".versions", bucket, id);
const fileOfRow = (ctx: StandIn, bucket: string, row: Row) =>
  row.archived_at ? versionFile(ctx, bucket, row.id) : currentFile(ctx, bucket, row.name);

async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    await client.query("set local storage.allow_delete_query = 'true'");
    const result = await work(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    client.release();
  }
}

async function applyByteChanges(ctx: StandIn, bucket: string, changes: ByteChange[]): Promise<void> {
  for (const { kind, row } of changes) {
    if (row.is_delete_marker) continue;
    const from = currentFile(ctx, bucket, row.name);
    if (kind === "drop") await rm(fileOfRow(ctx, bucket, row), { force: true });
    else {
      await mkdir(path.dirname(versionFile(ctx, bucket, row.id)), { recursive: true });
      await rename(from, versionFile(ctx, bucket, row.id)).catch(() => undefined);
    }
  }
}

/**
 * The current row of `name` leaves its place: it becomes a noncurrent version (versioning ENABLED, or a version
 * made while it was), or is deleted (a bucket that never versioned, or SUSPENDED over an unversioned row).
 */
async function retireCurrent(client: PoolClient, bucket: string, name: string, status: VersioningStatus): Promise<ByteChange | null> {
  const { rows } = await client.query<Row>(
    "select * from storage.objects where bucket_id = $1 and name = $2 and archived_at is null for update",
    [bucket, name],
  );
  const row = rows[0];
  if (!row) return null;
  if (status === "ENABLED" || row.is_versioned) {
    const archived = await client.query<Row>("update storage.objects set archived_at = now() where id = $1 returning *", [row.id]);
    return { kind: "archive", row: archived.rows[0]! };
  }
  await client.query("delete from storage.objects where id = $1", [row.id]);
  return { kind: "drop", row };
}

const RETURNED = "name, bucket_id, owner, owner_id, version, id, updated_at, created_at, last_accessed_at, metadata, user_metadata";

/** As the server sends a deleted row: its answer schema types owner, owner_id and version as strings ("" for null). */
const asDeleted = (row: Record<string, unknown>) => {
  const picked = Object.fromEntries(RETURNED.split(", ").map((k) => [k, row[k]]));
  return { ...picked, owner: row.owner ?? "", owner_id: row.owner_id ?? "", version: row.version ?? "" };
};

type DeleteEntry = string | { path: string; versionId: string };

function deleteEntries(body: Record<string, unknown>): DeleteEntry[] {
  const prefixes = body.prefixes;
  const isEntry = (p: unknown) =>
    typeof p === "string" ||
    (!!p &&
      typeof p === "object" &&
      typeof (p as { path?: unknown }).path === "string" &&
      typeof (p as { versionId?: unknown }).versionId === "string");
  if (!Array.isArray(prefixes) || prefixes.length < 1 || !prefixes.every(isEntry))
    throw badRequest("body/prefixes must NOT have fewer than 1 items");
  if (prefixes.length > MAX_NAMES_PER_DELETE) {
    throw new StorageHttpError(
      400,
      "InvalidRequest",
      `Bulk object requests are limited to ${MAX_NAMES_PER_DELETE} objects per request.`,
      "InvalidRequest",
    );
  }
  return prefixes as DeleteEntry[];
}

/** One transaction: exact versions are deleted; names are deleted (no versioning) or get a delete marker. */
async function deleteInBucket(ctx: StandIn, bucket: string, entries: DeleteEntry[]): Promise<Record<string, unknown>[]> {
  const status = (await versioningOf(ctx.pool, bucket)) ?? "DISABLED";
  const changes: ByteChange[] = [];
  const deleted = await inTransaction(ctx.pool, async (client) => {
    const answered: Record<string, unknown>[] = [];
    const names = entries.filter((e): e is string => typeof e === "string");
    if (status === "DISABLED" && names.length > 0) {
      const { rows } = await client.query<Row>(
        `delete from storage.objects where bucket_id = $1 and name = any($2::text[]) and archived_at is null returning *`,
        [bucket, names],
      );
      rows.forEach((row) => changes.push({ kind: "drop", row }));
      answered.push(...rows);
    }
    for (const name of status === "DISABLED" ? [] : names) {
      const retired = await retireCurrent(client, bucket, name, status);
      if (!retired || retired.row.is_delete_marker) continue;
      changes.push(retired);
      answered.push(retired.row);
      await client.query(
        "insert into storage.objects (bucket_id, name, is_delete_marker, is_versioned, version) values ($1, $2, true, $3, $4)",
        [bucket, name, status === "ENABLED", randomUUID()],
      );
    }
    for (const entry of entries.filter((e): e is Exclude<DeleteEntry, string> => typeof e !== "string")) {
      const { rows } = await client.query<Row>(
        "delete from storage.objects where bucket_id = $1 and name = $2 and version = $3 returning *",
        [bucket, entry.path, entry.versionId],
      );
      rows.forEach((row) => changes.push({ kind: "drop", row }));
      answered.push(...rows.filter((row) => !row.is_delete_marker));
    }
    return answered;
  });
  await applyByteChanges(ctx, bucket, changes);
  return deleted.map(asDeleted);
}

export async function remove(ctx: StandIn, bucket: string, body: Record<string, unknown>, isService: boolean): Promise<Reply> {
  const entries = deleteEntries(body);
  if (!isService) return { status: 200, body: [] };
  const { behaviour } = ctx;
  if (behaviour.deleteMsPerName > 0) await new Promise((r) => setTimeout(r, behaviour.deleteMsPerName * entries.length));
  if (behaviour.failAfterNames !== null && behaviour.failTimes > 0) {
    behaviour.failTimes -= 1;
    await deleteInBucket(ctx, bucket, entries.slice(0, behaviour.failAfterNames)); // committed before the failure
    throw new StorageHttpError(500, "internal", "Internal Server Error", "InternalError");
  }
  return { status: 200, body: await deleteInBucket(ctx, bucket, entries) };
}

type VersionFilter = "exclude" | "include" | "only";
const filterOf = (value: unknown): VersionFilter => (value === "include" || value === "only" ? value : "exclude");

/** The SQL condition for noncurrent versions ($n) and delete markers ($n+1), as Storage's list options mean them. */
const VERSION_FILTERS = (n: number) =>
  `($${n} = 'include' or ($${n} = 'only') = (o.archived_at is not null)) and ($${n + 1} = 'include' or ($${n + 1} = 'only') = o.is_delete_marker)`;

const VERSION_FIELDS = "version, archived_at, is_delete_marker, is_versioned";

export async function list(ctx: StandIn, bucket: string, body: Record<string, unknown>, isService: boolean): Promise<Reply> {
  const limit = Math.min(Number(body.limit ?? 100), MAX_LIST_LIMIT);
  const offset = Number(body.offset ?? 0);
  const sort = (body.sortBy ?? {}) as { column?: string; order?: string };
  const column = ["name", "updated_at", "created_at", "last_accessed_at"].includes(sort.column ?? "") ? sort.column! : "name";
  const order = sort.order?.toLowerCase() === "desc" ? "desc" : "asc";
  if (!Number.isInteger(limit) || limit < 0 || !Number.isInteger(offset) || offset < 0)
    throw badRequest("limit and offset must be non-negative integers");
  if (!isService) return { status: 200, body: [] };
  const prefix = String(body.prefix ?? "").replace(/^\/+/, "");
  const filters = [filterOf(body.noncurrentVersions), filterOf(body.deleteMarkers)];
  if (body.exactMatch === true) {
    const { rows } = await ctx.pool.query(
      `select regexp_replace(name, '^.*/', '') as name, id, updated_at, created_at, last_accessed_at, metadata, ${VERSION_FIELDS}
       from storage.objects o where bucket_id = $1 and name = $2 and ${VERSION_FILTERS(3)}
       order by archived_at desc nulls first, created_at desc limit $5 offset $6`,
      [bucket, prefix, ...filters, limit, offset],
    );
    return { status: 200, body: rows };
  }
  const folder = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
  // One level of the tree: direct objects, and each sub-folder once (with null id, metadata and version fields).
  const { rows } = await ctx.pool.query(
    `with level as (
       select split_part(substr(name, char_length($2) + 1), '/', 1) as entry,
              strpos(substr(name, char_length($2) + 1), '/') > 0 as is_folder, o.*
       from storage.objects o
       where bucket_id = $1 and name like replace(replace(replace($2, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%' and ${VERSION_FILTERS(6)}
     ), entries as (
       select distinct on (entry) entry as name, null::uuid as id, null::timestamptz as updated_at,
              null::timestamptz as created_at, null::timestamptz as last_accessed_at, null::jsonb as metadata,
              null::text as version, null::timestamptz as archived_at, null::boolean as is_delete_marker, null::boolean as is_versioned
       from level where is_folder
       union all
       select entry, id, updated_at, created_at, last_accessed_at, metadata, ${VERSION_FIELDS} from level where not is_folder
     )
     select * from entries where $3 = '' or name ilike $3 || '%'
     order by ${column} ${order} nulls first, name ${order} limit $4 offset $5`,
    [bucket, folder, String(body.search ?? ""), limit, offset, ...filters],
  );
  return { status: 200, body: rows };
}

/** What Storage checks before it stores an upload: the bucket's size limit (or the global one) and MIME types. */
function enforceLimits(limits: Record<string, unknown>, size: number, contentType: string) {
  const maxSize = Math.min((limits.file_size_limit as number | null) ?? GLOBAL_FILE_SIZE_LIMIT, GLOBAL_FILE_SIZE_LIMIT);
  if (size > maxSize)
    throw new StorageHttpError(413, "Payload too large", "The object exceeded the maximum allowed size", "EntityTooLarge");
  const mime = contentType.split(";")[0]!.trim().toLowerCase();
  const allowed = (limits.allowed_mime_types as string[] | null) ?? [];
  const fits = (pattern: string) => {
    const p = pattern.toLowerCase();
    return p === mime || (p.endsWith("/*") && mime.startsWith(p.slice(0, -1)));
  };
  if (allowed.length > 0 && !allowed.some(fits)) {
    throw new StorageHttpError(415, "invalid_mime_type", `mime type ${mime} is not supported`, "InvalidMimeType");
  }
}

/** The uploaded bytes, content type and cache control, from a raw or a multipart body. */
async function readUpload(req: IncomingMessage): Promise<{ bytes: Buffer; contentType: string; cacheControl: string }> {
  const bytes = await readBody(req);
  const contentType = String(req.headers["content-type"] ?? "application/octet-stream");
  const cacheControl = String(req.headers["cache-control"] ?? "no-cache");
  if (!contentType.startsWith("multipart/form-data")) return { bytes, contentType, cacheControl };
  const form = await new Request("http://local/", {
    method: "POST",
    headers: { "content-type": contentType },
    body: new Uint8Array(bytes),
  }).formData();
  const file = [...form.values()].find((v): v is File => typeof v !== "string");
  if (!file) throw badRequest("No file in multipart body");
  const cc = form.get("cacheControl");
  return {
    bytes: Buffer.from(await file.arrayBuffer()),
    contentType: file.type || "application/octet-stream",
    cacheControl: typeof cc === "string" ? `max-age=${cc}` : cacheControl,
  };
}

const duplicate = () => new StorageHttpError(409, "Duplicate", "The resource already exists", "KeyAlreadyExists");

/** Records the new current row: over the old one (no versioning), or after retiring it (versioning). */
async function recordUpload(
  ctx: StandIn,
  bucket: string,
  name: string,
  status: VersioningStatus,
  metadata: object,
  upsert: boolean,
): Promise<{ id: string; changes: ByteChange[] }> {
  const id = randomUUID();
  const now = new Date().toISOString();
  // no user: no owner (the service key has none); the user metadata sent (none here) spread into an object: {}
  const insert = `insert into storage.objects (id, bucket_id, name, metadata, user_metadata, version, created_at, updated_at, last_accessed_at, is_versioned)
                  values ($1, $2, $3, $4, '{}', $5, $6, $6, $6, $7)`;
  const values = [id, bucket, name, metadata, randomUUID(), now, status === "ENABLED"];
  if (status === "DISABLED") {
    const result = await ctx.pool.query(
      `${insert} on conflict (bucket_id, name) where archived_at is null do update set metadata = excluded.metadata, user_metadata = excluded.user_metadata,
         version = excluded.version, updated_at = excluded.updated_at, last_accessed_at = excluded.last_accessed_at
         where $8 returning id`,
      [...values, upsert],
    );
    if (result.rowCount === 0) throw duplicate();
    return { id: result.rows[0].id, changes: [] };
  }
  return inTransaction(ctx.pool, async (client) => {
    const current = await client.query<Row>(
      "select is_delete_marker from storage.objects where bucket_id = $1 and name = $2 and archived_at is null",
      [bucket, name],
    );
    if (current.rows[0] && !current.rows[0].is_delete_marker && !upsert) throw duplicate();
    const retired = await retireCurrent(client, bucket, name, status);
    await client.query(insert, values);
    return { id, changes: retired ? [retired] : [] };
  });
}

export async function upload(
  ctx: StandIn,
  req: IncomingMessage,
  bucket: string,
  name: string,
  isService: boolean,
  upsertByMethod: boolean,
): Promise<Reply> {
  if (!validKey(name)) throw new StorageHttpError(400, "Invalid Input", `Invalid key: ${name}`, "InvalidKey");
  if (!isService) throw new StorageHttpError(403, "Unauthorized", "new row violates row-level security policy");
  const limits = await bucketRow(ctx.pool, bucket);
  if (!limits) throw noSuchBucket();
  const upsert = upsertByMethod || req.headers["x-upsert"] === "true";
  const { bytes, contentType, cacheControl } = await readUpload(req);
  enforceLimits(limits, bytes.length, contentType);
  const metadata = {
    eTag: `"${createHash("md5").update(bytes).digest("hex")}"`,
    size: bytes.length,
    mimetype: contentType,
    cacheControl,
    lastModified: new Date().toISOString(),
    contentLength: bytes.length,
    httpStatusCode: 200,
  };
  const { id, changes } = await recordUpload(ctx, bucket, name, limits.versioning_status as VersioningStatus, metadata, upsert);
  await applyByteChanges(
    ctx,
    bucket,
    changes.filter((c) => c.kind === "archive"),
  );
  const file = currentFile(ctx, bucket, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return { status: 200, body: { Id: id, Key: `${bucket}/${name}` } };
}

/** The current version's bytes, or with `versionId` that version's (a delete marker has none). */
export async function download(ctx: StandIn, bucket: string, name: string, versionId: string | null, isService: boolean): Promise<Reply> {
  if (!isService || !validKey(name)) throw notFound();
  const { rows } = await ctx.pool.query<Row>(
    `select * from storage.objects where bucket_id = $1 and name = $2 and not is_delete_marker
       and (case when $3::text is null then archived_at is null else version = $3 end)`,
    [bucket, name, versionId],
  );
  const row = rows[0];
  if (!row) {
    if (!(await bucketRow(ctx.pool, bucket))) throw noSuchBucket();
    throw notFound();
  }
  const bytes = await readFile(fileOfRow(ctx, bucket, row)).catch(() => {
    throw notFound();
  });
  const meta = row.metadata as { mimetype?: string; eTag?: string };
  return { status: 200, body: bytes, headers: { "content-type": meta.mimetype ?? "application/octet-stream", etag: meta.eTag ?? "" } };
}
