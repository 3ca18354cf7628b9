/**
 * Where the adoption tests' host apps are installed: outside this repository, so that nothing of export-ops' own
 * node_modules can leak into a host's module resolution (TypeScript and bundlers look up parent folders).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const base = path.join(tmpdir(), "export-ops-adoption");

/** The host app at older pins (Next 14.2, React 18, supabase-js 2.43, @supabase/ssr 0.1, TS 5.4, zod 3), with its Supabase CLI. */
export const HOST_APP = path.join(base, "host-app");
/** The same sources at the newest versions (Next 16, React 19, supabase-js 2.119, TS 5.9). */
export const HOST_APP_LATEST = path.join(base, "host-app-latest");

/** A host's package-lock.json as `npm ci` left it, before export-ops was installed (kept outside the host's tree). */
export const lockBeforeExportOps = (dir: string) => `${dir}.lock-before-export-ops.json`;

/** The host's own migration, already in its supabase/migrations before export-ops is adopted. */
export const HOST_MIGRATION = "supabase/migrations/20240601120000_host_app.sql";

/**
 * What the adoption run measured (install size, route sizes, cold start, durations), per host: written to
 * .adoption-figures.json at the repository's root (not committed), one section merged in at a time.
 */
export const FIGURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../.adoption-figures.json");

export type Figures = { hosts: Record<string, Record<string, unknown>>; [key: string]: unknown };

export function readFigures(): Figures {
  try {
    return JSON.parse(readFileSync(FIGURES, "utf8")) as Figures;
  } catch {
    return { hosts: {} };
  }
}

export function recordFigures(host: string, section: string, figures: unknown): void {
  const all = readFigures();
  all.hosts[host] = { ...all.hosts[host], [section]: figures };
  writeFileSync(FIGURES, `${JSON.stringify(all, null, 2)}\n`);
}

/** A figure of the whole run (not of one host). */
export function recordRunFigure(key: string, value: unknown): void {
  writeFileSync(FIGURES, `${JSON.stringify({ ...readFigures(), [key]: value }, null, 2)}\n`);
}
