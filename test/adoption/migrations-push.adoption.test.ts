/**
 * A host project adopting export-ops' migrations with the real Supabase CLI and the packed export-ops package, both
 * installed in test/adoption/host-app as a host app has them: its folder holds a migration dated today that it has
 * already pushed. export-ops' files as they are in this repository are refused by `supabase db push`; written by
 * `npx export-ops migrations --into`, they are pushed without `--include-all`, and so is an upgrade's new migration
 * later. The uninstall then names the versions to mark reverted, and `supabase migration repair` with them leaves a
 * folder and a history that agree.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HOST_FIXTURE, UNINSTALL_SQL, applySqlFile } from "../../scripts/local-stack/migrate";
import { versionAt } from "../../lib/cli/migrations";
import { freshDatabase, type HostDatabase } from "../helpers/host-database";
import { closeSql } from "../helpers/stack";
import { HOST_APP } from "./hosts";

const root = path.resolve(__dirname, "../..");
const CLI = path.join(HOST_APP, "node_modules/.bin/supabase");
const EXPORT_OPS = path.join(HOST_APP, "node_modules/.bin/export-ops");

let db: HostDatabase | undefined;
let work: string;
beforeAll(() => {
  if (!existsSync(CLI) || !existsSync(EXPORT_OPS))
    throw new Error("the host app's tools are not installed: run `npm run test:adoption`, which installs them");
  work = mkdtempSync(path.join(tmpdir(), "export-ops-adoption-"));
});
afterEach(async () => {
  await db?.drop();
  db = undefined;
});
afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await closeSql();
});

function run(command: string, args: string[], cwd: string): { code: number; out: string } {
  const r = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
    timeout: 120_000,
  });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

/** A host project folder: supabase/migrations with the host app's schema as a migration dated now. */
function hostProject(name: string): { dir: string; migrations: string } {
  const dir = path.join(work, name);
  const migrations = path.join(dir, "supabase/migrations");
  mkdirSync(migrations, { recursive: true });
  writeFileSync(path.join(migrations, `${versionAt(new Date())}_host_app.sql`), readFileSync(HOST_FIXTURE, "utf8"));
  return { dir, migrations };
}

const push = (dir: string, url: string) => run(CLI, ["db", "push", "--db-url", url, "--yes"], dir);
/** The installed package's command, as the host runs it (`npx export-ops migrations ...`). */
const writeMigrations = (migrations: string, from?: string) =>
  run(EXPORT_OPS, ["migrations", "--into", migrations, ...(from ? ["--from", from] : [])], HOST_APP);

async function history(): Promise<{ version: string; name: string }[]> {
  return (await db!.client.query("select version, name from supabase_migrations.schema_migrations order by version")).rows;
}

describe("export-ops' migrations in a host project, pushed by the Supabase CLI", () => {
  it("are refused as they are, then pushed without --include-all once written by the command, and so is an upgrade's new one", async () => {
    db = await freshDatabase({ hostFixture: false });
    const url = `${db.url}?sslmode=disable`;
    const host = hostProject("pushed");
    expect(push(host.dir, url)).toMatchObject({ code: 0 });

    // copied as they are, their dates are before the host's: the CLI refuses them
    const copied = path.join(work, "copied");
    cpSync(host.dir, copied, { recursive: true });
    cpSync(path.join(root, "supabase/migrations"), path.join(copied, "supabase/migrations"), { recursive: true });
    const refused = push(copied, url);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain("Found local migration files to be inserted before the last migration on remote database");

    const written = writeMigrations(host.migrations);
    expect(written.code).toBe(0);
    const ours = readdirSync(path.join(root, "supabase/migrations")).filter((n) => n.endsWith(".sql"));
    const theirs = readdirSync(host.migrations).filter((n) => n.includes("_export_ops_"));
    expect(theirs.map((n) => n.replace(/^\d+_/, ""))).toEqual(ours.map((n) => n.replace(/^\d+_/, "")));

    const pushed = push(host.dir, url);
    expect(pushed).toMatchObject({ code: 0 });
    expect(pushed.out).not.toContain("--include-all");
    const applied = await history();
    expect(applied.map((r) => r.name)).toEqual(["host_app", ...theirs.map((n) => n.replace(/^\d+_|\.sql$/g, ""))]);
    expect((await db.client.query("select count(*)::int as n from public.export_ops_installation")).rows[0].n).toBe(1);
    expect((await db.client.query("select display_name from public.profiles order by 1")).rows.map((r) => r.display_name)).toEqual([
      "Ada",
      "Grace",
      "Root",
    ]);

    // an upgrade of export-ops brings one new migration: only it is written, after everything, and pushed
    const upgraded = path.join(work, "upgraded-export-ops");
    cpSync(path.join(root, "supabase/migrations"), upgraded, { recursive: true });
    writeFileSync(
      path.join(upgraded, "20991231000000_export_ops_upgrade_probe.sql"),
      "create function public.export_ops_upgrade_probe() returns integer language sql as $$ select 42 $$;\n" +
        "revoke all on function public.export_ops_upgrade_probe from public, anon, authenticated;\n",
    );
    const again = writeMigrations(host.migrations, upgraded);
    expect(again.out).toMatch(/^wrote .*_export_ops_upgrade_probe\.sql\n1 of \d+ export-ops migrations written/);
    expect(push(host.dir, url)).toMatchObject({ code: 0 });
    expect((await db.client.query("select public.export_ops_upgrade_probe() as n")).rows[0].n).toBe(42);
    expect((await history()).at(-1)?.name).toBe("export_ops_upgrade_probe");
    // and once everything is there, nothing more
    expect(writeMigrations(host.migrations, upgraded).out).toContain("has every export-ops migration");
    expect(push(host.dir, url)).toMatchObject({ code: 0, out: expect.stringContaining("Remote database is up to date") });
  });

  it("are named by the uninstall with the versions to mark reverted, after which folder and history agree", async () => {
    db = await freshDatabase({ hostFixture: false });
    const url = `${db.url}?sslmode=disable`;
    const host = hostProject("uninstalled");
    expect(writeMigrations(host.migrations).code).toBe(0);
    expect(push(host.dir, url)).toMatchObject({ code: 0 });
    const versions = readdirSync(host.migrations)
      .filter((n) => n.includes("_export_ops_"))
      .map((n) => n.slice(0, 14));

    const notices: string[] = [];
    db.client.on("notice", (n) => notices.push(n.message ?? ""));
    await applySqlFile(db.client, "uninstall", readFileSync(UNINSTALL_SQL, "utf8"));
    const repair = notices.find((n) => n.includes("supabase migration repair"));
    expect(repair).toBe(
      `export-ops: now delete supabase/migrations/*_export_ops_*.sql and run: supabase migration repair --status reverted ${versions.join(" ")}`,
    );

    for (const name of readdirSync(host.migrations).filter((n) => n.includes("_export_ops_"))) rmSync(path.join(host.migrations, name));
    expect(run(CLI, ["migration", "repair", "--status", "reverted", ...versions, "--db-url", url, "--yes"], host.dir)).toMatchObject({
      code: 0,
    });
    expect((await history()).map((r) => r.name)).toEqual(["host_app"]);
    expect(push(host.dir, url)).toMatchObject({ code: 0, out: expect.stringContaining("Remote database is up to date") });
    expect((await db.client.query("select to_regclass('public.export_ops_installation') as t")).rows[0].t).toBeNull();
  });
});
