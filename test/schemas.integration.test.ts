/**
 * supabase/schemas/ is the current definition of export-ops' database objects, and supabase/migrations/ the
 * shipped history that reaches it: a database built from each must be the same, object for object (relations,
 * columns, constraints, indexes, functions and their bodies, triggers, policies, types, statistics, comments, and
 * every privilege). Data the migrations seed (the format list, the installation row, the buckets) is not schema
 * and is not compared.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { applySqlFile, migrations } from "../scripts/local-stack/migrate";
import { catalogSnapshot, freshDatabase, isExportOps, type HostDatabase } from "./helpers/host-database";
import { closeSql } from "./helpers/stack";

const SCHEMAS = path.join(import.meta.dirname, "../supabase/schemas");
const open: HostDatabase[] = [];
afterAll(async () => {
  await Promise.all(open.map((db) => db.drop()));
  await closeSql();
});

/** Every definition of export-ops' objects, as Postgres itself prints them. */
async function definitions(client: pg.ClientBase) {
  const { rows } = await client.query<{ d: Record<string, unknown[]> }>(`
    with rel as (select c.oid, c.relname from pg_class c where c.relnamespace = 'public'::regnamespace)
    select jsonb_build_object(
      'columns', (select jsonb_agg(jsonb_build_object('col', rel.relname || '.' || a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                    'not_null', a.attnotnull, 'default', pg_get_expr(d.adbin, d.adrelid), 'identity', a.attidentity, 'acl', a.attacl::text)
                    order by rel.relname, a.attnum)
                  from pg_attribute a join rel on rel.oid = a.attrelid
                  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
                  where a.attnum > 0 and not a.attisdropped),
      'constraints', (select jsonb_agg(c.conrelid::regclass::text || ' ' || c.conname || ': ' || pg_get_constraintdef(c.oid) order by 1)
                  from pg_constraint c where c.connamespace = 'public'::regnamespace),
      'indexes', (select jsonb_agg(pg_get_indexdef(i.indexrelid) order by 1) from pg_index i join rel on rel.oid = i.indrelid),
      'functions', (select jsonb_agg(pg_get_functiondef(p.oid) order by p.oid::regprocedure::text)
                  from pg_proc p where p.pronamespace = 'public'::regnamespace),
      'triggers', (select jsonb_agg(pg_get_triggerdef(t.oid) order by 1) from pg_trigger t join rel on rel.oid = t.tgrelid where not t.tgisinternal),
      'statistics', (select jsonb_agg(pg_get_statisticsobjdef(s.oid) order by 1) from pg_statistic_ext s where s.stxnamespace = 'public'::regnamespace),
      'comments', (select jsonb_agg(d.classoid::regclass::text || ' ' || d.objoid || ': ' || d.description order by 1)
                  from pg_description d join pg_class c on c.oid = d.objoid and d.classoid = 'pg_class'::regclass
                  where c.relnamespace = 'public'::regnamespace),
      'domains', (select jsonb_agg(t.typname || ': ' || format_type(t.typbasetype, t.typtypmod) || ' ' || coalesce(t.typacl::text, '')
                  order by 1) from pg_type t where t.typnamespace = 'public'::regnamespace and t.typtype = 'd')
    ) as d`);
  const d = rows[0]!.d;
  const mine = (items: unknown[] | null) => (items ?? []).filter((i) => isExportOps(typeof i === "string" ? i.replace(/^(CREATE .*?FUNCTION |CREATE (UNIQUE )?INDEX |CREATE TRIGGER |CREATE STATISTICS )/, "").replace(/^public\./, "") : String((i as { col: string }).col)) || /public\.(export_logs|export_metrics|export_ops_)/.test(String(i)));
  // sorted here: an aggregate's `order by 1` orders by a constant
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, mine(v).map((i) => JSON.stringify(i)).sort()]));
}

/** export-ops' part of the catalog snapshot: the install test's view of objects and privileges. */
async function ours(client: pg.ClientBase) {
  const s = await catalogSnapshot(client);
  const mine = <T extends { name: string }>(items: T[]) => items.filter((i) => isExportOps(i.name));
  return { relations: mine(s.relations), columns: mine(s.columns), functions: mine(s.functions), types: mine(s.types), policies: mine(s.policies), triggers: s.triggers.filter(isExportOps), statistics: s.statistics.filter(isExportOps) };
}

describe("supabase/schemas/", () => {
  it("defines exactly what the migrations build", async () => {
    const fromMigrations = await freshDatabase({ hostFixture: false });
    open.push(fromMigrations);
    for (const m of migrations()) await applySqlFile(fromMigrations.client, m.name, m.sql);

    const fromSchemas = await freshDatabase({ hostFixture: false });
    open.push(fromSchemas);
    // as pg_dump restores: a SQL function's body may name a table of a later file, so bodies are checked when called
    await fromSchemas.client.query("set check_function_bodies = off");
    const files = readdirSync(SCHEMAS).filter((f) => f.endsWith(".sql")).sort();
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) await applySqlFile(fromSchemas.client, `supabase/schemas/${f}`, readFileSync(path.join(SCHEMAS, f), "utf8"));

    const [a, b] = [await ours(fromMigrations.client), await ours(fromSchemas.client)];
    expect(a.functions.length).toBeGreaterThan(50);
    expect(b).toEqual(a);
    const [da, db] = [await definitions(fromMigrations.client), await definitions(fromSchemas.client)];
    expect((da.functions ?? []).length).toBe(a.functions.length);
    expect(db).toEqual(da);
  });
});
