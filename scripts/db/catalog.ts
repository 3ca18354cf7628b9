/**
 * export-ops' part of a database as Postgres itself prints it: every object in `public` (export-ops keeps all of its
 * objects there, and a project has nothing of its own there before the install in the databases built here) with
 * its definition and privileges. Two databases with equal catalogs have the same export-ops schema: relations and
 * their flags, columns, constraints, indexes, functions and their bodies, triggers, policies, domains and types,
 * extended statistics, comments, and every privilege (an unset ACL read as the defaults it stands for). Data is not
 * compared.
 */
import type pg from "pg";

export type Catalog = Record<string, string[]>;

/** ACL entries `grantee=privilege`, an unset ACL standing for its defaults (acldefault). */
const acl = (
  column: string,
  kind: string,
  owner: string,
) => `(select jsonb_agg(coalesce(nullif(e.grantee, 0)::regrole::text, 'PUBLIC') || '=' ||
  e.privilege_type order by 1) from aclexplode(coalesce(${column}, acldefault('${kind}'::"char", ${owner}))) e)`;

const CATALOG_SQL = `
  with rel as (select c.* from pg_class c where c.relnamespace = 'public'::regnamespace)
  select jsonb_build_object(
    'relations', (select jsonb_agg(jsonb_build_object('rel', r.relname, 'kind', r.relkind, 'rls', r.relrowsecurity, 'force_rls', r.relforcerowsecurity,
                    'acl', ${acl("r.relacl", "r", "r.relowner")}, 'comment', obj_description(r.oid, 'pg_class'))) from rel r where r.relkind <> 'S'),
    'sequences', (select jsonb_agg(jsonb_build_object('seq', r.relname, 'acl', ${acl("r.relacl", "s", "r.relowner")})) from rel r where r.relkind = 'S'),
    'columns', (select jsonb_agg(jsonb_build_object('col', r.relname || '.' || a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                  'not_null', a.attnotnull, 'default', pg_get_expr(d.adbin, d.adrelid), 'identity', a.attidentity, 'generated', a.attgenerated,
                  'acl', a.attacl::text, 'comment', col_description(r.oid, a.attnum)))
                from pg_attribute a join rel r on r.oid = a.attrelid left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
                where a.attnum > 0 and not a.attisdropped and r.relkind in ('r', 'p', 'v', 'm', 'f')),
    'constraints', (select jsonb_agg(c.conrelid::regclass::text || ' ' || c.conname || ': ' || pg_get_constraintdef(c.oid))
                from pg_constraint c where c.connamespace = 'public'::regnamespace),
    'indexes', (select jsonb_agg(pg_get_indexdef(i.indexrelid)) from pg_index i join rel r on r.oid = i.indrelid),
    'functions', (select jsonb_agg(jsonb_build_object('def', pg_get_functiondef(p.oid), 'acl', ${acl("p.proacl", "f", "p.proowner")},
                  'comment', obj_description(p.oid, 'pg_proc'))) from pg_proc p where p.pronamespace = 'public'::regnamespace),
    'triggers', (select jsonb_agg(pg_get_triggerdef(t.oid)) from pg_trigger t join rel r on r.oid = t.tgrelid where not t.tgisinternal),
    'policies', (select jsonb_agg(jsonb_build_object('policy', p.polrelid::regclass::text || '.' || p.polname, 'cmd', p.polcmd, 'permissive', p.polpermissive,
                  'roles', p.polroles::regrole[]::text, 'qual', pg_get_expr(p.polqual, p.polrelid), 'check', pg_get_expr(p.polwithcheck, p.polrelid)))
                from pg_policy p join rel r on r.oid = p.polrelid),
    'types', (select jsonb_agg(jsonb_build_object('type', format_type(t.oid, null), 'kind', t.typtype, 'base', format_type(t.typbasetype, t.typtypmod),
                  'not_null', t.typnotnull, 'default', t.typdefault, 'acl', ${acl("t.typacl", "T", "t.typowner")}, 'comment', obj_description(t.oid, 'pg_type'),
                  'checks', (select jsonb_agg(pg_get_constraintdef(c.oid) order by c.conname) from pg_constraint c where c.contypid = t.oid),
                  'labels', (select jsonb_agg(e.enumlabel order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid)))
                from pg_type t where t.typnamespace = 'public'::regnamespace and t.typtype in ('d', 'e', 'r', 'm')),
    'statistics', (select jsonb_agg(pg_get_statisticsobjdef(s.oid)) from pg_statistic_ext s where s.stxnamespace = 'public'::regnamespace)
  ) as catalog`;

/** The catalog of `public`: each kind of object as a sorted list of its definitions. */
export async function exportOpsCatalog(client: pg.ClientBase): Promise<Catalog> {
  const { rows } = await client.query<{ catalog: Record<string, unknown[] | null> }>(CATALOG_SQL);
  const catalog = rows[0]!.catalog;
  return Object.fromEntries(
    Object.entries(catalog).map(([kind, items]) => [
      kind,
      (items ?? []).map((i) => (typeof i === "string" ? i : JSON.stringify(i))).sort(),
    ]),
  );
}

/** What one catalog has and the other lacks, kind by kind, for a message; empty when they are equal. */
export function catalogDifferences(actual: Catalog, expected: Catalog): string[] {
  const kinds = [...new Set([...Object.keys(actual), ...Object.keys(expected)])].sort();
  return kinds.flatMap((kind) => {
    const [a, e] = [new Set(actual[kind] ?? []), new Set(expected[kind] ?? [])];
    return [
      ...[...e].filter((x) => !a.has(x)).map((x) => `${kind}: missing ${x.slice(0, 400)}`),
      ...[...a].filter((x) => !e.has(x)).map((x) => `${kind}: unexpected ${x.slice(0, 400)}`),
    ];
  });
}

/** The names (`public.<name>`) of the relations, functions, types and statistics in `public`. */
export async function objectNames(client: pg.ClientBase): Promise<Set<string>> {
  const { rows } = await client.query<{ name: string }>(`
    select relname as name from pg_class where relnamespace = 'public'::regnamespace
    union select proname from pg_proc where pronamespace = 'public'::regnamespace
    union select typname from pg_type where typnamespace = 'public'::regnamespace and typtype in ('d', 'e')
    union select stxname from pg_statistic_ext where stxnamespace = 'public'::regnamespace`);
  return new Set(rows.map((r) => `public.${r.name}`));
}
