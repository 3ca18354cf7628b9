import { describe, expect, it } from "vitest";
import { planMigrations, versionAt } from "./migrations.ts";

const OURS = ["20251031000000_export_ops_preflight.sql", "20251101000000_export_ops_schema.sql", "20261203000000_export_ops_guest_buckets.sql"];
const NOW = new Date("2026-12-03T08:30:15.250Z");

describe("planMigrations", () => {
  it("dates every export-ops migration after now, one second apart, in export-ops' order, when the folder is older", () => {
    expect(planMigrations([...OURS].reverse(), ["20260115093000_init.sql", ".gitkeep"], NOW)).toEqual([
      { source: OURS[0], target: "20261203083015_export_ops_preflight.sql" },
      { source: OURS[1], target: "20261203083016_export_ops_schema.sql" },
      { source: OURS[2], target: "20261203083017_export_ops_guest_buckets.sql" },
    ]);
  });

  it("dates them after the folder's newest migration when that is later than now", () => {
    const plan = planMigrations(OURS, ["20261203235959_later.sql", "20260115093000_init.sql"], NOW);
    expect(plan.map((p) => p.target)).toEqual([
      "20261204000000_export_ops_preflight.sql",
      "20261204000001_export_ops_schema.sql",
      "20261204000002_export_ops_guest_buckets.sql",
    ]);
  });

  it("writes only what the folder lacks, whatever dates the folder gave the others, and nothing the second time", () => {
    const first = ["20260115093000_init.sql", "20261201100000_export_ops_preflight.sql", "20261201100001_export_ops_schema.sql"];
    const plan = planMigrations(OURS, first, NOW);
    expect(plan).toEqual([{ source: OURS[2], target: "20261203083015_export_ops_guest_buckets.sql" }]);
    expect(planMigrations(OURS, [...first, plan[0]!.target], NOW)).toEqual([]);
  });

  it("refuses a folder whose newest version is long but not a time, rather than guess an order", () => {
    expect(() => planMigrations(OURS, ["99999999999999_x.sql"], NOW)).toThrow(/not a YYYYMMDDHHMMSS time/);
  });

  it("writes versions as the Supabase CLI does: UTC, to the second", () => {
    expect(versionAt(new Date("2026-01-02T03:04:05.999Z"))).toBe("20260102030405");
  });
});
