/**
 * The typed SQL API (lib/sql-contract.ts) against the database the migrations built: every listed function exists with
 * exactly the argument names its schema gives (the ones without a default are the ones the schema requires), each
 * argument's schema accepts what its SQL type holds and refuses what it cannot, and every export-ops function in
 * the database is listed, or named as internal to SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { SETTING_BOUNDS } from "../lib/env";
import { internalSqlFunctions, sqlFunctions } from "../lib/sql-contract";
import { closeSql, sql } from "./helpers/stack";

interface Proc {
  name: string;
  args: string[];
  required: string[];
  /** Each input argument's SQL type. */
  types: Record<string, string>;
}
let procs: Map<string, Proc>;

beforeAll(async () => {
  const { rows } = await sql().query<{
    name: string;
    names: string[] | null;
    modes: string[] | null;
    nargs: number;
    ndefaults: number;
    types: string[];
  }>(
    `select p.proname as name, p.proargnames as names, p.proargmodes::text[] as modes, p.pronargs as nargs, p.pronargdefaults as ndefaults,
       p.proargtypes::regtype[]::text[] as types
     from pg_proc p where p.pronamespace = 'public'::regnamespace and p.proname like 'export\\_ops\\_%'`,
  );
  procs = new Map(
    rows.map((r) => {
      const inputs = (r.names ?? []).filter((_, i) => !r.modes || ["i", "b"].includes(r.modes[i]!)).slice(0, r.nargs);
      const types = Object.fromEntries(inputs.map((arg, i) => [arg, r.types[i]!]));
      return [r.name, { name: r.name, args: inputs, required: inputs.slice(0, r.nargs - r.ndefaults), types }];
    }),
  );
});
afterAll(closeSql);

const listed = Object.entries(sqlFunctions) as [string, { args: z.ZodObject }][];

describe("the SQL API contract", () => {
  it("lists every export-ops function in the database, and nothing it does not have", () => {
    expect([...procs.keys()].sort()).toEqual([...listed.map(([name]) => name), ...internalSqlFunctions].sort());
  });

  it.each(listed)("%s takes exactly the arguments its schema names, requiring those without a default", (name, contract) => {
    const proc = procs.get(name)!;
    const shape = contract.args.shape as Record<string, z.ZodType>;
    expect(Object.keys(shape).sort()).toEqual([...proc.args].sort());
    const required = Object.entries(shape)
      .filter(([, schema]) => !schema.safeParse(undefined).success)
      .map(([key]) => key);
    expect(required.sort()).toEqual([...proc.required].sort());
  });

  it.each(listed)("%s: each argument's schema accepts a value of its SQL type and refuses other kinds", (name, contract) => {
    const proc = procs.get(name)!;
    const shape = contract.args.shape as Record<string, z.ZodType>;
    for (const [arg, schema] of Object.entries(shape)) {
      const probe = probes(proc.types[arg]!);
      if (probe.accept === undefined) continue; // json holds any shape the schema asks for
      expect({ arg, type: proc.types[arg], accepts: schema.safeParse(probe.accept).success }).toEqual({
        arg,
        type: proc.types[arg],
        accepts: true,
      });
      for (const wrong of probe.refuse) {
        expect({ arg, type: proc.types[arg], wrong, accepts: schema.safeParse(wrong).success }).toEqual({
          arg,
          type: proc.types[arg],
          wrong,
          accepts: false,
        });
      }
    }
  });
});

describe("the file retention's bounds", () => {
  const { min, max } = SETTING_BOUNDS.EXPORT_FILE_RETENTION_HOURS;
  const refused = (statement: string, hours: number) =>
    sql()
      .query(statement, [hours])
      .then(
        () => null,
        (error: Error) => error.message,
      );

  it("are the setting's in SQL too: export_ops_retention_hours takes exactly min to max", async () => {
    for (const ok of [min, max]) expect(await refused("select public.export_ops_retention_hours($1)", ok)).toBeNull();
    for (const bad of [min - 1, max + 1]) {
      expect(await refused("select public.export_ops_retention_hours($1)", bad)).toBe(
        `p_retention_hours must be between ${min} and ${max} (a year), got ${bad}`,
      );
    }
  });

  it.each([
    ["export_ops_file_cleanup_batch", "select public.export_ops_file_cleanup_batch(gen_random_uuid(), $1, 0)"],
    ["export_ops_file_cleanup_preview", "select public.export_ops_file_cleanup_preview($1)"],
    ["export_ops_orphan_page", "select public.export_ops_orphan_page('exports', $1, 24, 10, false)"],
  ])("%s refuses a retention past the bound, as the env var and the option do", async (_, statement) => {
    expect(await refused(statement, max + 1)).toMatch(/^p_retention_hours must be between/);
    expect(await refused(statement, max)).toBeNull();
  });

  it("export_ops_file_cleanup_preview refuses it when no completed log is there to look at, too", async () => {
    // in a transaction rolled back: the completed logs are gone only for this statement, and the plan scans the table
    // (with an index the bound was evaluated once whatever the rows; with a scan, only for a completed row)
    const client = await sql().connect();
    try {
      await client.query("begin");
      await client.query("set local enable_indexscan = off; set local enable_bitmapscan = off");
      await client.query("delete from public.export_logs where status = 'completed'");
      const refusal = await client.query("select public.export_ops_file_cleanup_preview($1)", [max + 1]).then(
        () => null,
        (error: Error) => error.message,
      );
      expect(refusal).toMatch(/^p_retention_hours must be between/);
    } finally {
      await client.query("rollback");
      client.release();
    }
  });
});

/** A value each SQL type holds, and values of other kinds it cannot (json: any shape, so nothing to probe). */
function probes(type: string): { accept: unknown; refuse: unknown[] } {
  if (type.endsWith("[]")) return { accept: [], refuse: ["x", 1] };
  switch (type) {
    case "integer":
    case "bigint":
    case "smallint":
      return { accept: 1, refuse: ["1", 1.5, true] };
    case "numeric":
    case "double precision":
    case "real":
      return { accept: 0.5, refuse: ["0.5", true] };
    case "boolean":
      return { accept: true, refuse: ["true", 1] };
    case "uuid":
      return { accept: "00000000-0000-4000-8000-000000000001", refuse: [1, true] };
    case "timestamp with time zone":
      return { accept: "2026-01-01T00:00:00.000Z", refuse: [1, true] };
    case "text":
      return { accept: "x", refuse: [1, true] };
    case "json":
    case "jsonb":
      return { accept: undefined, refuse: [] };
    default:
      throw new Error(`no probe for the SQL type ${type}`);
  }
}
