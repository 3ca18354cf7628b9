/** Test access to the stack from global setup: env, a superuser SQL pool, and the stand-in's control API. */
import pg from "pg";
import { inject, it } from "vitest";
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

/** Resetting what the stand-in injects is nothing to do on an external project, which has no stand-in. */
const reset = (path: string) => (stack.standIn ? control("DELETE", path) : Promise.resolve(undefined));

/** The stand-in's record of served requests, and fault injection (local stack only: see `itStandIn`). */
export const standIn = {
  requests: () => control("GET", "requests") as Promise<RecordedRequest[]>,
  clearRequests: () => reset("requests"),
  addFault: (fault: Partial<Fault> & { pathPrefix: string }) => control("POST", "faults", fault),
  /** Also resets the Storage behaviour below. */
  clearFaults: () => reset("faults"),
  /** Slow or part-way failing bulk deletes, until clearFaults. */
  setStorage: (behaviour: Partial<StorageBehaviour>) => control("POST", "storage", behaviour),
};

/**
 * A test that injects faults into the Storage stand-in, reads its request record, or relies on the host app
 * fixture the local stack installs before the migrations. Against an external project
 * (TEST_SUPABASE_*) there is no stand-in: the test is reported as not applicable, with why, on a line of its own.
 */
export function itStandIn(
  reason: "fault injection" | "the request record" | "a slow or failing Storage" | "the host app fixture" | "the Postgres major chosen",
) {
  if (stack.standIn) return it;
  return ((name: string, fn?: () => unknown, timeout?: number) =>
    it.skip(`${name} [not applicable to an external project: needs ${reason} of the local stack]`, fn, timeout)) as typeof it;
}
