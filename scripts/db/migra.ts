/**
 * migra's statements (@pgkit/migra) from one database's `public` to another's, in migra's own order, less what an
 * export-ops migration leaves to scripts/db/extras.ts (privileges) or never writes (schemas, extensions,
 * collations). The databases are read with an empty search_path, so that every name migra prints from Postgres'
 * own definitions (a trigger's function, a foreign key's table, a function's types) is qualified; domains and
 * enums are only seen on the search path, so they are read a second time with `public` on it.
 */
import { createClient } from "@pgkit/client";
import { Changes, PostgreSQL } from "@pgkit/migra";

/** The connection string with the search path set for the session. */
function onSearchPath(url: string, searchPath: string): string {
  const u = new URL(url);
  u.searchParams.set("options", `-c search_path=${searchPath}`);
  return u.toString();
}

async function inspect(url: string, searchPath: string): Promise<PostgreSQL> {
  const client = createClient(onSearchPath(url, searchPath));
  try {
    const inspected = await PostgreSQL.create(client);
    inspected.one_schema("public");
    return inspected;
  } finally {
    await client.end();
  }
}

/** A statement migra writes for an index that a constraint owns: nothing to run. */
const NOTHING = /^select 1;\s*\n--/;

/** The statements that take `fromUrl`'s `public` to `targetUrl`'s, privileges aside. */
export async function migraStatements(fromUrl: string, targetUrl: string): Promise<string[]> {
  const all = new Changes(await inspect(fromUrl, ""), await inspect(targetUrl, ""));
  const types = new Changes(await inspect(fromUrl, "public"), await inspect(targetUrl, "public"));
  // migra's add_all_changes, in its order
  const steps = [
    types.enums({ creations_only: true, modifications: false }),
    all.sequences({ creations_only: true }),
    all.triggers({ drops_only: true }),
    all.rlspolicies({ drops_only: true }),
    all.non_pk_constraints({ drops_only: true }),
    all.mv_indexes({ drops_only: true }),
    all.non_table_selectable_drops(),
    all.pk_constraints({ drops_only: true }),
    all.non_mv_indexes({ drops_only: true }),
    all.tables_only_selectables(),
    all.sequences({ drops_only: true }),
    types.enums({ drops_only: true, modifications: false }),
    types.domains({ drops_only: true }),
    types.domains({ creations_only: true }),
    all.non_mv_indexes({ creations_only: true }),
    all.pk_constraints({ creations_only: true }),
    all.non_pk_constraints({ creations_only: true }),
    all.non_table_selectable_creations(),
    all.mv_indexes({ creations_only: true }),
    all.rlspolicies({ creations_only: true }),
    all.triggers({ creations_only: true }),
  ];
  return steps
    .flatMap((s) => s.array)
    .map((s) => s.trim())
    .filter((s) => s && !NOTHING.test(s))
    .map((s) => (s.endsWith(";") ? s : `${s};`)); // migra ends a domain's statement without one
}
