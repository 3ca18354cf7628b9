/**
 * Fresh databases in the local stack's Postgres, for install, upgrade and uninstall tests: each starts as a new
 * Supabase project does (roles, auth, storage, default privileges), and a test can add the host fixture, apply
 * migrations one by one and read a snapshot of the catalog.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import pg from "pg";
import { applySqlFile, bootstrapSupabase, HOST_FIXTURE } from "../../scripts/local-stack/migrate";
import { sql, stack } from "./stack";

export interface HostDatabase {
  client: pg.Client;
  /** Its connection string (the superuser's, as `supabase db push --db-url` gets it). */
  url: string;
  drop(): Promise<void>;
}

/** A new database with Supabase's starting point and, unless told otherwise, the host app's objects. */
export async function freshDatabase(options: { hostFixture?: boolean } = {}): Promise<HostDatabase> {
  const name = `export_ops_install_${randomBytes(4).toString("hex")}`;
  await sql().query(`create database ${name}`);
  const url = new URL(stack.DATABASE_URL);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  client.on("notice", () => {});
  await bootstrapSupabase(client, randomBytes(16).toString("hex"));
  if (options.hostFixture ?? true) await applySqlFile(client, "host fixture", readFileSync(HOST_FIXTURE, "utf8"));
  return {
    client,
    url: url.toString(),
    async drop() {
      await client.end();
      await sql().query(`drop database ${name} with (force)`);
    },
  };
}

/** export-ops' objects: named export_ops_*, its two tables, and the media type of its archive text. */
export const isExportOps = (name: string) =>
  /^(public\.)?(export_ops_|export_logs|export_metrics|application\/vnd\.export-ops\.)/.test(name);

export interface CatalogSnapshot {
  relations: { name: string; kind: string; acl: string | null; rls: boolean }[];
  columns: { name: string; acl: string }[];
  functions: { name: string; acl: string | null; secdef: boolean }[];
  types: { name: string; kind: string; acl: string | null }[];
  schemas: { name: string; acl: string | null }[];
  default_acls: { role: string; schema: string; type: string; acl: string }[];
  policies: { name: string; cmd: string; roles: string; qual: string | null; check: string | null }[];
  triggers: string[];
  statistics: string[];
  buckets: string[];
}

/**
 * Every object outside Postgres' own schemas, with its privileges (ACLs), RLS flags, policies and triggers, plus
 * the default privileges and the Storage buckets: two snapshots are equal only if nothing was created, dropped,
 * granted or revoked in between.
 */
export async function catalogSnapshot(client: pg.ClientBase): Promise<CatalogSnapshot> {
  const { rows } = await client.query<{ s: CatalogSnapshot }>(`
    with ns as (
      select oid, nspname from pg_namespace
      where nspname not in ('pg_catalog', 'information_schema') and nspname !~ '^pg_(toast|temp)'
    )
    select jsonb_build_object(
      'relations', coalesce((select jsonb_agg(jsonb_build_object('name', ns.nspname || '.' || c.relname, 'kind', c.relkind,
                     'acl', c.relacl::text, 'rls', c.relrowsecurity) order by ns.nspname, c.relname)
                   from pg_class c join ns on ns.oid = c.relnamespace), '[]'),
      'columns', coalesce((select jsonb_agg(jsonb_build_object('name', c.oid::regclass::text || '.' || a.attname, 'acl', a.attacl::text)
                     order by c.oid::regclass::text, a.attname)
                   from pg_attribute a join pg_class c on c.oid = a.attrelid join ns on ns.oid = c.relnamespace
                   where a.attacl is not null), '[]'),
      'functions', coalesce((select jsonb_agg(jsonb_build_object('name', p.oid::regprocedure::text, 'acl', p.proacl::text,
                     'secdef', p.prosecdef) order by p.oid::regprocedure::text)
                   from pg_proc p join ns on ns.oid = p.pronamespace), '[]'),
      'types', coalesce((select jsonb_agg(jsonb_build_object('name', ns.nspname || '.' || t.typname, 'kind', t.typtype,
                     'acl', t.typacl::text) order by ns.nspname, t.typname)
                   from pg_type t join ns on ns.oid = t.typnamespace where t.typtype in ('d', 'e', 'r', 'm')), '[]'),
      'schemas', coalesce((select jsonb_agg(jsonb_build_object('name', n.nspname, 'acl', n.nspacl::text) order by n.nspname)
                   from pg_namespace n join ns on ns.oid = n.oid), '[]'),
      'default_acls', coalesce((select jsonb_agg(jsonb_build_object('role', d.defaclrole::regrole::text,
                     'schema', coalesce(d.defaclnamespace::regnamespace::text, ''), 'type', d.defaclobjtype,
                     'acl', d.defaclacl::text) order by d.defaclrole::regrole::text, d.defaclnamespace, d.defaclobjtype)
                   from pg_default_acl d), '[]'),
      'policies', coalesce((select jsonb_agg(jsonb_build_object('name', p.polrelid::regclass::text || '.' || p.polname,
                     'cmd', p.polcmd, 'roles', p.polroles::regrole[]::text, 'qual', pg_get_expr(p.polqual, p.polrelid),
                     'check', pg_get_expr(p.polwithcheck, p.polrelid)) order by p.polrelid::regclass::text, p.polname)
                   from pg_policy p), '[]'),
      'triggers', coalesce((select jsonb_agg(t.tgrelid::regclass::text || '.' || t.tgname order by t.tgrelid::regclass::text || '.' || t.tgname)
                   from pg_trigger t where not t.tgisinternal), '[]'),
      'statistics', coalesce((select jsonb_agg(ns.nspname || '.' || s.stxname order by ns.nspname || '.' || s.stxname)
                   from pg_statistic_ext s join ns on ns.oid = s.stxnamespace), '[]'),
      'buckets', coalesce((select jsonb_agg(b.id order by b.id) from storage.buckets b), '[]')
    ) as s`);
  return rows[0]!.s;
}

/**
 * The snapshot without export-ops' own objects and without the buckets it created: in the host fixture, which has
 * an `exports` bucket of its own, only the archive bucket.
 */
export function hostPart(s: CatalogSnapshot, ourBuckets: string[] = ["export-archive"]): CatalogSnapshot {
  const keep = <T extends { name: string }>(items: T[]) => items.filter((i) => !isExportOps(i.name));
  return {
    ...s,
    relations: keep(s.relations),
    columns: keep(s.columns),
    functions: keep(s.functions),
    types: keep(s.types),
    policies: keep(s.policies),
    triggers: s.triggers.filter((t) => !isExportOps(t)),
    statistics: s.statistics.filter((t) => !isExportOps(t)),
    buckets: s.buckets.filter((b) => !ourBuckets.includes(b)),
  };
}

export const ADA = "00000000-0000-4000-a000-000000000001";
export const GRACE = "00000000-0000-4000-a000-000000000002";
export const ROOT = "00000000-0000-4000-a000-000000000003";

/** What the host app's users get from its objects: each probe runs as a Supabase role with a JWT's claims. */
const probes: { role: "anon" | "authenticated" | "service_role"; user?: string; query: string }[] = [
  { role: "anon", query: "select public.app_version() as v" },
  { role: "anon", query: "select count(*)::int as n from public.projects" },
  { role: "anon", query: "select billing.plan_of(null) as plan" },
  { role: "authenticated", user: ADA, query: "select public.my_project_count() as n" },
  { role: "authenticated", user: ADA, query: "select name from public.projects order by name" },
  { role: "authenticated", user: ROOT, query: "select count(*)::int as n from public.projects" },
  { role: "authenticated", user: ROOT, query: "select public.is_admin() as admin" },
  { role: "authenticated", user: GRACE, query: "select display_name from public.profiles order by 1" },
  { role: "authenticated", user: GRACE, query: "insert into public.projects (owner_id, name) values (auth.uid(), 'new') returning name" },
  { role: "authenticated", user: GRACE, query: `insert into public.projects (owner_id, name) values ('${ADA}', 'not mine')` },
  { role: "authenticated", user: ADA, query: "select billing.plan_of(auth.uid()) as plan" },
  { role: "authenticated", user: ADA, query: "select count(*)::int as n from public.cron_runs" },
  { role: "service_role", query: "select job from public.cron_runs order by id" },
  { role: "service_role", query: "select alert, firing from public.alert_state" },
];

/** Each probe's rows, or its error's SQLSTATE and message; every probe is rolled back. */
export async function hostBehaviour(client: pg.ClientBase): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const p of probes) {
    await client.query("begin");
    try {
      await client.query(`set local role ${p.role}`);
      await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ role: p.role, sub: p.user })]);
      out.push({ ...p, rows: (await client.query(p.query)).rows });
    } catch (error) {
      const e = error as { code?: string; message: string };
      out.push({ ...p, error: e.code, message: e.message });
    } finally {
      await client.query("rollback");
    }
  }
  return out;
}
