/**
 * The load governor against the local stack: a synthetic load on the host's database makes the log cleanup's
 * batches slower, and the run yields — rests after the slow batches, or stops with `has_more` and the reason —
 * and loses nothing. The load is a statement trigger, installed for the test on the table the job deletes from,
 * that sleeps in every delete statement: briefly (the unloaded baseline) until the statements the test names, then
 * long. Counted in statements, not seconds, so the same batches are slow on a quiet machine and a loaded one; the
 * assertions are about what the run did, never about how long it took.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { exportLogCleanup } from "../lib/jobs/export-log-cleanup";
import { resetData, runJob, seedExports } from "./helpers/exports";
import { closeSql, sql } from "./helpers/stack";

const LOGS = 3000;
const BATCH = "100";
/** Every delete statement sleeps this long, ms: the unloaded batches (long enough to be judged: MIN_TIMED_MS). */
const LIGHT_MS = 30;

/** From the `from`th delete statement on (to the `until`th, when given), each sleeps `heavyMs` instead. */
async function loadDeletes(from: number, heavyMs: number, until: number | null = null): Promise<void> {
  await sql().query(
    `create table public.test_load_knob (statements int not null, load_from int not null, load_until int, light_ms int not null, heavy_ms int not null);
     insert into public.test_load_knob values (0, ${from}, ${until ?? "null"}, ${LIGHT_MS}, ${heavyMs});
     create function public.test_load_delay() returns trigger language plpgsql security definer set search_path = '' as $$
     declare k public.test_load_knob;
     begin
       update public.test_load_knob set statements = statements + 1 returning * into k;
       perform pg_sleep(case when k.statements >= k.load_from and (k.load_until is null or k.statements <= k.load_until)
                             then k.heavy_ms else k.light_ms end / 1000.0);
       return null;
     end $$;
     create trigger test_load_delay before delete on public.export_logs for each statement execute function public.test_load_delay();`,
  );
}

async function unload(): Promise<void> {
  await sql().query(
    "drop trigger if exists test_load_delay on public.export_logs; drop function if exists public.test_load_delay(); drop table if exists public.test_load_knob;",
  );
}

async function logsLeft(): Promise<number> {
  return (await sql().query("select count(*)::int as n from export_logs")).rows[0].n;
}

const cleanup = (options: Record<string, string>) => runJob(exportLogCleanup, { batch_size: BATCH, prune_metrics: "false", ...options });

beforeEach(async () => {
  await unload();
  await resetData();
  await seedExports({ count: LOGS, status: "expired", ageHours: 40 * 24 });
});
afterEach(unload);
afterAll(closeSql);

describe("the load governor", () => {
  it("rests after the batches a load slows, goes on when they are fast again, and deletes every log", async () => {
    // statements 8 to 10 five times as slow as the rest
    await loadDeletes(8, 5 * LIGHT_MS, 10);
    const yielding = await cleanup({ stop_factor: "100" });
    expect(yielding).toMatchObject({ deleted_count: LOGS, has_more: false, load: { stopped_for_load: null } });
    expect(yielding.load.slow_batches).toBeGreaterThanOrEqual(1);
    expect(yielding.load.rested_ms).toBeGreaterThan(0);
    expect(yielding.rested_ms).toBeGreaterThanOrEqual(yielding.load.rested_ms);
    expect(await logsLeft()).toBe(0);

    // the same load with yield_to_load=false: seen and reported, never rested for
    await unload();
    await seedExports({ count: LOGS, status: "expired", ageHours: 40 * 24 });
    await loadDeletes(8, 5 * LIGHT_MS, 10);
    const unyielding = await cleanup({ yield_to_load: "false" });
    expect(unyielding).toMatchObject({
      deleted_count: LOGS,
      has_more: false,
      rested_ms: 0,
      load: { rested_ms: 0, stopped_for_load: null },
    });
    expect(unyielding.load.slow_batches).toBeGreaterThanOrEqual(1);
  });

  it("stops a run whose batches stay much slower, with has_more and the reason, and the next run finishes", async () => {
    // from the 8th statement on, ten times as slow: with stop_factor 3 the third such batch in a row stops the run
    await loadDeletes(8, 10 * LIGHT_MS);
    const stopped = await cleanup({ stop_factor: "3" });
    expect(stopped.has_more).toBe(true);
    expect(stopped.load.stopped_for_load).toMatch(/^3 log delete batches in a row took \d+(\.\d+)? times or more .* \(stop_factor 3\)$/);
    expect(stopped.deleted_count).toBeGreaterThan(0);
    expect(stopped.deleted_count).toBeLessThan(LOGS);
    // nothing lost: what the run left is still there
    expect(await logsLeft()).toBe(LOGS - stopped.deleted_count);

    // the host quiet again, the next run finishes the rest
    await unload();
    const next = await cleanup({ stop_factor: "3" });
    expect(next).toMatchObject({ deleted_count: LOGS - stopped.deleted_count, has_more: false, load: { stopped_for_load: null } });
    expect(await logsLeft()).toBe(0);
  });
});
