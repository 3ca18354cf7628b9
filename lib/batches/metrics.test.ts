/** The raw metrics' deletion shared by the log cleanup and the erasure: batch by batch, within the deadline. */
import { describe, expect, it } from "vitest";
import { fixedClock } from "../../test/doubles";
import type { SqlApi } from "../ports";
import { deleteMetricsInBatches } from "./metrics";

/** A database holding `rows` raw metrics in scope, each call taking one second of the clock. */
function metrics(rows: number, clock: ReturnType<typeof fixedClock>) {
  const calls: Record<string, unknown>[] = [];
  let left = rows;
  const db = {
    async call(fn: string, args: Record<string, unknown>) {
      expect(fn).toBe("export_ops_delete_metrics");
      calls.push(args);
      clock.advance(1000);
      const deleted = Math.min(left, args.p_limit as number);
      left -= deleted;
      return deleted;
    },
  } as unknown as SqlApi;
  return { db, calls };
}

describe("deleteMetricsInBatches", () => {
  const start = "2026-06-01T03:00:00Z";

  it("deletes those past a cutoff until a batch comes back short", async () => {
    const clock = fixedClock(start);
    const { db, calls } = metrics(25, clock);
    const cutoff = new Date("2026-03-01T00:00:00Z");
    const result = await deleteMetricsInBatches({ db, clock, deadline: clock.now().getTime() + 60_000 }, { cutoff }, { batchSize: 10 });
    expect(result).toEqual({ deleted: 25, finished: true });
    expect(calls).toEqual([1, 2, 3].map(() => ({ p_cutoff: cutoff.toISOString(), p_limit: 10 })));
  });

  it("deletes one user's, naming only the user", async () => {
    const clock = fixedClock(start);
    const { db, calls } = metrics(20, clock);
    const userId = "00000000-0000-4000-8000-000000000001";
    // a batch exactly full is followed by one more, which finds none
    expect(await deleteMetricsInBatches({ db, clock, deadline: clock.now().getTime() + 60_000 }, { userId }, { batchSize: 10 })).toEqual({
      deleted: 20,
      finished: true,
    });
    expect(calls).toEqual([1, 2, 3].map(() => ({ p_user_id: userId, p_limit: 10 })));
  });

  it("stops at the deadline with a full batch just deleted, saying there may be more", async () => {
    const clock = fixedClock(start);
    const { db, calls } = metrics(100, clock);
    const result = await deleteMetricsInBatches(
      { db, clock, deadline: clock.now().getTime() + 2_500 },
      { cutoff: new Date(start) },
      { batchSize: 10 },
    );
    expect(result).toEqual({ deleted: 30, finished: false });
    expect(calls).toHaveLength(3);
  });

  it("deletes a first batch even past the deadline (the caller had time to start it)", async () => {
    const clock = fixedClock(start);
    const { db } = metrics(5, clock);
    expect(await deleteMetricsInBatches({ db, clock, deadline: clock.now().getTime() - 1 }, { cutoff: new Date(start) })).toEqual({
      deleted: 5,
      finished: true,
    });
  });
});
