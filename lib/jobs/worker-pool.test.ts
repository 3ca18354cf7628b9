import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { settleWithFakeTimers as settled } from "../../test/doubles";
import { createWorkerPool } from "./worker-pool";

/** A worker's await on something slow: 5 ms of fake time, so which worker goes next is decided by the timers, not by the machine. */
const tick = () => new Promise((r) => setTimeout(r, 5));

describe("the file cleanup's worker pool", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] }));
  afterEach(() => vi.useRealTimers());

  it("starts the other workers only once the first has probed", async () => {
    const pool = createWorkerPool();
    const events: string[] = [];
    await settled(
      pool.run(3, async (n, probed) => {
        events.push(`start ${n}`);
        if (n === 0) {
          await tick();
          events.push("probed");
          probed();
          await tick();
        }
      }),
    );
    expect(events.slice(0, 2)).toEqual(["start 0", "probed"]);
    expect(events.slice(2).sort()).toEqual(["start 1", "start 2"]);
  });

  it("starts the others when the first ends without probing", async () => {
    const pool = createWorkerPool();
    const started: number[] = [];
    await pool.run(3, async (n) => void started.push(n));
    expect(started).toEqual([0, 1, 2]);
  });

  it("runs serial calls one at a time, in the order asked, while the workers overlap", async () => {
    const pool = createWorkerPool();
    let inside = 0;
    let most = 0;
    const order: string[] = [];
    await settled(
      pool.run(4, async (n, probed) => {
        probed();
        for (let i = 0; i < 3; i += 1) {
          await pool.serially(async () => {
            inside += 1;
            most = Math.max(most, inside);
            order.push(`${n}.${i}`);
            await tick();
            inside -= 1;
          });
        }
      }),
    );
    expect(most).toBe(1);
    expect(order).toHaveLength(12);
    for (let n = 0; n < 4; n += 1) expect(order.filter((o) => o.startsWith(`${n}.`))).toEqual([`${n}.0`, `${n}.1`, `${n}.2`]);
  });

  it("after a serial call fails, makes no queued call and rejects with that error once every worker returned", async () => {
    const pool = createWorkerPool();
    const made: number[] = [];
    const returned: number[] = [];
    const boom = new Error("export_ops_file_cleanup_batch failed");
    const run = pool.run(3, async (n, probed) => {
      probed();
      const answers = await Promise.all([
        pool.serially(async () => {
          made.push(n);
          if (n === 0) throw boom;
          return n;
        }),
      ]);
      expect(answers).toEqual([undefined]);
      returned.push(n);
    });
    await expect(run).rejects.toBe(boom);
    expect(made).toEqual([0]);
    expect(returned.sort()).toEqual([0, 1, 2]);
    expect(pool.failed()).toBe(true);
  });

  it("rejects with a worker's own error and keeps the first one", async () => {
    const pool = createWorkerPool();
    const first = new Error("Storage: 500");
    await expect(
      settled(
        pool.run(2, async (n, probed) => {
          probed();
          await tick();
          throw n === 0 ? first : new Error("later");
        }),
      ),
    ).rejects.toBe(first);
  });
});
