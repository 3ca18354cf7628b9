#!/usr/bin/env node
/**
 * `npx export-ops migrations --into supabase/migrations [--dry-run]`: writes export-ops' migrations your folder
 * lacks, dated after its newest (see ./migrations.ts); then `supabase db push`. `--from` reads them from another
 * folder than the ones this package carries.
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeMigrations } from "./migrations.ts";

const USAGE = "usage: npx export-ops migrations --into <your app>/supabase/migrations [--dry-run]\n";

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command !== "migrations") {
    process.stderr.write(USAGE);
    return command === "--help" || command === "-h" ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: { into: { type: "string" }, from: { type: "string" }, "dry-run": { type: "boolean" }, help: { type: "boolean" } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help || !values.into) {
    process.stderr.write(USAGE);
    return values.help ? 0 : 2;
  }
  const from = path.resolve(values.from ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "../migrations"));
  const into = path.resolve(values.into);
  if (!existsSync(into) || !statSync(into).isDirectory()) {
    process.stderr.write(`${into} is not a folder: give your app's supabase/migrations (supabase init creates it)\n`);
    return 2;
  }
  const dryRun = values["dry-run"] ?? false;
  const { plan, total } = writeMigrations(from, into, { dryRun });
  for (const { target } of plan) process.stdout.write(`${dryRun ? "would write" : "wrote"} ${path.join(into, target)}\n`);
  process.stdout.write(
    plan.length === 0
      ? `${into} has every export-ops migration (${total}); nothing to write\n`
      : `${plan.length} of ${total} export-ops migrations ${dryRun ? "would be written" : "written"}; next: supabase db push\n`,
  );
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 2;
}
