/**
 * Module boundaries, checked on the import graph (not by convention): jobs, erasure and what they share (the log
 * archive, the file rules, alerting) reach the database and Storage only through the ports — never supabase-js or Vercel, directly or through another module; only
 * lib/supabase imports supabase-js; the cron wrapper is the only importer of @vercel/functions; the host library (the
 * package's main entry, lib/index.ts: what a host's export endpoint bundles) reaches only its own files, the SQL API
 * client and its contract, zod and the OpenTelemetry API — never the jobs, the HTTP wrappers, next, @vercel/*, pino,
 * prom-client or supabase-js (the host passes its own client in); the HTTP guard does not import the job runner.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    if (name === "dist" || name === "node_modules") return []; // the package's build, and what it installs
    if (statSync(path.join(root, rel)).isDirectory()) return sourceFiles(rel);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [rel] : [];
  });
}

/** The module specifiers a file imports (static and dynamic, type-only ones left out: they vanish at build). */
function importsOf(file: string): string[] {
  const source = readFileSync(path.join(root, file), "utf8");
  const specs = [...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']/gm)].map((m) => m[1]!);
  const dynamic = [...source.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!);
  return [...specs, ...dynamic];
}

function resolve(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".") && !spec.startsWith("@/")) return undefined; // a package
  const base = spec.startsWith("@/") ? path.join(root, spec.slice(2)) : path.resolve(path.dirname(path.join(root, from)), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return path.relative(root, candidate);
  }
  throw new Error(`${from}: cannot resolve ${spec}`);
}

/** Every local file and every package a file reaches through its local imports, each with the path that leads there. */
function reachable(start: string): { files: Map<string, string[]>; packages: Map<string, string[]> } {
  const files = new Map<string, string[]>();
  const packages = new Map<string, string[]>();
  const walk = (file: string, trail: string[]) => {
    if (files.has(file)) return;
    files.set(file, trail);
    for (const spec of importsOf(file)) {
      const local = resolve(file, spec);
      if (local) walk(local, [...trail, local]);
      else if (!packages.has(spec)) packages.set(spec, trail);
    }
  };
  walk(start, [start]);
  return { files, packages };
}

const reachablePackages = (start: string) => reachable(start).packages;
const via = ([name, trail]: [string, string[]]) => `${name} via ${trail.join(" -> ")}`;

/** What the host library may reach of lib/: its own files, the SQL API client and contract, and what those import. */
const HOST_LIBRARY = /^lib\/(index\.ts|host\/[\w-]+\.ts|supabase\/sql-api\.ts|sql-contract\.ts|setting-bounds\.ts|errors\.ts|tracing\.ts)$/;

const libFiles = sourceFiles("lib");
const jobFiles = ["lib/jobs", "lib/erasure", "lib/archive", "lib/files", "lib/alerting", "lib/checkins"].flatMap(sourceFiles);

describe("module boundaries", () => {
  it("finds the modules it checks", () => {
    expect(jobFiles.length).toBeGreaterThan(6);
    expect(importsOf("lib/jobs/index.ts")).toContain("./export-file-cleanup");
  });

  it.each(jobFiles)("%s reaches neither supabase-js, Vercel nor Next, directly or through another module", (file) => {
    const reached = reachablePackages(file);
    const forbidden = [...reached.entries()].filter(([pkg]) => /^(@supabase\/|@vercel\/|next($|\/))/.test(pkg));
    expect(forbidden.map(via)).toEqual([]);
  });

  it("lets only lib/supabase import supabase-js", () => {
    const importers = libFiles.filter((f) => importsOf(f).some((s) => s.startsWith("@supabase/")));
    expect(importers.every((f) => f.startsWith("lib/supabase/"))).toBe(true);
    expect(importers.length).toBeGreaterThan(0);
  });

  it("lets only the cron wrapper import @vercel/functions", () => {
    const importers = libFiles.filter((f) => importsOf(f).some((s) => s.startsWith("@vercel/")));
    expect(importers.sort()).toEqual(["lib/http/with-cron.ts"]);
  });

  it("keeps the host library (`export-ops`, what a host's export endpoint bundles) to itself, the SQL API client and its contract", () => {
    const { files } = reachable("lib/index.ts");
    for (const file of ["lib/host/service.ts", "lib/host/export-log.ts", "lib/supabase/sql-api.ts", "lib/sql-contract.ts", "lib/errors.ts"]) expect(files.has(file)).toBe(true);
    // never the jobs, the HTTP wrappers, the app's settings, logger or supabase-js client: none of those is bundled
    expect([...files].filter(([file]) => !HOST_LIBRARY.test(file)).map(via)).toEqual([]);
  });

  it("keeps the host library off next, @vercel/*, pino, prom-client and supabase-js: zod, the OpenTelemetry API and Node's modules only", () => {
    const { packages } = reachable("lib/index.ts");
    const forbidden = [...packages].filter(([pkg]) => /^(next($|\/)|@vercel\/|pino($|\/)|prom-client$|@supabase\/)/.test(pkg));
    expect(forbidden.map(via)).toEqual([]);
    expect([...packages.keys()].filter((pkg) => !pkg.startsWith("node:")).sort()).toEqual(["@opentelemetry/api", "zod"]);
  });

  it("keeps the HTTP guard apart from the job runner", () => {
    expect(reachablePackages("lib/http/with-bearer.ts").size).toBeGreaterThan(0);
    const local = importsOf("lib/http/with-bearer.ts").map((s) => resolve("lib/http/with-bearer.ts", s)).filter(Boolean);
    expect(local.filter((f) => f!.startsWith("lib/jobs/"))).toEqual([]);
  });
});
