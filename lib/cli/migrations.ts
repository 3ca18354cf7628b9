/**
 * export-ops' migrations written into a host project's migrations folder, dated after the host's newest, so that
 * the host's own `supabase db push` applies them (no `--include-all`) in export-ops' order. The names depend on
 * the two folders alone, never on the clock: a dry run lists exactly the names the write then uses. Each file keeps
 * export-ops' name after its date (`<version>_export_ops_schema.sql`), and that name says which migration it is:
 * run again after an upgrade, only the migrations the folder does not have are written, dated after its newest;
 * one it has is never rewritten or renamed. export-ops' own dates only order its migrations; a migration inserted
 * between released ones does nothing on a database that has the later ones, so writing it after them is safe.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

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
 * and the names to write them under: in export-ops' order, one second apart, from a second after the folder's
 * newest version (the newest the project can have pushed: `supabase db push` wants every pushed migration in the
 * folder), or from export-ops' own first version when that is later.
 */
export function planMigrations(sources: string[], existing: string[]): PlannedMigration[] {
  const have = new Set(existing.map(ours).filter(Boolean));
  const missing = [...sources]
    .filter((s) => ours(s))
    .sort()
    .filter((s) => !have.has(ours(s)));
  const versions = existing.map((n) => MIGRATION.exec(n)?.[1]).filter((v): v is string => v !== undefined);
  const newest = versions.sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)).at(-1);
  const newestTime = newest ? timeOf(newest) : undefined;
  if (newest && !newestTime && newest.length >= 14) {
    throw new Error(`the folder's newest migration version ${newest} is not a YYYYMMDDHHMMSS time: name export-ops' migrations by hand`);
  }
  const first = MIGRATION.exec([...sources].filter((s) => ours(s)).sort()[0] ?? "")?.[1];
  let at = Math.max(newestTime ? newestTime.getTime() + 1000 : 0, (first && timeOf(first)?.getTime()) || 0);
  return missing.map((source) => {
    const target = `${versionAt(new Date(at))}_${ours(source)}.sql`;
    at += 1000;
    return { source, target };
  });
}

const header = (source: string) =>
  `-- Written by export-ops from its migrations/${source}. Do not edit: a later export-ops adds new\n` +
  "-- migrations beside this one, never changes it.\n";

/** The migrations of `from` that `into` lacks, each with its name there and the text it is written with. */
export function migrationFiles(from: string, into: string): (PlannedMigration & { content: string })[] {
  const plan = planMigrations(
    readdirSync(from).filter((n) => MIGRATION.test(n)),
    readdirSync(into),
  );
  return plan.map((p) => ({ ...p, content: header(p.source) + readFileSync(path.join(from, p.source), "utf8") }));
}

/** Writes (or with `dryRun` only lists) the migrations of `from` that `into` lacks; returns them. */
export function writeMigrations(
  from: string,
  into: string,
  options: { dryRun?: boolean } = {},
): { plan: PlannedMigration[]; total: number } {
  const sources = readdirSync(from).filter((n) => MIGRATION.test(n));
  const plan = planMigrations(sources, readdirSync(into));
  if (!options.dryRun) {
    for (const { source, target } of plan)
      writeFileSync(path.join(into, target), header(source) + readFileSync(path.join(from, source), "utf8"), { flag: "wx" });
  }
  return { plan, total: sources.length };
}
