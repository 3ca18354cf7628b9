/**
 * The two databases a schema change is judged between, each starting as a new Supabase project does (roles, auth,
 * storage, default privileges; no host objects): one built by export-ops' migrations, as `supabase db push` applies
 * them, one by the schema files, as a dump is restored.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { applySqlFile, bootstrapSupabase } from "../local-stack/migrate";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const SCHEMAS_DIR = path.join(ROOT, "supabase/schemas");
export const MIGRATIONS_DIR = path.join(ROOT, "supabase/migrations");

/** A folder's `.sql` files, in the order they are applied. */
export function sqlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
}

/** Every migration of `dir`, in order, each in its own transaction. */
export async function applyMigrationFiles(client: pg.ClientBase, dir: string): Promise<void> {
  for (const f of sqlFiles(dir)) await applySqlFile(client, `migration ${f}`, readFileSync(path.join(dir, f), "utf8"));
}

/**
 * Every schema file of `dir`, in order, with `check_function_bodies` off as pg_dump restores: a SQL function's body
 * may name a table of a later file, so bodies are checked when called.
 */
export async function applySchemaFiles(client: pg.ClientBase, dir: string): Promise<void> {
  await client.query("set check_function_bodies = off");
  for (const f of sqlFiles(dir)) await applySqlFile(client, `${path.basename(dir)}/${f}`, readFileSync(path.join(dir, f), "utf8"));
  await client.query("reset check_function_bodies");
}

export interface Database {
  client: pg.Client;
  url: string;
  drop(): Promise<void>;
}

/** A new database in the cluster `adminUrl` reaches, with Supabase's starting point. */
export async function supabaseDatabase(adminUrl: string, prefix = "export_ops_diff"): Promise<Database> {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  client.on("notice", () => {});
  await bootstrapSupabase(client, randomBytes(16).toString("hex"));
  return {
    client,
    url: url.toString(),
    async drop() {
      await client.end();
      const again = new pg.Client({ connectionString: adminUrl });
      await again.connect();
      await again.query(`drop database ${name} with (force)`).finally(() => again.end());
    },
  };
}
