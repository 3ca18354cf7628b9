/**
 * `export-ops init` and `export-ops remove` on a host's Next.js project: a plan of every file to create, change or
 * delete is made first, from the files as they are; where anything stands in the way (a file of the host's at a
 * route's path, a file edited since init, a middleware init cannot extend) the plan holds a problem and nothing is
 * written. Applying the plan is the only step that writes. init run twice changes nothing the second time; remove
 * undoes exactly what init did, and leaves the migrations to the documented uninstall.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { addSettings, removeSettings } from "./env-example";
import { MIDDLEWARE_FILES, manualChange, patchMiddleware, unpatchMiddleware } from "./middleware";
import { routeFiles } from "./route-files";
import { addSchedules, removeSchedules, type ScheduleForm } from "./vercel-json";

export interface Change {
  /** Relative to the project's root, with `/`. */
  file: string;
  action: "create" | "update" | "delete";
  content: string | null;
}

export interface Plan {
  changes: Change[];
  /** What stands in the way; while there is any, nothing is written. */
  problems: string[];
  /** What the person should know or do next, printed after the changes. */
  notes: string[];
}

export interface InitOptions {
  form: ScheduleForm;
  /** The host let export-ops' paths through its middleware itself: init leaves the middleware alone. */
  skipMiddleware?: boolean;
  /** Extra files to create (export-ops' migrations for the host's supabase/migrations), planned by the caller. */
  extra?: Change[];
}

/** A route file of the host's that imports export-ops/next and calls the route's factory (`cronRoute("<job>")`). */
const mounts = (source: string, call: string) =>
  /from\s+["']export-ops\/next["']/.test(source) && source.replace(/\s+/g, "").includes(call.replace(/\s+/g, ""));

const DOCS = "https://github.com/export-ops/export-ops/blob/main/docs/ADOPTING.md";

const read = (root: string, file: string) => (existsSync(path.join(root, file)) ? readFileSync(path.join(root, file), "utf8") : null);

/** `src/app` when the project keeps its app there (and has no top-level `app`), else `app`. */
export function appFolder(root: string): string {
  return !existsSync(path.join(root, "app")) && existsSync(path.join(root, "src/app")) ? "src/app" : "app";
}

export function planInit(root: string, options: InitOptions): Plan {
  const plan: Plan = { changes: [], problems: [], notes: [] };
  if (read(root, "package.json") === null) plan.problems.push(`${root} has no package.json: run init in your Next.js project's folder`);
  const app = appFolder(root);
  for (const route of routeFiles()) {
    const file = `${app}/${route.path}`;
    const current = read(root, file);
    if (current === null) plan.changes.push({ file, action: "create", content: route.content });
    else if (current === route.content) continue;
    else if (mounts(current, route.mounts)) plan.notes.push(`Kept ${file}: it mounts export-ops' handler as you wrote it.`);
    else plan.problems.push(`${file} exists and is not export-ops' route: move it, or mount export-ops' handler there (${route.mounts})`);
  }
  const vercel = addSchedules(read(root, "vercel.json"), options.form);
  if (vercel.kind === "changed")
    plan.changes.push({ file: "vercel.json", action: read(root, "vercel.json") === null ? "create" : "update", content: vercel.content });
  if (vercel.kind === "manual")
    plan.problems.push(
      `vercel.json is not edited: ${vercel.reason}; lay it out as JSON.stringify(…, null, 2) writes it and run init again, or add export-ops' entries by hand (${DOCS}#when-init-refuses)`,
    );
  const env = addSettings(read(root, ".env.example"));
  if (env !== undefined)
    plan.changes.push({ file: ".env.example", action: read(root, ".env.example") === null ? "create" : "update", content: env });
  if (options.skipMiddleware) plan.notes.push("The middleware is left as it is (--skip-middleware).");
  else planMiddleware(root, plan, (source) => patchMiddleware(source));
  plan.changes.push(...(options.extra ?? []).filter((c) => read(root, c.file) === null));
  return plan;
}

export function planRemove(root: string, options: { form: ScheduleForm }): Plan {
  const plan: Plan = { changes: [], problems: [], notes: [] };
  const app = appFolder(root);
  for (const route of routeFiles()) {
    const file = `${app}/${route.path}`;
    const current = read(root, file);
    if (current === route.content) plan.changes.push({ file, action: "delete", content: null });
    else if (current !== null) plan.problems.push(`${file} was edited since init: delete it by hand, or put it back as init wrote it`);
  }
  const vercelSource = read(root, "vercel.json");
  if (vercelSource !== null) {
    const vercel = removeSchedules(vercelSource, options.form);
    if (vercel.kind === "changed")
      plan.changes.push({ file: "vercel.json", action: vercel.content === null ? "delete" : "update", content: vercel.content });
    if (vercel.kind === "manual") plan.problems.push(`vercel.json is not edited: ${vercel.reason}; take export-ops' entries out by hand`);
  }
  const envSource = read(root, ".env.example");
  if (envSource !== null) {
    const env = removeSettings(envSource);
    if (env.kind === "removed")
      plan.changes.push({ file: ".env.example", action: env.content === null ? "delete" : "update", content: env.content });
    if (env.kind === "edited")
      plan.problems.push(`.env.example: export-ops' block was edited since init (${env.line}): take it out by hand`);
  }
  for (const file of MIDDLEWARE_FILES) {
    const source = read(root, file);
    const original = source === null ? undefined : unpatchMiddleware(source);
    if (original !== undefined) plan.changes.push({ file, action: "update", content: original });
  }
  plan.notes.push(`export-ops' tables and functions stay in your database: ${DOCS}#uninstalling says how to remove them.`);
  return plan;
}

function planMiddleware(root: string, plan: Plan, patch: typeof patchMiddleware): void {
  for (const file of MIDDLEWARE_FILES) {
    const source = read(root, file);
    if (source === null) continue;
    const result = patch(source);
    if (result.kind === "patched") plan.changes.push({ file, action: "update", content: result.content });
    if (result.kind === "manual") plan.problems.push(`${file} is not edited: ${result.reason}.\n${manualChange(file)}`);
  }
}

/** Writes the plan (never one with problems); the route folders remove empties go too, up to the app folder. */
export function applyPlan(root: string, plan: Plan): void {
  if (plan.problems.length > 0) throw new Error("a plan with problems is not applied");
  const app = path.join(root, appFolder(root));
  for (const change of plan.changes) {
    const target = path.join(root, change.file);
    if (change.action === "delete") {
      rmSync(target);
      if (target.startsWith(`${app}${path.sep}`)) removeEmptyFolders(app, path.dirname(target));
    } else {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, change.content ?? "");
    }
  }
}

function removeEmptyFolders(floor: string, folder: string): void {
  for (let dir = folder; dir !== floor && dir.startsWith(floor) && readdirSync(dir).length === 0; dir = path.dirname(dir)) rmdirSync(dir);
}
