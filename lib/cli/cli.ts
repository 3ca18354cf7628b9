#!/usr/bin/env node
/**
 * The `export-ops` command, run in the host's Next.js project:
 *
 *   npx export-ops init [--dry-run] [--schedules] [--skip-middleware]
 *                                                    the routes, the crons, the settings, the middleware's matcher
 *                                                    and the migrations (./init.ts); run again, it changes nothing
 *   npx export-ops remove [--dry-run] [--schedules]  undoes exactly what init did; the migrations stay
 *   npx export-ops migrations --into <folder> [--dry-run]   the migrations your folder lacks (./migrations.ts)
 *
 * Every file is named as it is written. Nothing is written while anything stands in the way (exit 1).
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { applyPlan, planInit, planRemove, type Change, type Plan } from "./init";
import { migrationFiles, writeMigrations } from "./migrations";

const USAGE = `usage: npx export-ops init [--dry-run] [--schedules] [--skip-middleware] [--dir <your Next.js project>]
       npx export-ops remove [--dry-run] [--schedules] [--dir <your Next.js project>]
       npx export-ops migrations --into <your app>/supabase/migrations [--dry-run]
`;
const OPTIONS = {
  into: { type: "string" },
  from: { type: "string" },
  dir: { type: "string" },
  "dry-run": { type: "boolean" },
  schedules: { type: "boolean" },
  "skip-middleware": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** export-ops' own migrations, carried beside its build (or `--from`, another folder). */
const migrationsFrom = (from?: string) => path.resolve(from ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "../migrations"));
const say = (line: string) => process.stdout.write(`${line}\n`);

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  const { values } = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help || !["init", "remove", "migrations"].includes(command ?? "")) {
    process.stderr.write(USAGE);
    return values.help || command === "--help" || command === "-h" ? 0 : 2;
  }
  const dryRun = values["dry-run"] ?? false;
  if (command === "migrations") return migrations(values.into, migrationsFrom(values.from), dryRun);
  const root = path.resolve(values.dir ?? ".");
  const form = values.schedules ? "schedules" : "crons";
  const plan =
    command === "init"
      ? planInit(root, { form, skipMiddleware: values["skip-middleware"], extra: initMigrations(root, migrationsFrom(values.from)) })
      : planRemove(root, { form });
  return carryOut(root, plan, command === "init" ? "init" : "remove", dryRun);
}

/** The host's supabase/migrations gains export-ops' missing ones, when the project has that folder. */
function initMigrations(root: string, from: string): Change[] {
  const into = path.join(root, "supabase/migrations");
  if (!existsSync(into)) return [];
  return migrationFiles(from, into).map((m) => ({ file: `supabase/migrations/${m.target}`, action: "create", content: m.content }));
}

function carryOut(root: string, plan: Plan, command: "init" | "remove", dryRun: boolean): number {
  if (plan.problems.length > 0) {
    process.stderr.write(`export-ops ${command} changed nothing:\n${plan.problems.map((p) => `- ${p}`).join("\n")}\n`);
    return 1;
  }
  if (!dryRun) applyPlan(root, plan);
  const verb = (action: Change["action"]) =>
    dryRun ? `would ${action}` : { create: "created", update: "changed", delete: "deleted" }[action];
  for (const change of plan.changes) say(`${verb(change.action)} ${change.file}`);
  if (plan.changes.length === 0) say(`export-ops ${command}: nothing to change`);
  if (command === "init" && plan.changes.length > 0) plan.notes.push(...nextSteps(root));
  for (const note of plan.notes) say(note);
  return 0;
}

/** What init leaves to the person: the migrations pushed (or written first, without supabase/migrations), the settings, a deploy. */
function nextSteps(root: string): string[] {
  const pushed = existsSync(path.join(root, "supabase/migrations"))
    ? "`supabase db push` (the migrations are in supabase/migrations)"
    : "export-ops' migrations: this project has no supabase/migrations, so run `supabase init` and `supabase link`, then `npx export-ops migrations --into supabase/migrations` and `supabase db push` (docs/ADOPTING.md#the-migrations)";
  return [`Next: ${pushed}; set the settings of .env.example's export-ops block on Vercel; deploy; then open /ops.`];
}

function migrations(into: string | undefined, from: string, dryRun: boolean): number {
  if (!into) {
    process.stderr.write(USAGE);
    return 2;
  }
  const folder = path.resolve(into);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    process.stderr.write(`${folder} is not a folder: give your app's supabase/migrations (supabase init creates it)\n`);
    return 2;
  }
  const { plan, total } = writeMigrations(from, folder, { dryRun });
  for (const { target } of plan) say(`${dryRun ? "would write" : "wrote"} ${path.join(folder, target)}`);
  say(
    plan.length === 0
      ? `${folder} has every export-ops migration (${total}); nothing to write`
      : `${plan.length} of ${total} export-ops migrations ${dryRun ? "would be written" : "written"}; next: supabase db push`,
  );
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 2;
}
