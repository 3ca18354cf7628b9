// Builds the export-ops package (packages/export-ops) for `npm pack`: dist/ from src/ with TypeScript (ES2020
// JavaScript and .d.ts, imports ending in .js), and migrations/ from supabase/ (every migration, and uninstall.sql), so the package carries
// the SQL its `export-ops migrations` command writes into a host's folder.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = path.join(root, "packages/export-ops");
for (const dir of ["dist", "migrations"]) rmSync(path.join(pkg, dir), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", path.join(pkg, "tsconfig.json")], { stdio: "inherit" });
// tsc rewrites the sources' `./x.ts` imports to `./x.js` in the JavaScript it emits, not in declarations: the
// same there, so that a host's TypeScript (5.0 on) reads them
const dist = path.join(pkg, "dist");
for (const name of readdirSync(dist).filter((n) => n.endsWith(".d.ts"))) {
  const file = path.join(dist, name);
  writeFileSync(file, readFileSync(file, "utf8").replace(/(from\s+"\.\/[a-z-]+)\.ts"/g, '$1.js"'));
}
mkdirSync(path.join(pkg, "migrations"));
const sql = path.join(root, "supabase/migrations");
for (const name of readdirSync(sql).filter((n) => n.endsWith(".sql"))) copyFileSync(path.join(sql, name), path.join(pkg, "migrations", name));
copyFileSync(path.join(root, "supabase/uninstall.sql"), path.join(pkg, "uninstall.sql"));
