/**
 * The service-role Supabase client. Only lib/supabase/* imports supabase-js; everything else uses the ports.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";

export type ServiceClient = SupabaseClient;

import { REQUEST_TIMEOUT_MS } from "../ports";
import { httpFetch } from "./http-fetch";

/** Requests that hang are aborted (after REQUEST_TIMEOUT_MS), so a stuck Storage or PostgREST call cannot eat a job's whole budget. */
export { REQUEST_TIMEOUT_MS };

function fetchWithTimeout(timeoutMs: number): typeof fetch {
  return (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return httpFetch(input, { ...init, signal });
  };
}

/** A client that acts as `service_role`: no session, no token refresh, a timeout on every request (see ./http-fetch). */
export function createServiceClient(url: string, serviceRoleKey: string, options: { timeoutMs?: number } = {}): ServiceClient {
  return createClient(url, serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { fetch: fetchWithTimeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS) },
  });
}
