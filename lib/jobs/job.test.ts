import { describe, expect, it } from "vitest";
import { deadlineFor } from "./job";

describe("deadlineFor", () => {
  const job = { maxDurationSeconds: 300 };
  const start = Date.parse("2026-01-01T02:00:00Z");

  it("leaves a margin of 30 s before maxDuration", () => {
    expect(deadlineFor(job, start)).toBe(start + 270_000);
  });

  it("keeps a fifth of a short budget as margin", () => {
    expect(deadlineFor({ maxDurationSeconds: 10 }, start)).toBe(start + 8_000);
  });

  it("follows the platform's deadline when it is sooner", () => {
    expect(deadlineFor(job, start, new Date(start + 120_000))).toBe(start + 90_000);
    expect(deadlineFor(job, start, new Date(start + 900_000))).toBe(start + 270_000);
    expect(deadlineFor(job, start, new Date(Number.NaN))).toBe(start + 270_000);
  });
});
