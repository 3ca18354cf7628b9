/**
 * A Storage-API-compatible stand-in for the endpoints export-ops uses (remove, list, upload, download, a bucket
 * and its lifecycle configuration), with Supabase Storage's request and response shapes, limits and error bodies
 * (./storage-http.ts) and its object versioning (./storage-objects.ts). Object metadata lives in
 * `storage.objects`, bytes on disk. Only `service_role` passes; other roles see what Storage's RLS shows them
 * with no policies: nothing.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Pool } from "pg";
import { verifyJwt } from "./jwt";
import { getBucket, lifecycle, updateBucket, type LifecycleRule } from "./storage-buckets";
import { StorageHttpError, objectName, readJson, type Reply } from "./storage-http";
import { download, list, remove, upload, type StandIn } from "./storage-objects";

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

function roleOf(req: IncomingMessage, jwtSecret: string): string {
  const header = req.headers.authorization;
  if (!header) throw new StorageHttpError(403, "Unauthorized", "headers must have required property 'authorization'");
  const claims = verifyJwt(header.replace(/^Bearer\s+/i, ""), jwtSecret);
  if (!claims) throw new StorageHttpError(403, "Unauthorized", "invalid signature");
  return String(claims.role ?? "anon");
}

/** The names (or `{ path }` of exact versions) a bulk delete names, for the gateway's request log. */
const namesIn = (prefixes: unknown[]) =>
  prefixes.map((p) => (p && typeof p === "object" ? String((p as { path?: unknown }).path) : String(p)));

type Route = (req: IncomingMessage, match: RegExpMatchArray, isService: boolean, query: URLSearchParams) => Promise<Reply>;

function routes(ctx: StandIn, lifecycles: Map<string, LifecycleRule[]>, onDelete: (prefixes: string[]) => void): [string, RegExp, Route][] {
  const serviceOnly = (isService: boolean) => {
    if (!isService) throw new StorageHttpError(403, "Unauthorized", "new row violates row-level security policy");
  };
  return [
    ["POST", /^\/object\/list\/([^/]+)$/, async (req, m, isService) => list(ctx, m[1]!, await readJson(req), isService)],
    [
      "DELETE",
      /^\/object\/([^/]+)\/?$/,
      async (req, m, isService) => {
        const body = await readJson(req);
        if (Array.isArray(body.prefixes)) onDelete(namesIn(body.prefixes));
        return remove(ctx, m[1]!, body, isService);
      },
    ],
    ["POST", /^\/object\/([^/]+)\/(.+)$/, (req, m, isService) => upload(ctx, req, m[1]!, objectName(m[2]!), isService, false)],
    ["PUT", /^\/object\/([^/]+)\/(.+)$/, (req, m, isService) => upload(ctx, req, m[1]!, objectName(m[2]!), isService, true)],
    [
      "GET",
      /^\/object\/(?:authenticated\/)?([^/]+)\/(.+)$/,
      async (_req, m, isService, query) => download(ctx, m[1]!, objectName(m[2]!), query.get("versionId"), isService),
    ],
    [
      "*",
      /^\/bucket\/([^/]+)\/lifecycle$/,
      async (req, m, isService) => {
        serviceOnly(isService);
        return lifecycle(ctx.pool, lifecycles, req.method ?? "GET", m[1]!, () => readJson(req));
      },
    ],
    ["GET", /^\/bucket\/([^/]+)$/, async (_req, m, isService) => (serviceOnly(isService), getBucket(ctx.pool, m[1]!))],
    [
      "PUT",
      /^\/bucket\/([^/]+)$/,
      async (req, m, isService) => (serviceOnly(isService), updateBucket(ctx.pool, m[1]!, await readJson(req))),
    ],
  ];
}

export function createStorageHandler({ pool, dataDir, jwtSecret, behaviour = defaultStorageBehaviour() }: StorageServerOptions) {
  const ctx: StandIn = { pool, dataDir, behaviour };
  const lifecycles = new Map<string, LifecycleRule[]>();

  /** Handles a request whose path (`pathname`, with its query) is already stripped of `/storage/v1`. */
  async function route(req: IncomingMessage, pathname: string, onDelete: (prefixes: string[]) => void): Promise<Reply> {
    const method = req.method ?? "GET";
    const isService = roleOf(req, jwtSecret) === "service_role";
    const url = new URL(pathname, "http://stand-in");
    for (const [verb, pattern, handler] of routes(ctx, lifecycles, onDelete)) {
      const match = url.pathname.match(pattern);
      if (match && (verb === "*" || verb === method)) return handler(req, match, isService, url.searchParams);
    }
    return { status: 404, body: { statusCode: 404, error: "Not Found", message: `Route ${method}:${url.pathname} not found` } };
  }

  return async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    pathname: string,
    onDelete: (prefixes: string[]) => void = () => {},
  ): Promise<void> {
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
