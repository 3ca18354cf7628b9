import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { exportFileCleanupOptionsSchema } from "./export-file-cleanup";
import { exportLogCleanupOptionsSchema } from "./export-log-cleanup";
import { exportMetricsAggregateOptionsSchema } from "./export-metrics-aggregate";
import { SLOW_FACTOR, STOP_FACTOR, createPacer, niceRatioOption, pacingOptions, type Pacer } from "./pacing";

describe("nice_ratio", () => {
  it.each([
    ["0", 0],
    ["1", 1],
    ["0.5", 0.5],
    ["2.25", 2.25],
    ["10", 10],
  ])("takes %j", (value, expected) => {
    expect(niceRatioOption.parse(value)).toBe(expected);
  });

  it.each(["1e0", ".5", "+1", "-1", "0x1", "1.", "0.125", "11", " 1", ""])("refuses %j, saying what is wrong", (value) => {
    const parsed = niceRatioOption.safeParse(value);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/must be (a number written in decimal digits|at most 10|at least 0)/);
  });

  it("defaults to full speed", () => {
    expect(niceRatioOption.parse(undefined)).toBe(0);
  });
});

describe("the load governor's options", () => {
  const { yield_to_load, slow_factor, stop_factor } = pacingOptions;

  it("yield to load by default; yield_to_load takes true or false only", () => {
    expect(yield_to_load.parse(undefined)).toBe(true);
    expect(yield_to_load.parse("false")).toBe(false);
    expect(yield_to_load.safeParse("0").error?.issues[0]?.message).toBe("must be true or false");
  });

  it.each([
    ["slow_factor", slow_factor, SLOW_FACTOR, ["1.1", "2.5", "20"], ["1", "20.5", "1e1", ""]],
    ["stop_factor", stop_factor, STOP_FACTOR, ["1.5", "10", "100"], ["1.49", "101", "+10", "0x10"]],
  ] as const)("%s defaults to %d, takes its bounds and refuses the rest", (_name, schema, fallback, takes, refuses) => {
    expect(schema.parse(undefined)).toBe(fallback);
    for (const value of takes) expect(schema.parse(value)).toBe(Number(value));
    for (const value of refuses) {
      expect(schema.safeParse(value).error?.issues[0]?.message).toMatch(/must be (a number written in decimal digits|at most|at least)/);
    }
  });

  it.each([
    ["export-file-cleanup", exportFileCleanupOptionsSchema],
    ["export-log-cleanup", exportLogCleanupOptionsSchema],
    ["export-metrics-aggregate", exportMetricsAggregateOptionsSchema],
  ] as const)("are every bulk job's: %s", (_id, schema) => {
    expect(schema.parse({ slow_factor: "3", yield_to_load: "false" })).toMatchObject({
      nice_ratio: 0,
      yield_to_load: false,
      slow_factor: 3,
      stop_factor: STOP_FACTOR,
    });
  });
});

describe("createPacer", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "performance"] }));
  afterEach(() => vi.useRealTimers());
  const at = (ms: number) => ({ clock: { now: () => new Date(ms) }, deadline: 60_000 });

  /** Works `workMs`, then pauses: whether the pause has ended after each of the given advances of the timers. */
  async function pauseAfter(pacer: Pacer, workMs: number, steps: number[]): Promise<boolean[]> {
    vi.advanceTimersByTime(workMs);
    let ended = false;
    const pause = pacer.pause().then(() => (ended = true));
    const seen: boolean[] = [];
    for (const step of steps) {
      await vi.advanceTimersByTimeAsync(step);
      seen.push(ended);
    }
    await vi.runAllTimersAsync();
    await pause;
    return seen;
  }

  it("rests ratio times as long as the run has worked since its last rest", async () => {
    const pacer = createPacer({ ratio: 2 }, at(0));
    expect(await pauseAfter(pacer, 100, [199, 1])).toEqual([false, true]);
    expect(pacer.rested()).toBe(200);
    // 50 ms more work: 100 ms more rest (the 200 ms rested are not counted as work)
    expect(await pauseAfter(pacer, 50, [99, 1])).toEqual([false, true]);
    expect(pacer.rested()).toBe(300);
  });

  it("makes workers that pause during a rest wait out the same rest, not one each", async () => {
    const pacer = createPacer({ ratio: 1 }, at(0));
    vi.advanceTimersByTime(100);
    const ended: number[] = [];
    const pauses = [0, 1, 2].map((n) => pacer.pause().then(() => ended.push(n)));
    await vi.advanceTimersByTimeAsync(99);
    expect(ended).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all(pauses);
    expect(ended.sort()).toEqual([0, 1, 2]);
    expect(pacer.rested()).toBe(100);
  });

  it("does not rest at ratio 0", async () => {
    const pacer = createPacer({ ratio: 0 }, at(0));
    expect(await pauseAfter(pacer, 100, [0])).toEqual([true]);
    expect(pacer.rested()).toBe(0);
  });

  it("never rests past the run's deadline", async () => {
    const pacer = createPacer({ ratio: 2 }, at(59_950));
    expect(await pauseAfter(pacer, 100, [49, 1])).toEqual([false, true]);
    expect(pacer.rested()).toBe(50);
  });

  it("does not rest once the deadline has passed", async () => {
    const pacer = createPacer({ ratio: 2 }, at(61_000));
    expect(await pauseAfter(pacer, 100, [0])).toEqual([true]);
    expect(pacer.rested()).toBe(0);
  });
});
