/**
 * supabase/schemas/ is the current definition of export-ops' database objects, and supabase/migrations/ the
 * shipped history that reaches it: a database built from each must be the same, object for object (relations,
 * columns, constraints, indexes, functions and their bodies, triggers, policies, types, statistics, comments, and
 * every privilege: scripts/db/catalog.ts). Data the migrations seed (the format list, the installation row, the
 * buckets) is not schema and is not compared. `npm run db:diff` writes the migration that keeps them equal
 * (test/db-diff.integration.test.ts).
 */
import type pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { catalogDifferences, exportOpsCatalog } from "../scripts/db/catalog";
import { applyMigrationFiles, applySchemaFiles, MIGRATIONS_DIR, SCHEMAS_DIR, sqlFiles } from "../scripts/db/databases";
import { catalogSnapshot, freshDatabase, isExportOps, type HostDatabase } from "./helpers/host-database";
import { closeSql } from "./helpers/stack";

const open: HostDatabase[] = [];
afterAll(async () => {
  await Promise.all(open.map((db) => db.drop()));
  await closeSql();
});

/** export-ops' part of the catalog snapshot: the install test's view of objects and privileges. */
async function ours(client: pg.ClientBase) {
  const s = await catalogSnapshot(client);
  const mine = <T extends { name: string }>(items: T[]) => items.filter((i) => isExportOps(i.name));
  return {
    relations: mine(s.relations),
    columns: mine(s.columns),
    functions: mine(s.functions),
    types: mine(s.types),
    policies: mine(s.policies),
    triggers: s.triggers.filter(isExportOps),
    statistics: s.statistics.filter(isExportOps),
  };
}

describe("supabase/schemas/", () => {
  it("defines exactly what the migrations build", async () => {
    const fromMigrations = await freshDatabase({ hostFixture: false });
    open.push(fromMigrations);
    await applyMigrationFiles(fromMigrations.client, MIGRATIONS_DIR);

    const fromSchemas = await freshDatabase({ hostFixture: false });
    open.push(fromSchemas);
    expect(sqlFiles(SCHEMAS_DIR).length).toBeGreaterThan(5);
    await applySchemaFiles(fromSchemas.client, SCHEMAS_DIR);

    const [a, b] = [await ours(fromMigrations.client), await ours(fromSchemas.client)];
    expect(a.functions.length).toBeGreaterThan(50);
    expect(b).toEqual(a);
    const [ca, cb] = [await exportOpsCatalog(fromMigrations.client), await exportOpsCatalog(fromSchemas.client)];
    expect(ca.functions!.length).toBe(a.functions.length);
    expect(catalogDifferences(cb, ca)).toEqual([]);
    expect(cb).toEqual(ca);
  });
});
