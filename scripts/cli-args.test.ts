import { describe, expect, it } from "vitest";
import { exportFileCleanupOptionsSchema } from "../lib/jobs/export-file-cleanup";
import { argsToQuery } from "./cli-args";

describe("argsToQuery", () => {
  it("maps kebab-case flags to snake_case options, boolean options to bare flags", () => {
    const { query } = argsToQuery(exportFileCleanupOptionsSchema, ["--dry-run", "--retention-hours", "48", "--batch-size=500"]);
    expect(query.toString()).toBe("dry_run=true&retention_hours=48&batch_size=500");
  });

  it("turns a boolean option that defaults to true off with --no-<flag>", () => {
    const { query } = argsToQuery(exportFileCleanupOptionsSchema, ["--no-sweep-orphans"]);
    expect(query.toString()).toBe("sweep_orphans=false");
    expect(exportFileCleanupOptionsSchema.parse(Object.fromEntries(query)).sweep_orphans).toBe(false);
  });

  it("refuses an unknown flag, a missing value and a stray argument", () => {
    expect(() => argsToQuery(exportFileCleanupOptionsSchema, ["--retention"])).toThrow(/Unknown option '--retention'/);
    expect(() => argsToQuery(exportFileCleanupOptionsSchema, ["--retention-hours"])).toThrow(/argument missing/);
    expect(() => argsToQuery(exportFileCleanupOptionsSchema, ["48"])).toThrow(/Unexpected argument '48'/);
  });

  it("passes extra flags of the script apart from the job's options", () => {
    const { query, extra } = argsToQuery(exportFileCleanupOptionsSchema, ["--release", "abc"], { release: { type: "string" } });
    expect(query.toString()).toBe("");
    expect(extra).toEqual({ release: "abc" });
  });
});
