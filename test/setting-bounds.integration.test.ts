/**
 * One set of bounds per setting (lib/setting-bounds.ts), checked one way in SQL: export_ops_setting holds the same
 * bounds, and every SQL function that takes a setting (each argument the contract bounds by one, lib/sql-contract.ts)
 * calls it first, so a value past the bound is refused whatever the rows, with the same message everywhere.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { SETTING_BOUNDS, type BoundedSetting } from "../lib/setting-bounds";
import { sqlFunctions } from "../lib/sql-contract";
import { closeSql, sql } from "./helpers/stack";

afterAll(closeSql);

/** The message SQL and nothing else refuses a setting's value with (the words name the upper bound). */
const refusal = (argument: string, setting: BoundedSetting) =>
  new RegExp(`^${argument} must be between ${SETTING_BOUNDS[setting].min} and ${SETTING_BOUNDS[setting].max} \\(`);

/** Runs `statement` with `value` in a transaction rolled back: null, or the error's message. */
async function refused(statement: string, value: number | null): Promise<string | null> {
  const client = await sql().connect();
  try {
    await client.query("begin");
    // a plan that scans and finds no row must not skip the check (the preview's was once inside its filter)
    await client.query("set local enable_indexscan = off; set local enable_bitmapscan = off");
    await client.query("delete from public.export_logs");
    return await client.query(statement, [value]).then(
      () => null,
      (error: Error) => error.message,
    );
  } finally {
    await client.query("rollback");
    client.release();
  }
}

/** Every contract argument that carries a setting, as `function.argument` → the setting. */
function settingArguments(): Map<string, BoundedSetting> {
  const found = new Map<string, BoundedSetting>();
  for (const [fn, { args }] of Object.entries(sqlFunctions)) {
    for (const [arg, schema] of Object.entries(args.shape as Record<string, z.ZodType>)) {
      const inner = schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
      const setting = inner.meta()?.setting as BoundedSetting | undefined;
      if (setting) found.set(`${fn}.${arg}`, setting);
    }
  }
  return found;
}

/** A call of each function with the setting's argument as $1 and everything else valid. */
const CALLS: Record<string, string> = {
  "export_ops_file_cleanup_batch.p_retention_hours": "select public.export_ops_file_cleanup_batch(gen_random_uuid(), $1, 0)",
  "export_ops_file_cleanup_batch.p_max_attempts":
    "select public.export_ops_file_cleanup_batch(gen_random_uuid(), 24, 0, p_max_attempts => $1)",
  "export_ops_file_cleanup_preview.p_retention_hours": "select public.export_ops_file_cleanup_preview($1)",
  "export_ops_orphan_page.p_retention_hours": "select public.export_ops_orphan_page('exports', $1, 24, 10, false)",
  "export_ops_orphan_page.p_stuck_hours": "select public.export_ops_orphan_page('exports', 24, $1, 10, false)",
  "export_ops_export_silence.p_hours": "select public.export_ops_export_silence($1)",
  "export_ops_exports_stuck.p_hours": "select public.export_ops_exports_stuck($1)",
  "export_ops_metrics_snapshot.p_file_retention_hours": "select public.export_ops_metrics_snapshot($1, 30, 24)",
  "export_ops_metrics_snapshot.p_log_retention_days": "select public.export_ops_metrics_snapshot(24, $1, 24)",
  "export_ops_metrics_snapshot.p_stuck_hours": "select public.export_ops_metrics_snapshot(24, 30, $1)",
  "export_ops_page_jobs.p_file_retention_hours": "select public.export_ops_page_jobs(array['export-file-cleanup'], $1, 30)",
  "export_ops_page_jobs.p_log_retention_days": "select public.export_ops_page_jobs(array['export-file-cleanup'], 24, $1)",
  "export_ops_page_cleanup.p_log_retention_days": "select public.export_ops_page_cleanup('exports', $1)",
};

describe("the settings' bounds in SQL", () => {
  it.each(Object.keys(SETTING_BOUNDS) as BoundedSetting[])("export_ops_setting takes exactly %s's bounds", async (setting) => {
    const { min, max } = SETTING_BOUNDS[setting];
    const check = `select public.export_ops_setting('${setting}', 'p_value', $1)`;
    for (const ok of [min, max]) expect(await refused(check, ok)).toBeNull();
    for (const bad of [min - 1, max + 1, null]) expect(await refused(check, bad)).toMatch(refusal("p_value", setting));
  });

  it("export_ops_setting knows no other setting", async () => {
    expect(await refused("select public.export_ops_setting('EXPORT_NOTHING', 'p_value', $1)", 1)).toBe("no setting named EXPORT_NOTHING");
  });

  it("has a call below for every argument the contract bounds by a setting", () => {
    expect([...settingArguments().keys()].sort()).toEqual(Object.keys(CALLS).sort());
  });

  it.each(Object.entries(CALLS))("%s: refused past the bound before anything else, accepted at it", async (key, statement) => {
    const setting = settingArguments().get(key)!;
    const argument = key.split(".")[1]!;
    const { min, max } = SETTING_BOUNDS[setting];
    for (const bad of [min - 1, max + 1]) expect(await refused(statement, bad)).toMatch(refusal(argument, setting));
    expect(await refused(statement, max)).toBeNull();
  });
});
