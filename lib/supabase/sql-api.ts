import { DatabaseError } from "../errors";
import type { SqlApi } from "../ports";
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

/** The SQL API over supabase-js `rpc()`. */
export function createSqlApi(client: ServiceClient): SqlApi {
  return {
    async call<T>(fn: string, args: Record<string, unknown> = {}): Promise<T> {
      try {
        return unwrap<T>(fn, await client.rpc(fn, args));
      } catch (error) {
        if (error instanceof DatabaseError) throw error;
        throw new DatabaseError(`${fn} failed: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}
