/**
 * The load governor: its signal (the run's own batch times) and what the pacer does with it, on time that moves only
 * when a test says so and, for the pacer, a signal that says how slow each batch was. No wall clock anywhere.
 */
import { describe, expect, it } from "vitest";
import { captureLogger, manualTime, scriptedSignal } from "../../test/doubles";
import { BASELINE_BATCHES, MIN_TIMED_MS, STOP_AFTER, batchTimes, type LoadLimits, type LoadSignal } from "./load";
import { FULL_SPEED, createPacer } from "./pacing";

describe("batchTimes: the run's own batch times", () => {
  it(`judges a kind's batches once ${BASELINE_BATCHES} were timed, against the second fastest per row`, () => {
    const signal = batchTimes();
    // 1, 0.5 and 0.8 ms per row: the baseline is 0.8 (one freak fast batch is not the baseline)
    expect([100, 50, 80].map((ms) => signal.judge({ kind: "claim", units: 100, ms }))).toEqual([undefined, undefined, undefined]);
    expect(signal.judge({ kind: "claim", units: 100, ms: 160 })).toBe(2);
  });

  it("compares time per row: a batch twice the size in twice the time is as fast", () => {
    const signal = batchTimes();
    for (let i = 0; i < BASELINE_BATCHES; i++) signal.judge({ kind: "claim", units: 100, ms: 100 });
    expect(signal.judge({ kind: "claim", units: 200, ms: 200 })).toBe(1);
    expect(signal.judge({ kind: "claim", units: 50, ms: 150 })).toBe(3);
  });

  it("keeps each kind's baseline apart", () => {
    const signal = batchTimes();
    for (let i = 0; i < BASELINE_BATCHES; i++) signal.judge({ kind: "claim", units: 100, ms: 100 });
    expect(signal.judge({ kind: "file delete", units: 100, ms: 1000 })).toBeUndefined();
  });

  it(`leaves out batches under ${MIN_TIMED_MS} ms (a request's own overhead) and empty ones, from the baseline too`, () => {
    const signal = batchTimes();
    for (let i = 0; i < BASELINE_BATCHES; i++) signal.judge({ kind: "claim", units: 100, ms: 100 });
    expect(signal.judge({ kind: "claim", units: 100, ms: MIN_TIMED_MS - 1 })).toBeUndefined();
    expect(signal.judge({ kind: "claim", units: 0, ms: 500 })).toBeUndefined();
    // neither became the baseline: 1 ms per row still is
    expect(signal.judge({ kind: "claim", units: 100, ms: 300 })).toBe(3);
  });
});

describe("the pacer's load governor", () => {
  const limits: LoadLimits = { yield: true, slowFactor: 2, stopFactor: 10 };

  function setup(signal: LoadSignal, options: { ratio?: number; load?: LoadLimits; deadline?: number } = {}) {
    const time = manualTime();
    const log = captureLogger();
    const deps = { clock: { now: () => new Date(time.now()) }, deadline: options.deadline ?? 1e12, logger: log.logger };
    const pacer = createPacer({ ratio: options.ratio ?? 0, load: options.load ?? limits }, deps, { time, signal });
    /** One batch of `kind` that takes `ms`. */
    const rows = () => 1;
    const batch = (ms: number, kind = "claim") => pacer.timed(kind, async () => time.advance(ms), rows);
    /** `n` batches of claims in flight together, all begun at once and ended `ms` later. */
    const together = async (n: number, ms: number) => {
      let release = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      const batches = Array.from({ length: n }, () => pacer.timed("claim", () => gate, rows));
      time.advance(ms);
      release();
      await Promise.all(batches);
    };
    return { pacer, time, batch, together, lines: log.lines };
  }

  it("rests (factor − 1) × a slow batch's time before the next batch, none below slow_factor, and speeds up again", async () => {
    const { pacer, time, batch } = setup(scriptedSignal(1, 1.9, 3, 1));
    for (const ms of [100, 100]) {
      await batch(ms);
      await pacer.pause();
    }
    expect(time.sleeps).toEqual([]);
    await batch(200); // three times as slow: 400 ms more than unloaded
    await pacer.pause();
    await pacer.pause(); // owed once, rested once
    expect(time.sleeps).toEqual([400]);
    await batch(100); // as fast as unloaded again: no rest
    await pacer.pause();
    expect(time.sleeps).toEqual([400]);
    expect(pacer.rested()).toBe(400);
    expect(pacer.load()).toEqual({ batches_judged: 4, slow_batches: 1, slowest_factor: 3, rested_ms: 400, stopped_for_load: null });
  });

  it("gives slow batches that ended since the last rest one rest, the longest any of them asks for", async () => {
    const { pacer, time, together } = setup(scriptedSignal(3, 5, 2));
    await together(3, 100); // 200, 400 and 100 ms more than unloaded
    await pacer.pause();
    expect(time.sleeps).toEqual([400]);
  });

  it("rests at most what stop_factor asks: a batch 50 times as slow rests (stop_factor − 1) × its time", async () => {
    const { pacer, time, batch } = setup(scriptedSignal(50));
    await batch(100);
    await pacer.pause();
    expect(time.sleeps).toEqual([900]);
  });

  it("never rests past the run's deadline", async () => {
    const { pacer, time, batch } = setup(scriptedSignal(5), { deadline: 250 });
    await batch(100);
    await pacer.pause();
    expect(time.sleeps).toEqual([150]);
  });

  it("with nice_ratio, rests the longer of the two, and counts in load.rested_ms only what load added", async () => {
    const { pacer, time, batch } = setup(scriptedSignal(3), { ratio: 1 });
    await batch(100); // nice_ratio 1 asks for 100 ms, the load for 200
    await pacer.pause();
    expect(time.sleeps).toEqual([200]);
    expect(pacer.rested()).toBe(200);
    expect(pacer.load().rested_ms).toBe(100);
  });

  it("with yield_to_load=false neither rests nor stops, but reports what it saw", async () => {
    const { pacer, time, batch } = setup(scriptedSignal(20), { load: { ...limits, yield: false } });
    for (let i = 0; i < 5; i++) {
      await batch(100);
      await pacer.pause();
    }
    expect(time.sleeps).toEqual([]);
    expect(pacer.stoppedForLoad()).toBeNull();
    expect(pacer.load()).toEqual({ batches_judged: 5, slow_batches: 5, slowest_factor: 20, rested_ms: 0, stopped_for_load: null });
  });

  it(`stops after ${STOP_AFTER} batches of one kind in a row at stop_factor, says why, and rests no more`, async () => {
    const { pacer, time, batch, lines } = setup(scriptedSignal(12, 15, 12));
    await batch(100);
    await batch(100);
    expect(pacer.stoppedForLoad()).toBeNull();
    await batch(100);
    const reason = "3 claim batches in a row took 12 times or more the time per row of the run's fastest (stop_factor 10)";
    expect(pacer.stoppedForLoad()).toBe(reason);
    expect(pacer.load()).toMatchObject({ stopped_for_load: reason, slowest_factor: 15 });
    expect(lines()).toContainEqual(expect.objectContaining({ type: "stopped_for_load", level: "warn", reason }));
    await pacer.pause(); // the run winds down: no rest holds it
    expect(time.sleeps).toEqual([]);
  });

  it("counts batches in flight together once toward the stop, and a faster batch starts the count again", async () => {
    const { pacer, together, batch } = setup(scriptedSignal(12, 12, 12, 12, 5, 12, 12, 12));
    await together(3, 100); // one slow moment
    await batch(100); // two
    expect(pacer.stoppedForLoad()).toBeNull();
    await batch(100); // five times as slow: below stop_factor, the count starts again
    await batch(100);
    await batch(100);
    expect(pacer.stoppedForLoad()).toBeNull();
    await batch(100);
    expect(pacer.stoppedForLoad()).toMatch(/^3 claim batches in a row/);
  });

  it("counts each kind apart: slow claims between fast deletes still stop the run", async () => {
    const { pacer, batch } = setup({ judge: ({ kind }) => (kind === "claim" ? 12 : 1) });
    for (let i = 0; i < STOP_AFTER; i++) {
      await batch(100, "claim");
      await batch(100, "file delete");
    }
    expect(pacer.stoppedForLoad()).toMatch(/^3 claim batches in a row/);
  });

  it("is off without limits: slow batches are neither judged nor rested for", async () => {
    const time = manualTime();
    const pacer = createPacer(
      { ratio: 0 },
      { clock: { now: () => new Date(time.now()) }, deadline: 1e12 },
      { time, signal: scriptedSignal(50) },
    );
    await pacer.timed(
      "claim",
      async () => time.advance(100),
      () => 1,
    );
    await pacer.pause();
    expect(time.sleeps).toEqual([]);
    expect(pacer.load()).toEqual(FULL_SPEED.load());
    expect(
      await FULL_SPEED.timed(
        "claim",
        async () => 7,
        () => 1,
      ),
    ).toBe(7);
    expect(FULL_SPEED.stoppedForLoad()).toBeNull();
  });
});
