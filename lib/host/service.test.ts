/**
 * The host library reaches the database through the one SQL API client (createSqlApi): what a host's supabase-js
 * client answers is checked against the contract before the library reads it, and every failure is a DatabaseError.
 * A fake `rpc` stands in for PostgREST here; test/export-metrics.integration.test.ts and
 * test/host-library.integration.test.ts take the same paths against the local stack.
 */
import { describe, expect, it } from "vitest";
import { DatabaseError } from "../errors";
import { createSqlApi, type SupabaseLike } from "../supabase/sql-api";
import { createExportMetricsService, ExportMetricsService } from "./service";

type Answer = { data: unknown; error: { message: string; code?: string } | null };

/** A supabase-js client's `rpc` that records each call and answers `answer(fn)`. */
function fakeRpc(answer: (fn: string) => Answer) {
  const calls: [string, unknown][] = [];
  const rpc = (fn: string, args: unknown) => {
    calls.push([fn, args]);
    return Promise.resolve(answer(fn));
  };
  return { rpc, calls };
}

function captured() {
  const lines: Record<string, unknown>[] = [];
  const log = (fields: Record<string, unknown>) => void lines.push(fields);
  return { logger: { info: log, error: log, debug: log }, lines };
}

const serviceAnswering = (answer: (fn: string) => Answer) => {
  const { rpc, calls } = fakeRpc(answer);
  const { logger, lines } = captured();
  return { service: new ExportMetricsService(createSqlApi({ rpc }), { logger }), calls, lines };
};

async function refusal(call: Promise<unknown>): Promise<DatabaseError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatabaseError);
  return error as DatabaseError;
}

const PERIOD = { from: new Date("2026-01-10T00:00:00Z"), to: new Date("2026-01-11T00:00:00Z") };
const METRIC = {
  export_id: "11111111-1111-4111-8111-111111111111",
  user_id: "00000000-0000-4000-a000-000000000001",
  format: "csv",
  status: "completed" as const,
  conversation_count: 12,
  duration_ms: 800,
  file_size_bytes: 2048,
};

describe("ExportMetricsService over the SQL API client", () => {
  it("refuses a malformed summary with a DatabaseError naming the function and the field", async () => {
    const { service } = serviceAnswering(() => ({
      data: { from: "a", to: "b", hours: 2, total_exports: "12", failed_exports: 1, duration_by_format: {} },
      error: null,
    }));
    const error = await refusal(service.aggregateFromRollups(PERIOD));
    expect(error.message).toBe(
      "export_ops_rollup_summary returned a malformed result: total_exports: Invalid input: expected number, received string",
    );
    expect(error).toMatchObject({ code: "database_error", status: 502 });
  });

  it("refuses a summary missing a field, and one whose nested figures are malformed, naming the path", async () => {
    const { service } = serviceAnswering(() => ({ data: { days: 7, total: 3, per_day: [] }, error: null }));
    expect((await refusal(service.volumeStats(7))).message).toMatch(/^export_ops_volume_stats returned a malformed result: avg_per_day: /);
    const nested = serviceAnswering(() => ({
      data: {
        from: "a",
        to: "b",
        hours: 2,
        total_exports: 2,
        failed_exports: 0,
        duration_by_format: { csv: { count: 2, avg_ms: "fast", p50_ms: null, p95_ms: null } },
      },
      error: null,
    }));
    expect((await refusal(nested.service.aggregateFromRollups(PERIOD))).message).toMatch(
      /^export_ops_rollup_summary returned a malformed result: duration_by_format\.csv\.avg_ms: /,
    );
  });

  it("refuses malformed failure counts before judging anything", async () => {
    const { service } = serviceAnswering(() => ({ data: { total: 25, failed: null, window_start: "a", window_end: "b" }, error: null }));
    expect((await refusal(service.checkFailureRate())).message).toMatch(/^export_ops_failure_counts returned a malformed result: failed: /);
  });

  it("does not fail the export on a malformed answer to the metric's write: logs it and returns it, naming the field", async () => {
    const { service, lines } = serviceAnswering(() => ({ data: { inserted: "yes", recorded_at: "2026-01-10T00:00:00Z" }, error: null }));
    const result = await service.logExportMetric(METRIC);
    expect(result).toMatchObject({
      recorded: false,
      error: {
        code: "database_error",
        message: expect.stringMatching(/^export_ops_record_metric returned a malformed result: inserted: /),
      },
    });
    expect(lines).toContainEqual(
      expect.objectContaining({ type: "export_metric_write_failed", error: expect.objectContaining({ code: "database_error" }) }),
    );
  });

  it("turns PostgREST's error into a DatabaseError with its code", async () => {
    const { service, lines } = serviceAnswering(() => ({
      data: null,
      error: { message: "format pdf is not an export format", code: "P0001" },
    }));
    const error = await refusal(service.aggregate(PERIOD));
    expect(error).toMatchObject({ dbCode: "P0001", message: "export_ops_metrics_summary failed: format pdf is not an export format" });
    expect(await service.logExportMetric(METRIC)).toMatchObject({ recorded: false });
    expect(lines).toContainEqual(
      expect.objectContaining({ type: "export_metric_write_failed", error: expect.objectContaining({ db_code: "P0001" }) }),
    );
  });

  it("refuses bad arguments before a request is made", async () => {
    const { service, calls } = serviceAnswering(() => ({ data: null, error: null }));
    expect((await refusal(service.volumeStats(1.5))).message).toMatch(/^export_ops_volume_stats called with bad arguments: p_days: /);
    expect(calls).toEqual([]);
  });

  it("sends the contract's arguments and hands over the checked result", async () => {
    const stats = { days: 7, total: 14, avg_per_day: 2, per_day: [{ day: "2026-01-10", exports: 2 }] };
    const { rpc, calls } = fakeRpc(() => ({ data: stats, error: null }));
    const client: SupabaseLike = { rpc, from: () => Promise.reject(new Error("no table request expected")) };
    expect(await createExportMetricsService(client).volumeStats(7, PERIOD.to)).toEqual(stats);
    expect(calls).toEqual([["export_ops_volume_stats", { p_days: 7, p_now: "2026-01-11T00:00:00.000Z" }]]);
  });
});
