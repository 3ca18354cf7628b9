/**
 * What every endpoint of the Storage stand-in shares: Storage's limits, its error bodies (every 4xx is sent as
 * HTTP 400 with the real code in `statusCode`), its key rule and the request body readers.
 */
import type { IncomingMessage } from "node:http";

/**
 * Storage's own cap on names (or versions) in one bulk delete. The same name and value as lib/ports.ts's, which the
 * adapter sends by, and kept apart from it on purpose: this is the server's limit, so a client that sends more is
 * refused here as Storage refuses it.
 */
export const MAX_NAMES_PER_DELETE = 1000;
/** Storage's global upload limit (FILE_SIZE_LIMIT; 50 MB on hosted Supabase's free plan). */
export const GLOBAL_FILE_SIZE_LIMIT = 50 * 1024 * 1024;
export const MAX_LIST_LIMIT = 1500;
export const MAX_KEY_BYTES = 1024;
// Storage's own key rule (isValidKey): word characters and a few safe punctuation marks.
const VALID_KEY = /^(\w|\/|!|-|\.|\*|'|\(|\)| |&|\$|@|=|;|:|\+|,|\?)*$/;

export type Reply = { status: number; body: unknown; headers?: Record<string, string> };

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
    const body = {
      statusCode: String(this.statusCode),
      ...(this.code ? { code: this.code } : {}),
      error: this.error,
      message: this.message,
    };
    return { status: this.statusCode >= 500 ? this.statusCode : 400, body };
  }
}

export const notFound = () => new StorageHttpError(404, "not_found", "Object not found", "NoSuchKey");
export const noSuchBucket = () => new StorageHttpError(404, "Bucket not found", "Bucket not found", "NoSuchBucket");
export const badRequest = (message: string) => new StorageHttpError(400, "Bad Request", message, "InvalidRequest");

export function validKey(name: string): boolean {
  return (
    name.length > 0 &&
    Buffer.byteLength(name) <= MAX_KEY_BYTES &&
    VALID_KEY.test(name) &&
    !name.split("/").some((s) => s === ".." || s === ".")
  );
}

/** supabase-js strips leading/trailing slashes and collapses `//`; the server sees the cleaned name. */
export function objectName(rest: string): string {
  return decodeURIComponent(rest)
    .replace(/^\/+|\/+$/g, "")
    .replace(/\/+/g, "/");
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = (await readBody(req)).toString("utf8");
  try {
    const value: unknown = raw ? JSON.parse(raw) : {};
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw badRequest("Body is not a JSON object");
}
