/**
 * How the library reaches the database: export-ops' SQL API over PostgREST RPC. A host passes its own supabase-js
 * client (any 2.x, typed with its own Database or not); anything with the same `rpc` and `from` works.
 */

/** One call of the SQL API: a function's name and its named arguments, resolving to its result. */
export type Rpc = (fn: string, args: Record<string, unknown>) => Promise<unknown>;

/**
 * The part of a supabase-js client the library uses. Loosely typed on purpose: every 2.x client, typed with the
 * host's generated `Database` or not, fits, and the host upgrades nothing.
 */
export interface SupabaseLike {
  rpc(...args: any[]): PromiseLike<{ data: unknown; error: PostgrestErrorLike | null }>;
  from(...args: any[]): any;
}

export interface PostgrestErrorLike {
  message: string;
  code?: string;
  details?: string | null;
  hint?: string | null;
}

/** A failed call of the SQL API, with PostgREST's or Postgres' own code (e.g. `P0001`, `23503`) when there is one. */
export class ExportOpsError extends Error {
  readonly code = "database_error";
  readonly dbCode?: string;
  readonly details?: string;
  constructor(message: string, options: { dbCode?: string; details?: string | null; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "ExportOpsError";
    if (options.dbCode) this.dbCode = options.dbCode;
    if (options.details) this.details = options.details;
  }
}

/** The SQL API over a supabase-js client: `{data, error}` unwrapped, an error thrown as an ExportOpsError. */
export function rpcOf(client: SupabaseLike): Rpc {
  return async (fn, args) => {
    let answer: { data: unknown; error: PostgrestErrorLike | null };
    try {
      answer = await client.rpc(fn, args);
    } catch (cause) {
      throw new ExportOpsError(`${fn} failed: ${(cause as Error).message}`, { cause });
    }
    if (answer.error) throw new ExportOpsError(`${fn} failed: ${answer.error.message}`, { dbCode: answer.error.code, details: answer.error.details });
    return answer.data;
  };
}
