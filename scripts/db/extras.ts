/**
 * What migra leaves out of a diff, written here from the two catalogs: every privilege (migra knows none of a
 * function's, and cannot know the default privileges a new object is given), comments and extended statistics.
 * Privileges are written as the schema files write them: an object whose grants differ has every grant revoked from
 * PUBLIC and Supabase's API roles (and any other grantee it has), then its own granted, so the result does not depend
 * on the project's default privileges.
 */
import type pg from "pg";

interface Grantable {
  /** `TABLE public.x`, `FUNCTION public.f(integer)`, `SEQUENCE …`, `DOMAIN …`, `TYPE …` */
  object: string;
  owner: string;
  /** grantee (`PUBLIC` or a role) → its privileges, sorted; the owner's own are left out */
  grants: Record<string, string[]>;
  /** every privilege the owner holds by default: a grantee holding them all is granted ALL */
  all: string[];
}

interface Described {
  object: string;
  comment: string | null;
}

const OBJECTS_SQL = `
  with objects as (
    select (case c.relkind when 'S' then 'SEQUENCE ' else 'TABLE ' end) || c.oid::regclass::text as object, c.relowner as owner,
           c.relacl as acl, acldefault((case c.relkind when 'S' then 's' else 'r' end)::"char", c.relowner) as defaults
    from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
    union all
    select 'FUNCTION ' || p.oid::regprocedure::text, p.proowner, p.proacl, acldefault('f'::"char", p.proowner)
    from pg_proc p where p.pronamespace = 'public'::regnamespace
    union all
    select (case t.typtype when 'd' then 'DOMAIN ' else 'TYPE ' end) || format_type(t.oid, null), t.typowner, t.typacl, acldefault('T'::"char", t.typowner)
    from pg_type t where t.typnamespace = 'public'::regnamespace and t.typtype in ('d', 'e', 'r', 'm')
  )
  select o.object, o.owner::regrole::text as owner,
         coalesce((select jsonb_object_agg(g.grantee, g.privileges) from (
           select coalesce(nullif(e.grantee, 0)::regrole::text, 'PUBLIC') as grantee, jsonb_agg(e.privilege_type order by e.privilege_type) as privileges
           from aclexplode(coalesce(o.acl, o.defaults)) e where e.grantee <> o.owner group by e.grantee) g), '{}') as grants,
         (select jsonb_agg(e.privilege_type order by e.privilege_type) from aclexplode(o.defaults) e where e.grantee = o.owner) as all
  from objects o`;

const COMMENTS_SQL = `
  select (case c.relkind when 'S' then 'SEQUENCE ' when 'v' then 'VIEW ' when 'm' then 'MATERIALIZED VIEW ' when 'i' then 'INDEX '
          when 'f' then 'FOREIGN TABLE ' else 'TABLE ' end) || c.oid::regclass::text as object, obj_description(c.oid, 'pg_class') as comment
  from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind <> 'c'
  union all
  select 'COLUMN ' || c.oid::regclass::text || '.' || quote_ident(a.attname), col_description(c.oid, a.attnum)
  from pg_attribute a join pg_class c on c.oid = a.attrelid
  where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f') and a.attnum > 0 and not a.attisdropped
  union all
  select 'FUNCTION ' || p.oid::regprocedure::text, obj_description(p.oid, 'pg_proc') from pg_proc p where p.pronamespace = 'public'::regnamespace
  union all
  select (case t.typtype when 'd' then 'DOMAIN ' else 'TYPE ' end) || format_type(t.oid, null), obj_description(t.oid, 'pg_type')
  from pg_type t where t.typnamespace = 'public'::regnamespace and t.typtype in ('d', 'e', 'r', 'm')`;

const STATISTICS_SQL = `select quote_ident(s.stxname) as name, pg_get_statisticsobjdef(s.oid) as def from pg_statistic_ext s where s.stxnamespace = 'public'::regnamespace`;

/** The API roles every changed object is revoked from, as the schema files do. */
const API_ROLES = ["PUBLIC", "anon", "authenticated", "service_role"];

/** Queries run with an empty search_path, so that every name is printed qualified. */
async function qualified<T extends pg.QueryResultRow>(client: pg.ClientBase, sql: string): Promise<T[]> {
  await client.query("begin; set local search_path = ''");
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.query("commit");
  }
}

const same = (a: Grantable, b: Grantable) => JSON.stringify(a.grants) === JSON.stringify(b.grants);

/** The revoke and grants that give `target` its privileges on a database where the object has `current`'s. */
function privilegeStatements(target: Grantable, current: Grantable): string[] {
  const revoked = [...new Set([...API_ROLES, ...Object.keys(current.grants)])].filter((role) => role !== target.owner);
  const grants = Object.entries(target.grants).map(([grantee, privileges]) => {
    const list = privileges.join(", ") === target.all.join(", ") ? "ALL" : privileges.join(", ");
    return `GRANT ${list} ON ${target.object} TO ${grantee};`;
  });
  return [`REVOKE ALL ON ${target.object} FROM ${revoked.join(", ")};`, ...grants];
}

/** Grants and revokes taking `from`'s privileges to `target`'s, for every object `target` has. */
async function privileges(from: pg.ClientBase, target: pg.ClientBase): Promise<string[]> {
  const have = new Map((await qualified<Grantable>(from, OBJECTS_SQL)).map((o) => [o.object, o]));
  return (await qualified<Grantable>(target, OBJECTS_SQL))
    .sort((a, b) => a.object.localeCompare(b.object))
    .flatMap((o) => {
      const current = have.get(o.object);
      return current && same(o, current) ? [] : privilegeStatements(o, current ?? { ...o, grants: {} });
    });
}

const literal = (text: string | null) => (text === null ? "NULL" : `'${text.replaceAll("'", "''")}'`);

/** COMMENT ON for every object whose comment `target` has otherwise. */
async function comments(from: pg.ClientBase, target: pg.ClientBase): Promise<string[]> {
  const have = new Map((await qualified<Described>(from, COMMENTS_SQL)).map((o) => [o.object, o.comment]));
  return (await qualified<Described>(target, COMMENTS_SQL))
    .filter((o) => (have.get(o.object) ?? null) !== o.comment)
    .sort((a, b) => a.object.localeCompare(b.object))
    .map((o) => `COMMENT ON ${o.object} IS ${literal(o.comment)};`);
}

/** Extended statistics: those `target` lacks or defines otherwise dropped, those `from` lacks created. */
async function statistics(from: pg.ClientBase, target: pg.ClientBase): Promise<string[]> {
  const [a, b] = [
    await qualified<{ name: string; def: string }>(from, STATISTICS_SQL),
    await qualified<{ name: string; def: string }>(target, STATISTICS_SQL),
  ];
  const targetDefs = new Set(b.map((s) => s.def));
  const fromDefs = new Set(a.map((s) => s.def));
  return [
    ...a.filter((s) => !targetDefs.has(s.def)).map((s) => `DROP STATISTICS public.${s.name};`),
    ...b.filter((s) => !fromDefs.has(s.def)).map((s) => `${s.def};`),
  ];
}

/** Statements for what migra does not diff: statistics, comments, then privileges. */
export async function extraStatements(from: pg.ClientBase, target: pg.ClientBase): Promise<string[]> {
  return [...(await statistics(from, target)), ...(await comments(from, target)), ...(await privileges(from, target))];
}
