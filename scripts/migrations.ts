/**
 * Writes export-ops' migrations into a host project's migrations folder, dated after the host's newest, so that the
 * host's own `supabase db push` applies them (no `--include-all`) in export-ops' order:
 *
 *   npm run migrations -- --into ../my-app/supabase/migrations [--dry-run]
 *
 * Each file keeps export-ops' name after its date (`<version>_export_ops_schema.sql`), and that name says which
 * migration it is: run again after an upgrade, the command writes only the migrations the folder does not have,
 * dated after its newest, and never rewrites or renames one it has. export-ops' own dates (in this checkout's
 * supabase/migrations) only order its migrations; a migration inserted between released ones does nothing on a
 * database that has the later ones, so writing it after them is safe.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const MIGRATION = /^(\d+)_(.+)\.sql$/;
const ours = (name: string) => MIGRATION.exec(name)?.[2];

export interface PlannedMigration {
  /** export-ops' file, in its own folder. */
  source: string;
  /** The name it gets in the host's folder. */
  target: string;
}

/** A migration version as the Supabase CLI writes them: the UTC time, YYYYMMDDHHMMSS. */
export function versionAt(at: Date): string {
  return at.toISOString().replace(/\D/g, "").slice(0, 14);
}

/** The time a YYYYMMDDHHMMSS version stands for; undefined for any other version. */
function timeOf(version: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(version);
  const at = m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
  return at && versionAt(at) === version ? at : undefined;
}

/**
 * Which of export-ops' migrations (`sources`, its file names) the host's folder (`existing`, its file names) lacks,
 * and the names to write them under: in export-ops' order, one second apart, from the later of `now` and a second
 * after the folder's newest version.
 */
export function planMigrations(sources: string[], existing: string[], now: Date): PlannedMigration[] {
  const have = new Set(existing.map(ours).filter(Boolean));
  const missing = [...sources].filter((s) => ours(s)).sort().filter((s) => !have.has(ours(s)));
  const versions = existing.map((n) => MIGRATION.exec(n)?.[1]).filter((v): v is string => v !== undefined);
  const newest = versions.sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)).at(-1);
  const newestTime = newest ? timeOf(newest) : undefined;
  if (newest && !newestTime && newest.length >= 14) {
    throw new Error(`the folder's newest migration version ${newest} is not a YYYYMMDDHHMMSS time: name export-ops' migrations by hand`);
  }
  let at = Math.max(now.getTime() - (now.getTime() % 1000), newestTime ? newestTime.getTime() + 1000 : 0);
  return missing.map((source) => {
    const target = `${versionAt(new Date(at))}_${ours(source)}.sql`;
    at += 1000;
    return { source, target };
  });
}

const header = (source: string) =>
  `-- Written by export-ops from its supabase/migrations/${source}. Do not edit: a later export-ops adds new\n` +
  "-- migrations beside this one, never changes it.\n";

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: { into: { type: "string" }, from: { type: "string" }, "dry-run": { type: "boolean" }, help: { type: "boolean" } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help || !values.into) {
    process.stderr.write(
      "usage: npm run migrations -- --into <your app>/supabase/migrations [--dry-run]\n" +
        "  writes export-ops' migrations that folder lacks, dated after its newest (--from: another export-ops migrations folder)\n",
    );
    return values.help ? 0 : 2;
  }
  const from = values.from ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../supabase/migrations");
  const into = path.resolve(values.into);
  const sources = readdirSync(from).filter((n) => MIGRATION.test(n));
  let existing: string[];
  try {
    existing = readdirSync(into);
  } catch {
    process.stderr.write(`${into} is not a folder: give your app's supabase/migrations (supabase init creates it)\n`);
    return 2;
  }
  const plan = planMigrations(sources, existing, new Date());
  for (const { source, target } of plan) {
    if (!values["dry-run"]) writeFileSync(path.join(into, target), header(source) + readFileSync(path.join(from, source), "utf8"), { flag: "wx" });
    process.stdout.write(`${values["dry-run"] ? "would write" : "wrote"} ${path.join(into, target)}\n`);
  }
  process.stdout.write(
    plan.length === 0
      ? `${into} has every export-ops migration (${sources.length}); nothing to write\n`
      : `${plan.length} of ${sources.length} export-ops migrations ${values["dry-run"] ? "would be written" : "written"}; next: supabase db push\n`,
  );
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 2;
  }
}
