/**
 * Applying the migrations the way `supabase db push` does: Supabase's starting point first (roles, `auth`,
 * `storage`, default privileges), optionally a host app's own objects, then every migration in order, each in its
 * own transaction. Used by the local stack and by the install tests, which build fresh databases with it.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const migrationsDir = path.join(root, "supabase/migrations");

/** A typical host app's objects (tables with RLS, an RPC, a policy helper, generic names, a second schema). */
export const HOST_FIXTURE = path.join(root, "test/fixtures/host-app.sql");
export const UNINSTALL_SQL = path.join(root, "supabase/uninstall.sql");

export interface Migration {
  name: string;
  sql: string;
}

/** The migrations in the order `supabase db push` applies them. */
export function migrations(): Migration[] {
  return readdirSync(migrationsDir)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((name) => ({ name, sql: readFileSync(path.join(migrationsDir, name), "utf8") }));
}

/** Runs one SQL file in a transaction; a failure rolls it back whole and names the file. */
export async function applySqlFile(client: pg.ClientBase, name: string, sql: string): Promise<void> {
  try {
    await client.query(`begin;\n${sql}\ncommit;`);
  } catch (error) {
    await client.query("rollback");
    throw new Error(`${name} failed: ${(error as Error).message}`);
  }
}

/** What a new Supabase project has before any migration: roles (created once per cluster), auth and storage. */
export async function bootstrapSupabase(client: pg.ClientBase, authenticatorPassword: string): Promise<void> {
  const bootstrap = readFileSync(path.join(root, "scripts/local-stack/supabase-bootstrap.sql"), "utf8");
  await client.query(bootstrap.replace("{{authenticator_password}}", authenticatorPassword));
}

/** Supabase's starting point, then the host fixture when asked for: a project as it is before export-ops. */
export async function prepareProject(
  client: pg.ClientBase,
  options: { authenticatorPassword: string; hostFixture?: boolean },
): Promise<void> {
  await bootstrapSupabase(client, options.authenticatorPassword);
  if (options.hostFixture) await applySqlFile(client, "host fixture", readFileSync(HOST_FIXTURE, "utf8"));
}

/** Every migration, in order, each in its own transaction. */
export async function applyMigrations(client: pg.ClientBase): Promise<void> {
  for (const m of migrations()) await applySqlFile(client, `migration ${m.name}`, m.sql);
}
