import { describe, expect, it } from "vitest";
import { flagsToQuery } from "./cli-args";

describe("flagsToQuery", () => {
  it("maps kebab-case flags to snake_case options, bare flags to true", () => {
    expect(flagsToQuery(["--dry-run", "--retention-hours", "48", "--batch-size=500"]).toString()).toBe("dry_run=true&retention_hours=48&batch_size=500");
  });

  it("keeps repeated flags so the schema can refuse them", () => {
    expect(flagsToQuery(["--dry-run", "--dry-run", "false"]).getAll("dry_run")).toEqual(["true", "false"]);
  });

  it("refuses a stray argument", () => {
    expect(() => flagsToQuery(["48"])).toThrow("unexpected argument 48");
  });
});
