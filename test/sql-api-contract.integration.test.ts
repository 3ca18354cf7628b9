/**
 * The typed SQL API (lib/sql-api.ts) against the database the migrations built: every listed function exists with
 * exactly the argument names its schema gives (the ones without a default are the ones the schema requires), and
 * every export-ops function in the database is listed, or named as internal to SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { internalSqlFunctions, sqlFunctions } from "../lib/sql-api";
import { closeSql, sql } from "./helpers/stack";

interface Proc {
  name: string;
  args: string[];
  required: string[];
}
let procs: Map<string, Proc>;

beforeAll(async () => {
  const { rows } = await sql().query<{ name: string; names: string[] | null; modes: string[] | null; nargs: number; ndefaults: number }>(
    `select p.proname as name, p.proargnames as names, p.proargmodes::text[] as modes, p.pronargs as nargs, p.pronargdefaults as ndefaults
     from pg_proc p where p.pronamespace = 'public'::regnamespace and p.proname like 'export\\_ops\\_%'`,
  );
  procs = new Map(
    rows.map((r) => {
      const inputs = (r.names ?? []).filter((_, i) => !r.modes || ["i", "b"].includes(r.modes[i]!)).slice(0, r.nargs);
      return [r.name, { name: r.name, args: inputs, required: inputs.slice(0, r.nargs - r.ndefaults) }];
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
    const required = Object.entries(shape).filter(([, schema]) => !schema.safeParse(undefined).success).map(([key]) => key);
    expect(required.sort()).toEqual([...proc.required].sort());
  });
});
