/**
 * A Storage-API-compatible stand-in for the endpoints export-ops uses (remove, list, upload, download), with
 * Supabase Storage's request and response shapes, limits and error bodies (every 4xx is sent as HTTP 400 with
 * the real code in `statusCode`). Object metadata lives in `storage.objects`, bytes on disk. Only
 * `service_role` passes; other roles see what Storage's RLS shows them with no policies: nothing.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import type { Pool } from "pg";
import { verifyJwt } from "./jwt";

export const MAX_BULK_OBJECTS = 1000;
/** Storage's global upload limit (FILE_SIZE_LIMIT; 50 MB on hosted Supabase's free plan). */
export const GLOBAL_FILE_SIZE_LIMIT = 50 * 1024 * 1024;
export const MAX_LIST_LIMIT = 1500;
export const MAX_KEY_BYTES = 1024;
// Storage's own key rule (isValidKey): word characters and a few safe punctuation marks.
const VALID_KEY = /^(\w|\/|!|-|\.|\*|'|\(|\)| |&|\$|@|=|;|:|\+|,|\?)*$/;

/**
 * How the stand-in's bulk deletes behave, set by tests through the gateway (`/__stack/storage`): a real server
 * takes 1.0–7.9 s per 1,000 names and commits a bulk delete in chunks, so a failure part-way leaves the names
 * before it deleted. Defaults: instant and all-or-nothing.
 */
export interface StorageBehaviour {
  /** Milliseconds each name adds to a bulk delete. */
  deleteMsPerName: number;
  /** Fail the next bulk deletes (`failTimes` of them) with HTTP 500 after deleting their first `failAfterNames` names. */
  failAfterNames: number | null;
  failTimes: number;
}

export const defaultStorageBehaviour = (): StorageBehaviour => ({ deleteMsPerName: 0, failAfterNames: null, failTimes: 0 });

export interface StorageServerOptions {
  pool: Pool;
  dataDir: string;
  jwtSecret: string;
  behaviour?: StorageBehaviour;
}

type Reply = { status: number; body: unknown; headers?: Record<string, string> };

export class StorageHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
  reply(): Reply {
    const body = { statusCode: String(this.statusCode), ...(this.code ? { code: this.code } : {}), error: this.error, message: this.message };
    return { status: this.statusCode >= 500 ? this.statusCode : 400, body };
  }
}

const notFound = () => new StorageHttpError(404, "not_found", "Object not found", "NoSuchKey");

function validKey(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) <= MAX_KEY_BYTES && VALID_KEY.test(name) && !name.split("/").some((s) => s === ".." || s === ".");
}

/** supabase-js strips leading/trailing slashes and collapses `//`; the server sees the cleaned name. */
function objectName(rest: string): string {
  return decodeURIComponent(rest).replace(/^\/+|\/+$/g, "").replace(/\/+/g, "/");
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = (await readBody(req)).toString("utf8");
  try {
    const value: unknown = raw ? JSON.parse(raw) : {};
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new StorageHttpError(400, "Bad Request", "Body is not a JSON object", "InvalidRequest");
}

export function createStorageHandler({ pool, dataDir, jwtSecret, behaviour = defaultStorageBehaviour() }: StorageServerOptions) {
  const fileOf = (bucket: string, name: string) => path.join(dataDir, bucket, ...name.split("/"));

  function role(req: IncomingMessage): string {
    const header = req.headers.authorization;
    if (!header) throw new StorageHttpError(403, "Unauthorized", "headers must have required property 'authorization'");
    const claims = verifyJwt(header.replace(/^Bearer\s+/i, ""), jwtSecret);
    if (!claims) throw new StorageHttpError(403, "Unauthorized", "invalid signature");
    return String(claims.role ?? "anon");
  }

  async function bucketLimits(bucket: string): Promise<{ file_size_limit: number | null; allowed_mime_types: string[] | null } | undefined> {
    const { rows } = await pool.query("select file_size_limit::float8 as file_size_limit, allowed_mime_types from storage.buckets where id = $1", [bucket]);
    return rows[0];
  }

  /** What Storage checks before it stores an upload: the bucket's size limit (or the global one) and MIME types. */
  function enforceLimits(limits: { file_size_limit: number | null; allowed_mime_types: string[] | null }, size: number, contentType: string) {
    const maxSize = Math.min(limits.file_size_limit ?? GLOBAL_FILE_SIZE_LIMIT, GLOBAL_FILE_SIZE_LIMIT);
    if (size > maxSize) throw new StorageHttpError(413, "Payload too large", "The object exceeded the maximum allowed size", "EntityTooLarge");
    const mime = contentType.split(";")[0]!.trim().toLowerCase();
    const allowed = limits.allowed_mime_types ?? [];
    const fits = (pattern: string) => {
      const p = pattern.toLowerCase();
      return p === mime || (p.endsWith("/*") && mime.startsWith(p.slice(0, -1)));
    };
    if (allowed.length > 0 && !allowed.some(fits)) {
      throw new StorageHttpError(415, "invalid_mime_type", `mime type ${mime} is not supported`, "InvalidMimeType");
    }
  }

  async function remove(bucket: string, body: Record<string, unknown>, isService: boolean): Promise<Reply> {
    const prefixes = body.prefixes;
    if (!Array.isArray(prefixes) || prefixes.length < 1 || !prefixes.every((p) => typeof p === "string")) {
      throw new StorageHttpError(400, "Bad Request", "body/prefixes must NOT have fewer than 1 items", "InvalidRequest");
    }
    if (prefixes.length > MAX_BULK_OBJECTS) {
      throw new StorageHttpError(400, "InvalidRequest", `Bulk object requests are limited to ${MAX_BULK_OBJECTS} objects per request.`, "InvalidRequest");
    }
    if (!isService) return { status: 200, body: [] };
    const names = prefixes as string[];
    if (behaviour.deleteMsPerName > 0) await new Promise((r) => setTimeout(r, behaviour.deleteMsPerName * names.length));
    if (behaviour.failAfterNames !== null && behaviour.failTimes > 0) {
      behaviour.failTimes -= 1;
      await deleteNames(bucket, names.slice(0, behaviour.failAfterNames)); // committed before the failure
      throw new StorageHttpError(500, "internal", "Internal Server Error", "InternalError");
    }
    return { status: 200, body: await deleteNames(bucket, names) };
  }

  /** One transaction: the rows (as Storage answers them), then the bytes. */
  async function deleteNames(bucket: string, names: string[]): Promise<Record<string, unknown>[]> {
    const client = await pool.connect();
    let deleted: Record<string, unknown>[];
    try {
      await client.query("begin");
      await client.query("set local storage.allow_delete_query = 'true'");
      const result = await client.query(
        `delete from storage.objects where bucket_id = $1 and name = any($2::text[])
         returning name, bucket_id, owner, owner_id, version, id, updated_at, created_at, last_accessed_at, metadata, user_metadata`,
        [bucket, names],
      );
      await client.query("commit");
      // as the server sends them: its answer schema types owner, owner_id and version as strings, so a null goes
      // out as ""; user_metadata may be null and goes out as stored (an upload stores {})
      deleted = result.rows.map((row) => ({ ...row, owner: row.owner ?? "", owner_id: row.owner_id ?? "", version: row.version ?? "" }));
    } catch (error) {
      await client.query("rollback");
      throw error;
    } finally {
      client.release();
    }
    await Promise.all(deleted.map((row) => rm(fileOf(bucket, String(row.name)), { force: true })));
    return deleted;
  }

  async function list(bucket: string, body: Record<string, unknown>, isService: boolean): Promise<Reply> {
    const limit = Math.min(Number(body.limit ?? 100), MAX_LIST_LIMIT);
    const offset = Number(body.offset ?? 0);
    const sort = (body.sortBy ?? {}) as { column?: string; order?: string };
    const column = ["name", "updated_at", "created_at", "last_accessed_at"].includes(sort.column ?? "") ? sort.column! : "name";
    const order = sort.order?.toLowerCase() === "desc" ? "desc" : "asc";
    if (!Number.isInteger(limit) || limit < 0 || !Number.isInteger(offset) || offset < 0) {
      throw new StorageHttpError(400, "Bad Request", "limit and offset must be non-negative integers", "InvalidRequest");
    }
    if (!isService) return { status: 200, body: [] };
    const prefix = String(body.prefix ?? "").replace(/^\/+/, "");
    const folder = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
    const search = String(body.search ?? "");
    // One level of the tree: direct objects, and each sub-folder once (with null id and metadata).
    const { rows } = await pool.query(
      `with level as (
         select split_part(substr(name, char_length($2) + 1), '/', 1) as entry,
                strpos(substr(name, char_length($2) + 1), '/') > 0 as is_folder, o.*
         from storage.objects o
         where bucket_id = $1 and name like replace(replace(replace($2, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'
       ), entries as (
         select distinct on (entry) entry as name, null::uuid as id, null::timestamptz as updated_at,
                null::timestamptz as created_at, null::timestamptz as last_accessed_at, null::jsonb as metadata
         from level where is_folder
         union all
         select entry, id, updated_at, created_at, last_accessed_at, metadata from level where not is_folder
       )
       select * from entries where $3 = '' or name ilike $3 || '%'
       order by ${column} ${order} nulls first, name ${order} limit $4 offset $5`,
      [bucket, folder, search, limit, offset],
    );
    return { status: 200, body: rows };
  }

  async function upload(req: IncomingMessage, bucket: string, name: string, isService: boolean, upsertByMethod: boolean): Promise<Reply> {
    if (!validKey(name)) throw new StorageHttpError(400, "Invalid Input", `Invalid key: ${name}`, "InvalidKey");
    if (!isService) throw new StorageHttpError(403, "Unauthorized", "new row violates row-level security policy");
    const limits = await bucketLimits(bucket);
    if (!limits) throw new StorageHttpError(404, "Bucket not found", "Bucket not found", "NoSuchBucket");
    const upsert = upsertByMethod || req.headers["x-upsert"] === "true";
    let bytes = await readBody(req);
    let contentType = String(req.headers["content-type"] ?? "application/octet-stream");
    let cacheControl = String(req.headers["cache-control"] ?? "no-cache");
    if (contentType.startsWith("multipart/form-data")) {
      const form = await new Request("http://local/", { method: "POST", headers: { "content-type": contentType }, body: new Uint8Array(bytes) }).formData();
      const file = [...form.values()].find((v): v is File => typeof v !== "string");
      if (!file) throw new StorageHttpError(400, "Bad Request", "No file in multipart body", "InvalidRequest");
      bytes = Buffer.from(await file.arrayBuffer());
      contentType = file.type || "application/octet-stream";
      const cc = form.get("cacheControl");
      if (typeof cc === "string") cacheControl = `max-age=${cc}`;
    }
    enforceLimits(limits, bytes.length, contentType);
    const now = new Date().toISOString();
    const metadata = {
      eTag: `"${createHash("md5").update(bytes).digest("hex")}"`,
      size: bytes.length,
      mimetype: contentType,
      cacheControl,
      lastModified: now,
      contentLength: bytes.length,
      httpStatusCode: 200,
    };
    const id = randomUUID();
    // no user: no owner (the service key has none); the user metadata sent (none here) spread into an object: {}
    const result = await pool.query(
      `insert into storage.objects (id, bucket_id, name, metadata, user_metadata, version, created_at, updated_at, last_accessed_at)
       values ($1, $2, $3, $4, '{}', $5, $6, $6, $6)
       on conflict (bucket_id, name) do update set metadata = excluded.metadata, user_metadata = excluded.user_metadata,
         version = excluded.version, updated_at = excluded.updated_at, last_accessed_at = excluded.last_accessed_at
         where $7
       returning id`,
      [id, bucket, name, metadata, randomUUID(), now, upsert],
    );
    if (result.rowCount === 0) {
      throw new StorageHttpError(409, "Duplicate", "The resource already exists", "KeyAlreadyExists");
    }
    const file = fileOf(bucket, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
    return { status: 200, body: { Id: result.rows[0].id, Key: `${bucket}/${name}` } };
  }

  async function download(bucket: string, name: string, isService: boolean): Promise<Reply> {
    if (!isService || !validKey(name)) throw notFound();
    const { rows } = await pool.query("select metadata from storage.objects where bucket_id = $1 and name = $2", [bucket, name]);
    if (rows.length === 0) {
      if (!(await bucketLimits(bucket))) throw new StorageHttpError(404, "Bucket not found", "Bucket not found", "NoSuchBucket");
      throw notFound();
    }
    const bytes = await readFile(fileOf(bucket, name)).catch(() => {
      throw notFound();
    });
    const meta = rows[0].metadata as { mimetype?: string; eTag?: string };
    return { status: 200, body: bytes, headers: { "content-type": meta.mimetype ?? "application/octet-stream", etag: meta.eTag ?? "" } };
  }

  /** Handles a request whose path is already stripped of `/storage/v1`. */
  async function route(req: IncomingMessage, pathname: string, onDelete: (prefixes: string[]) => void): Promise<Reply> {
    const method = req.method ?? "GET";
    const isService = role(req) === "service_role";
    let m: RegExpMatchArray | null;
    if (method === "POST" && (m = pathname.match(/^\/object\/list\/([^/]+)$/))) return list(m[1]!, await readJson(req), isService);
    if (method === "DELETE" && (m = pathname.match(/^\/object\/([^/]+)\/?$/))) {
      const body = await readJson(req);
      if (Array.isArray(body.prefixes)) onDelete(body.prefixes.map(String));
      return remove(m[1]!, body, isService);
    }
    if ((method === "POST" || method === "PUT") && (m = pathname.match(/^\/object\/([^/]+)\/(.+)$/))) {
      return upload(req, m[1]!, objectName(m[2]!), isService, method === "PUT");
    }
    if (method === "GET" && (m = pathname.match(/^\/object\/(?:authenticated\/)?([^/]+)\/(.+)$/))) {
      return download(m[1]!, objectName(m[2]!), isService);
    }
    return { status: 404, body: { statusCode: 404, error: "Not Found", message: `Route ${method}:${pathname} not found` } };
  }

  return async function handle(req: IncomingMessage, res: ServerResponse, pathname: string, onDelete: (prefixes: string[]) => void = () => {}): Promise<void> {
    let reply: Reply;
    try {
      reply = await route(req, pathname, onDelete);
    } catch (error) {
      reply =
        error instanceof StorageHttpError
          ? error.reply()
          : { status: 500, body: { statusCode: "500", code: "InternalError", error: "internal", message: "Internal Server Error" } };
      if (!(error instanceof StorageHttpError) && !req.destroyed) console.error("[storage] internal error:", error);
    }
    const isBytes = Buffer.isBuffer(reply.body);
    res.writeHead(reply.status, { "content-type": isBytes ? "application/octet-stream" : "application/json", ...reply.headers });
    res.end(isBytes ? reply.body : JSON.stringify(reply.body));
  };
}
