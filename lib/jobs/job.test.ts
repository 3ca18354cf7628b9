import { describe, expect, it } from "vitest";
import { REQUEST_TIMEOUT_MS } from "../ports";
import { jobs } from "./index";
import { deadlineFor, runOutcome } from "./job";

describe("deadlineFor", () => {
  const job = { maxDurationSeconds: 300, callsAfterDeadline: 3 };
  const start = Date.parse("2026-01-01T02:00:00Z");

  it("leaves room for every call still possible after the last check, and for recording the result", () => {
    expect(deadlineFor(job, start)).toBe(start + 300_000 - 4 * REQUEST_TIMEOUT_MS);
  });

  it("follows the platform's deadline when it is sooner", () => {
    expect(deadlineFor(job, start, new Date(start + 120_000))).toBe(start + 40_000);
    expect(deadlineFor(job, start, new Date(start + 900_000))).toBe(start + 220_000);
    expect(deadlineFor(job, start, new Date(Number.NaN))).toBe(start + 220_000);
  });

  it.each(jobs.map((j) => [j.id, j] as const))("leaves %s a minute or more of work within its maxDuration", (_, j) => {
    expect(deadlineFor(j, start) - start).toBeGreaterThanOrEqual(60_000);
  });
});

describe("runOutcome", () => {
  it("is succeeded when all work is done, partial with work left or some failures, failed with failures and no progress", () => {
    expect(runOutcome({ has_more: false, dry_run: false, failed_count: 0, errors: [] }, 10)).toBe("succeeded");
    expect(runOutcome({ has_more: true, dry_run: false, failed_count: 0 }, 10)).toBe("partial");
    expect(runOutcome({ has_more: false, dry_run: false, failed_count: 2 }, 10)).toBe("partial");
    expect(runOutcome({ has_more: false, dry_run: false, errors: [{ reason: "x" }] }, 1)).toBe("partial");
    expect(runOutcome({ has_more: false, dry_run: false, failed_count: 30 }, 0)).toBe("failed");
    expect(runOutcome({ has_more: true, dry_run: false, errors: [{ reason: "x" }] }, 0)).toBe("failed");
    expect(runOutcome({ has_more: false, dry_run: false }, 0)).toBe("succeeded"); // nothing to do is not a failure
  });
});
