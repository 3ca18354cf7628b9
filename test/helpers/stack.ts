/** Test access to the stack from global setup: env, a superuser SQL pool, and the stand-in's control API. */
import pg from "pg";
import { inject } from "vitest";
import type { Fault, RecordedRequest } from "../../scripts/local-stack/gateway";
import type { StorageBehaviour } from "../../scripts/local-stack/storage-server";
import { userToken } from "../../scripts/local-stack/jwt";

export const stack = inject("stack");

let pool: pg.Pool | undefined;

/** Superuser pool (bypasses RLS): for arranging data and checking results, never for the code under test. */
export function sql(): pg.Pool {
  pool ??= new pg.Pool({ connectionString: stack.DATABASE_URL, max: 4 });
  return pool;
}

export async function closeSql(): Promise<void> {
  await pool?.end();
  pool = undefined;
}

export const serviceHeaders = {
  apikey: stack.SUPABASE_SERVICE_ROLE_KEY,
  authorization: `Bearer ${stack.SUPABASE_SERVICE_ROLE_KEY}`,
};

export const anonHeaders = { apikey: stack.SUPABASE_ANON_KEY, authorization: `Bearer ${stack.SUPABASE_ANON_KEY}` };

export function userHeaders(userId: string) {
  return { apikey: stack.SUPABASE_ANON_KEY, authorization: `Bearer ${userToken(userId, stack.SUPABASE_JWT_SECRET)}` };
}

async function control(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${stack.SUPABASE_URL}/__stack/${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.SUPABASE_SERVICE_ROLE_KEY}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`stack control ${method} ${path}: ${res.status}`);
  return res.json();
}

/** The stand-in's record of served requests, and fault injection (local stack only). */
export const standIn = {
  requests: () => control("GET", "requests") as Promise<RecordedRequest[]>,
  clearRequests: () => control("DELETE", "requests"),
  addFault: (fault: Partial<Fault> & { pathPrefix: string }) => control("POST", "faults", fault),
  /** Also resets the Storage behaviour below. */
  clearFaults: () => control("DELETE", "faults"),
  /** Slow or part-way failing bulk deletes, until clearFaults. */
  setStorage: (behaviour: Partial<StorageBehaviour>) => control("POST", "storage", behaviour),
};
