import { describe, expect, it } from "vitest";
import { median, medianRun } from "./cases";

describe("the median run", () => {
  it("is the run whose time is the median, so its time and its rate come from the same run", () => {
    const runs = [
      { wall_ms: 73_100, processed: 100_000 },
      { wall_ms: 114_300, processed: 100_000 },
    ];
    expect(medianRun(runs)).toBe(runs[0]);
    expect(medianRun(runs).wall_ms).toBe(median(runs.map((r) => r.wall_ms)));
    expect(medianRun([{ wall_ms: 3 }, { wall_ms: 1 }, { wall_ms: 2 }])).toEqual({ wall_ms: 2 });
  });
});
