import type { z } from "zod";
import { DatabaseError } from "../errors";
import type { SqlApi } from "../ports";
import { sqlFunctions, type SqlFunction } from "../sql-contract";
import { inSpan } from "../tracing";
import type { ServiceClient } from "./client";

interface PostgrestLikeError {
  message: string;
  code?: string;
  details?: string | null;
  hint?: string | null;
}

/** The one place `{data, error}` from PostgREST is unwrapped: an error becomes a typed DatabaseError. */
export function unwrap<T>(fn: string, response: { data: T | null; error: PostgrestLikeError | null }): T {
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

/**
 * The SQL API over supabase-js `rpc()`, checked against the contract in lib/sql-contract.ts both ways: arguments before
 * they are sent, and the result before anyone reads it.
 */
export function createSqlApi(client: ServiceClient): SqlApi {
  function call(fn: SqlFunction, args: Record<string, unknown> = {}): Promise<unknown> {
    return inSpan(`sql ${fn}`, { "db.system.name": "postgresql", "db.operation.name": fn }, () => checkedCall(fn, args));
  }
  async function checkedCall(fn: SqlFunction, args: Record<string, unknown>): Promise<unknown> {
    const contract = sqlFunctions[fn];
    if (!contract) throw new DatabaseError(`${fn} is not in the SQL API (lib/sql-contract.ts)`);
    const input = contract.args.safeParse(args);
    if (!input.success) throw new DatabaseError(`${fn} called with bad arguments: ${firstIssue(input.error)}`);
    let data: unknown;
    try {
      data = "media" in contract ? await callForText(fn, input.data, contract.media) : unwrap(fn, await client.rpc(fn, input.data));
    } catch (error) {
      if (error instanceof DatabaseError) throw error;
      throw new DatabaseError(`${fn} failed: ${(error as Error).message}`, { cause: error });
    }
    const output = contract.result.safeParse(data);
    if (!output.success) throw new DatabaseError(`${fn} returned a malformed result: ${firstIssue(output.error)}`);
    return output.data;
  }
  /**
   * A function whose result is text of its own media type: asked for in that type, PostgREST sends the text as it
   * is (supabase-js `rpc()` would parse it as JSON), and the caller reads it as it arrives. Same endpoint, headers
   * and fetch (with its timeout) as the client's own calls.
   */
  async function callForText(fn: SqlFunction, args: unknown, media: string): Promise<ReadableStream<Uint8Array>> {
    const rest = client.schema("public");
    const response = await (rest.fetch ?? fetch)(`${rest.url}/rpc/${fn}`, {
      method: "POST",
      headers: { ...Object.fromEntries(rest.headers), accept: media, "content-type": "application/json" },
      body: JSON.stringify(args),
    });
    if (response.ok) return response.body ?? new Response("").body!;
    const body = await response.text();
    let error: PostgrestLikeError;
    try {
      error = JSON.parse(body) as PostgrestLikeError;
    } catch {
      error = { message: body || `HTTP ${response.status}` };
    }
    return unwrap<ReadableStream<Uint8Array>>(fn, { data: null, error });
  }
  return { call: call as SqlApi["call"] };
}
