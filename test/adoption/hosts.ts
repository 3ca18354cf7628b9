/**
 * Where the adoption tests' host apps are installed: outside this repository, so that nothing of export-ops' own
 * node_modules can leak into a host's module resolution (TypeScript and bundlers look up parent folders).
 */
import { tmpdir } from "node:os";
import path from "node:path";

const base = path.join(tmpdir(), "export-ops-adoption");

/** The host app at older pins (Next 14.2, React 18, supabase-js 2.43, @supabase/ssr 0.1, TS 5.4), with its Supabase CLI. */
export const HOST_APP = path.join(base, "host-app");
/** The same sources at the newest versions (Next 16, React 19, supabase-js 2.119, TS 5.9). */
export const HOST_APP_LATEST = path.join(base, "host-app-latest");
