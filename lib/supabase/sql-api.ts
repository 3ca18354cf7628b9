/**
 * The SQL API client: export-ops' SQL functions over a supabase-js client's `rpc()`, checked against the contract in
 * lib/sql-contract.ts both ways, every failure a DatabaseError, each call a span (lib/tracing.ts). The jobs get it as
 * the SqlApi port (lib/ports.ts) over the app's service client; the host library (lib/host) over the host's own
 * client. It imports nothing of supabase-js: any 2.x client from 2.43 on fits SupabaseLike, typed with the host's
 * generated `Database` or not.
 */
import type * as z from "zod";
import { DatabaseError } from "../errors";
import type { SqlApi } from "../ports";
import { sqlFunctions, type SqlFunction } from "../sql-contract";
import { inSpan } from "../tracing";

/** An error as PostgREST (and supabase-js' `{data, error}`) gives it. */
export interface PostgrestErrorLike {
  message: string;
  code?: string;
  details?: string | null;
  hint?: string | null;
}

/**
 * The part of a supabase-js client export-ops uses: `rpc` (the SQL API), `from` (the export log row, lib/host) and
 * `schema("public")` (the SQL functions whose result is text, asked for in their own media type). Loosely typed on
 * purpose: every 2.x client, typed with the host's generated `Database` or not, fits, and the host upgrades nothing.
 * `schema` is checked when such a function is called.
 */
export interface SupabaseLike {
  rpc(...args: any[]): PromiseLike<{ data: unknown; error: PostgrestErrorLike | null }>;
  from(...args: any[]): any;
  schema?(...args: any[]): unknown;
}

/** What the SQL API client needs of a supabase-js client. */
export type SqlApiClient = Pick<SupabaseLike, "rpc" | "schema">;

/** The REST endpoint of a supabase-js client's `schema("public")`: headers a Headers (2.5x on) or a plain record (2.43). */
interface RestEndpoint {
  url: string;
  headers: Headers | Record<string, string>;
  fetch?: typeof fetch;
}

/** The one place `{data, error}` from PostgREST is unwrapped: an error becomes a DatabaseError with PostgREST's code. */
export function unwrap<T>(fn: string, response: { data: T | null; error: PostgrestErrorLike | null }): T {
  if (response.error) {
    const { message, code } = response.error;
    throw new DatabaseError(`${fn} failed: ${message}`, { cause: response.error, dbCode: code });
  }
  return response.data as T;
}

/** Where a value fails a schema: "p_limit: must be at most 1000" or "claimed.0.export_id: Invalid input". */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.join(".") || "(value)"}: ${issue.message}`;
}

/** The client's REST endpoint for `public`, or a DatabaseError saying the client has none. */
function restEndpoint(client: SqlApiClient, fn: SqlFunction): RestEndpoint {
  const rest = (typeof client.schema === "function" ? client.schema("public") : undefined) as Partial<RestEndpoint> | undefined;
  if (typeof rest?.url !== "string" || typeof rest.headers !== "object" || rest.headers === null) {
    throw new DatabaseError(
      `${fn} needs the client's schema("public") with its url and headers (supabase-js 2.43 or later); this client has none`,
    );
  }
  return rest as RestEndpoint;
}

/**
 * A function whose result is text of its own media type: asked for in that type, PostgREST sends the text as it is
 * (supabase-js `rpc()` would parse it as JSON), and the caller reads it as it arrives. Same endpoint, headers and
 * fetch (with its timeout, where the client has one) as the client's own calls.
 */
async function callForText(client: SqlApiClient, fn: SqlFunction, args: unknown, media: string): Promise<ReadableStream<Uint8Array>> {
  const rest = restEndpoint(client, fn);
  const headers = new Headers(rest.headers);
  headers.set("accept", media);
  headers.set("content-type", "application/json");
  const response = await (rest.fetch ?? fetch)(`${rest.url}/rpc/${fn}`, { method: "POST", headers, body: JSON.stringify(args) });
  if (response.ok) return response.body ?? new Response("").body!;
  const body = await response.text();
  let error: PostgrestErrorLike;
  try {
    error = JSON.parse(body) as PostgrestErrorLike;
  } catch {
    error = { message: body || `HTTP ${response.status}` };
  }
  return unwrap<ReadableStream<Uint8Array>>(fn, { data: null, error });
}

/** One call: its arguments checked, then sent, then its result checked; every failure a DatabaseError. */
async function checkedCall(client: SqlApiClient, fn: SqlFunction, args: Record<string, unknown>): Promise<unknown> {
  const contract = sqlFunctions[fn];
  if (!contract) throw new DatabaseError(`${fn} is not in the SQL API (lib/sql-contract.ts)`);
  const input = contract.args.safeParse(args);
  if (!input.success) throw new DatabaseError(`${fn} called with bad arguments: ${firstIssue(input.error)}`);
  let data: unknown;
  try {
    data = "media" in contract ? await callForText(client, fn, input.data, contract.media) : unwrap(fn, await client.rpc(fn, input.data));
  } catch (error) {
    if (error instanceof DatabaseError) throw error;
    throw new DatabaseError(`${fn} failed: ${(error as Error).message}`, { cause: error });
  }
  const output = contract.result.safeParse(data);
  if (!output.success) throw new DatabaseError(`${fn} returned a malformed result: ${firstIssue(output.error)}`);
  return output.data;
}

/**
 * The SQL API over a supabase-js client, checked against the contract in lib/sql-contract.ts both ways: arguments
 * before they are sent, and the result before anyone reads it.
 */
export function createSqlApi(client: SqlApiClient): SqlApi {
  function call(fn: SqlFunction, args: Record<string, unknown> = {}): Promise<unknown> {
    return inSpan(`sql ${fn}`, { "db.system.name": "postgresql", "db.operation.name": fn }, () => checkedCall(client, fn, args));
  }
  return { call: call as SqlApi["call"] };
}
