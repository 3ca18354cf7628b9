/**
 * ExportMetricsService and the hourly aggregation against the local stack. Every expected figure is computed
 * here in TypeScript from the same known data, independently of the SQL under test.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { exportMetricsAggregate } from "../lib/jobs/export-metrics-aggregate";
import { ExportMetricError, MAX_ERROR_MESSAGE, countRange, createExportMetricsService } from "export-ops";
import { createServiceClient } from "../lib/supabase";
import { captureLogger, fixedClock } from "./doubles";
import { ports, resetData, runJob, runWithoutLease, testEnv } from "./helpers/exports";
import { closeSql, itStandIn, sql, stack, standIn } from "./helpers/stack";

const T0 = new Date("2026-01-10T00:00:00.000Z");
const at = (hours: number, minutes = 0) => new Date(T0.getTime() + hours * 3_600_000 + minutes * 60_000);
const FORMATS = ["json", "jsonl", "csv", "markdown"] as const;
const ERRORS = ["TimeoutError", "DatabaseError", "StorageError"] as const;

interface Row {
  export_id: string;
  user_id: string;
  format: (typeof FORMATS)[number];
  status: "completed" | "failed";
  conversation_count: number;
  duration_ms: number;
  file_size_bytes: number | null;
  error_type: string | null;
  recorded_at: Date;
}

/** A deterministic pseudo-random mix of exports spread over [fromHour, toHour). */
function makeRows(count: number, fromHour: number, toHour: number, failEvery = 7, seed = 1): Row[] {
  let x = seed;
  const rand = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const users = Array.from({ length: 6 }, () => randomUUID());
  return Array.from({ length: count }, (_, i) => {
    const failed = i % failEvery === 0;
    const conversations = Math.floor(rand() * 2500);
    return {
      export_id: randomUUID(),
      user_id: users[Math.floor(rand() * rand() * users.length)]!,
      format: FORMATS[i % 4]!,
      status: failed ? "failed" : "completed",
      conversation_count: conversations,
      duration_ms: Math.floor(50 + rand() * rand() * 200_000),
      file_size_bytes: failed ? null : Math.floor(rand() * 5_000_000),
      error_type: failed ? ERRORS[i % 3]! : null,
      recorded_at: new Date(at(fromHour).getTime() + Math.floor(rand() * (toHour - fromHour) * 3_600_000)),
    };
  });
}

async function insertRows(rows: Row[]): Promise<void> {
  await sql().query(
    `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms,
                                 file_size_bytes, error_type, recorded_at)
     select * from jsonb_to_recordset($1::jsonb) as r (export_id uuid, user_id uuid, format text, status text,
       conversation_count int, count_range text, duration_ms int, file_size_bytes bigint, error_type text, recorded_at timestamptz)`,
    [JSON.stringify(rows.map((r) => ({ ...r, count_range: countRange(r.conversation_count) })))],
  );
}

/** percentile_cont: linear interpolation between the closest ranks. */
function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const round = (n: number, digits: number) => Number(n.toFixed(digits));
const groupBy = <T, K extends string>(rows: T[], key: (r: T) => K) =>
  rows.reduce((acc, r) => ((acc[key(r)] ??= []).push(r), acc), {} as Record<K, T[]>);

const service = (options: { threshold?: number; minSample?: number } = {}) => {
  const capture = captureLogger();
  // as a host app makes it: over a service-role supabase-js client
  const svc = createExportMetricsService(createServiceClient(stack.SUPABASE_URL, stack.SUPABASE_SERVICE_ROLE_KEY), {
    logger: capture.logger,
    threshold: options.threshold ?? 0.1,
    minSample: options.minSample ?? 20,
  });
  return { svc, capture };
};

beforeEach(async () => {
  await resetData();
  await standIn.clearFaults();
});
afterAll(closeSql);

describe("logExportMetric", () => {
  const valid = () => ({
    export_id: randomUUID(),
    user_id: randomUUID(),
    format: "jsonl" as const,
    status: "completed" as const,
    conversation_count: 150,
    duration_ms: 2500,
    file_size_bytes: 524288,
  });

  it("stores one row with its count range and writes one export_metric line; a retry stores nothing new", async () => {
    const { svc, capture } = service();
    const metric = valid();
    const first = await svc.logExportMetric(metric);
    const again = await svc.logExportMetric(metric);
    expect(first).toMatchObject({ recorded: true, duplicate: false, metric: { count_range: "medium" } });
    expect(again).toMatchObject({ recorded: true, duplicate: true });
    const { rows } = await sql().query("select status, count_range, duration_ms from export_metrics where export_id = $1", [
      metric.export_id,
    ]);
    expect(rows).toEqual([{ status: "completed", count_range: "medium", duration_ms: 2500 }]);
    const lines = capture.lines().filter((l) => l.type === "export_metric");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      export_id: metric.export_id,
      format: "jsonl",
      status: "completed",
      count_range: "medium",
      timestamp: expect.any(String),
    });
  });

  it("in the background: validates at once, then stores within the platform's waitUntil", async () => {
    const pending: Promise<unknown>[] = [];
    const context = Symbol.for("@vercel/request-context");
    (globalThis as Record<symbol, unknown>)[context] = { get: () => ({ waitUntil: (p: Promise<unknown>) => pending.push(p) }) };
    try {
      const { svc } = service();
      expect(() => svc.logExportMetricInBackground({ ...valid(), format: "Not a format" })).toThrow(ExportMetricError);
      const metric = valid();
      svc.logExportMetricInBackground(metric);
      expect(pending).toHaveLength(1);
      await expect(pending[0]).resolves.toMatchObject({ recorded: true, duplicate: false });
      const { rows } = await sql().query("select count(*)::int as n from export_metrics where export_id = $1", [metric.export_id]);
      expect(rows[0].n).toBe(1);
    } finally {
      delete (globalThis as Record<symbol, unknown>)[context];
    }
  });

  it("records a completed and a failed metric for the same export separately", async () => {
    const { svc } = service();
    const metric = valid();
    await svc.logExportMetric({
      ...metric,
      status: "failed",
      file_size_bytes: null,
      error_type: "TimeoutError",
      error_message: "took too long",
    });
    await svc.logExportMetric(metric);
    const { rows } = await sql().query("select status from export_metrics where export_id = $1 order by status", [metric.export_id]);
    expect(rows.map((r) => r.status)).toEqual(["completed", "failed"]);
  });

  it.each([
    ["a malformed format", { format: "JSON Lines" }, "format"],
    ["a negative duration", { duration_ms: -1 }, "duration_ms"],
    ["a missing export_id", { export_id: undefined }, "export_id"],
    ["a malformed user_id", { user_id: "42" }, "user_id"],
    ["a fractional conversation count", { conversation_count: 1.5 }, "conversation_count"],
    ["a failure without error_type", { status: "failed", file_size_bytes: null }, "error_type"],
  ])("refuses %s with a ExportMetricError naming the field, storing nothing", async (_, change, field) => {
    const { svc } = service();
    const metric = { ...valid(), ...change };
    const error = await svc.logExportMetric(metric as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportMetricError);
    expect(error).toMatchObject({ details: { field } });
    expect((error as Error).message).toContain(field);
    const { rows } = await sql().query("select count(*)::int as n from export_metrics");
    expect(rows[0].n).toBe(0);
  });

  it("cuts a 1 MB error message to 2,000 characters, marked as truncated", async () => {
    const { svc } = service();
    const metric = {
      ...valid(),
      status: "failed" as const,
      file_size_bytes: null,
      error_type: "DatabaseError",
      error_message: "x".repeat(1024 * 1024),
    };
    const result = await svc.logExportMetric(metric);
    expect(result.recorded).toBe(true);
    const { rows } = await sql().query("select error_message from export_metrics where export_id = $1", [metric.export_id]);
    expect(rows[0].error_message).toHaveLength(MAX_ERROR_MESSAGE);
    expect(rows[0].error_message.endsWith("…[truncated]")).toBe(true);
  });

  itStandIn("fault injection")("never fails the caller's export when the database write fails: logs and reports it", async () => {
    const { svc, capture } = service();
    await standIn.addFault({ pathPrefix: "/rest/v1/rpc/export_ops_record_metric", status: 503, times: 1 });
    const metric = valid();
    const result = await svc.logExportMetric(metric);
    expect(result).toMatchObject({ recorded: false, error: { code: "database_error" } });
    expect(capture.lines()).toContainEqual(
      expect.objectContaining({ type: "export_metric_write_failed", export_id: metric.export_id, level: "error" }),
    );
    expect(capture.lines()).toContainEqual(expect.objectContaining({ type: "export_metric", export_id: metric.export_id }));
  });
});

describe("aggregate", () => {
  it("equals figures computed independently from the same rows", async () => {
    const rows = makeRows(1500, 0, 30);
    await insertRows(rows);
    const outside = makeRows(50, 40, 41, 7, 99);
    await insertRows(outside);
    const { svc } = service();

    const s = await svc.aggregate({ from: at(0), to: at(30), topUsers: 3 });

    const ok = rows.filter((r) => r.status === "completed");
    const failed = rows.filter((r) => r.status === "failed");
    expect(s.total_exports).toBe(1500);
    expect(s.successful_exports).toBe(ok.length);
    expect(s.failed_exports).toBe(failed.length);
    expect(s.success_rate).toBe(round(ok.length / 1500, 4));
    for (const [format, group] of Object.entries(groupBy(ok, (r) => r.format))) {
      const d = group.map((r) => r.duration_ms);
      expect(s.duration_by_format[format]).toEqual({
        count: group.length,
        avg_ms: round(d.reduce((a, b) => a + b, 0) / d.length, 1),
        p50_ms: percentile(d, 0.5),
        p95_ms: percentile(d, 0.95),
      });
      const sizes = group.map((r) => r.file_size_bytes!);
      expect(s.file_size_by_format[format]).toEqual({
        avg_bytes: round(sizes.reduce((a, b) => a + b, 0) / sizes.length, 1),
        max_bytes: Math.max(...sizes),
      });
    }
    for (const [range, group] of Object.entries(groupBy(ok, (r) => countRange(r.conversation_count)))) {
      const d = group.map((r) => r.duration_ms);
      expect(s.duration_by_count_range[range]).toMatchObject({
        count: group.length,
        p50_ms: percentile(d, 0.5),
        p95_ms: percentile(d, 0.95),
      });
    }
    const byHour = groupBy(rows, (r) => new Date(Math.floor(r.recorded_at.getTime() / 3_600_000) * 3_600_000).toISOString());
    expect(s.volume_by_hour.map((v) => [new Date(v.hour).toISOString(), v.total, v.failed])).toEqual(
      Object.keys(byHour)
        .sort()
        .map((h) => [h, byHour[h]!.length, byHour[h]!.filter((r) => r.status === "failed").length]),
    );
    const byDay = groupBy(rows, (r) => r.recorded_at.toISOString().slice(0, 10));
    expect(s.volume_by_day.map((v) => [v.day, v.total])).toEqual(
      Object.keys(byDay)
        .sort()
        .map((d) => [d, byDay[d]!.length]),
    );
    for (const [format, group] of Object.entries(groupBy(rows, (r) => r.format))) {
      expect(s.format_distribution[format]).toEqual({ count: group.length, share: round(group.length / 1500, 4) });
    }
    const users = Object.entries(groupBy(rows, (r) => r.user_id))
      .map(([user_id, g]) => ({ user_id, exports: g.length }))
      .sort((a, b) => b.exports - a.exports || a.user_id.localeCompare(b.user_id))
      .slice(0, 3);
    expect(s.top_users).toEqual(users);
    expect(s.failures_by_error_type).toEqual(
      Object.fromEntries(Object.entries(groupBy(failed, (r) => r.error_type!)).map(([k, g]) => [k, g.length])),
    );
  });

  it("gives exact percentiles at the edges: one or two exports, equal durations, durations on every duration-key boundary", async () => {
    const base = makeRows(1, 0, 1)[0]!;
    const row = (format: Row["format"], duration_ms: number, conversation_count: number): Row => ({
      ...base,
      export_id: randomUUID(),
      format,
      status: "completed",
      duration_ms,
      conversation_count,
      recorded_at: at(0, 10),
    });
    const rows = [
      row("json", 4321, 5), // alone in its format and its count range
      row("jsonl", 700, 500),
      row("jsonl", 700, 500), // two, equal
      ...[0, 999, 1000, 1009, 1010, 9999, 10000, 10099, 10100, 99999, 100000, 100999, 101000, 300000, 1_000_000].map((d) =>
        row("csv", d, 500),
      ),
      ...Array.from({ length: 40 }, (_, i) => row("markdown", i < 30 ? 2500 : 2500 + i, 2000)), // ties across the middle
    ];
    await insertRows(rows);
    const s = await service().svc.aggregate({ from: at(0), to: at(1) });
    for (const [format, group] of Object.entries(groupBy(rows, (r) => r.format))) {
      const d = group.map((r) => r.duration_ms);
      expect(s.duration_by_format[format], format).toMatchObject({
        count: d.length,
        p50_ms: percentile(d, 0.5),
        p95_ms: percentile(d, 0.95),
      });
    }
    for (const [range, group] of Object.entries(groupBy(rows, (r) => countRange(r.conversation_count)))) {
      const d = group.map((r) => r.duration_ms);
      expect(s.duration_by_count_range[range], range).toMatchObject({
        count: d.length,
        p50_ms: percentile(d, 0.5),
        p95_ms: percentile(d, 0.95),
      });
    }
  });

  it("reports volume over N days with every day present", async () => {
    await insertRows(makeRows(70, -24 * 3, 0));
    const { svc } = service();
    const v = await svc.volumeStats(7, at(0, -1));
    expect(v.total).toBe(70);
    expect(v.per_day).toHaveLength(7);
    expect(v.avg_per_day).toBe(10);
  });
});

describe("hourly rollups", () => {
  const rollupRows = async () =>
    (await sql().query("select hour, total, completed, failed from export_ops_metric_hours order by hour")).rows.map((r) => ({
      ...r,
      hour: r.hour.toISOString(),
    }));

  it("writes each hour's figures per format and count range exactly as the raw rows give them: counts, sums, histogram, failures", async () => {
    const rows = makeRows(1500, 0, 3);
    await insertRows(rows);
    await runJob(exportMetricsAggregate, {}, { clock: fixedClock(at(3, 6).toISOString()) });
    const bounds = [100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000];
    const hourOf = (r: Row) => new Date(Math.floor(r.recorded_at.getTime() / 3_600_000) * 3_600_000).toISOString();
    const groups = groupBy(rows, (r) => `${hourOf(r)}|${r.format}|${countRange(r.conversation_count)}`);
    const expected = Object.entries(groups)
      .map(([key, g]) => {
        const [hour, format, count_range] = key.split("|");
        const ok = g.filter((r) => r.status === "completed");
        const histogram = new Array(bounds.length + 1).fill(0);
        for (const r of ok) histogram[bounds.filter((b) => b <= r.duration_ms).length] += 1;
        const failures = groupBy(
          g.filter((r) => r.status === "failed"),
          (r) => r.error_type ?? "unknown",
        );
        return {
          key: `${hour}|${format}|${count_range}`,
          total: g.length,
          completed: ok.length,
          failed: g.length - ok.length,
          duration_sum_ms: ok.reduce((n, r) => n + r.duration_ms, 0),
          duration_max_ms: Math.max(0, ...ok.map((r) => r.duration_ms)),
          duration_histogram: histogram,
          file_size_count: ok.filter((r) => r.file_size_bytes !== null).length,
          file_size_sum: ok.reduce((n, r) => n + (r.file_size_bytes ?? 0), 0),
          failures_by_error_type: Object.fromEntries(Object.entries(failures).map(([k, v]) => [k, v.length])),
        };
      })
      .sort((a, b) => a.key.localeCompare(b.key));
    const { rows: stored } = await sql().query(
      `select hour, format, count_range, total, completed, failed, duration_sum_ms::float8 as duration_sum_ms, duration_max_ms,
              duration_histogram, file_size_count, file_size_sum::float8 as file_size_sum, failures_by_error_type
       from export_ops_metric_rollups`,
    );
    const actual = stored
      .map(({ hour, format, count_range, ...figures }) => ({ key: `${hour.toISOString()}|${format}|${count_range}`, ...figures }))
      .sort((a, b) => a.key.localeCompare(b.key));
    expect(actual).toEqual(expected);
  });

  it("rolls every completed hour up once, catches up a missed 5-hour gap exactly once, and matches the raw rows", async () => {
    const rows = makeRows(800, 0, 10);
    await insertRows(rows);
    const clock = fixedClock(at(3, 10).toISOString());

    const first = await runJob(exportMetricsAggregate, {}, { clock });
    expect(first).toMatchObject({
      hours_rolled_up: 3,
      first_hour: at(0).toISOString(),
      last_hour: at(2).toISOString(),
      hours_pending: 0,
      has_more: false,
    });

    clock.advance(5 * 3_600_000); // the cron did not fire for five hours
    const second = await runJob(exportMetricsAggregate, {}, { clock });
    expect(second).toMatchObject({ hours_rolled_up: 5, first_hour: at(3).toISOString(), last_hour: at(7).toISOString() });
    const again = await runJob(exportMetricsAggregate, {}, { clock });
    expect(again.hours_rolled_up).toBe(0);

    const byHour = groupBy(rows, (r) => new Date(Math.floor(r.recorded_at.getTime() / 3_600_000) * 3_600_000).toISOString());
    expect(await rollupRows()).toEqual(
      Array.from({ length: 8 }, (_, h) => {
        const g = byHour[at(h).toISOString()] ?? [];
        const failed = g.filter((r) => r.status === "failed").length;
        return { hour: at(h).toISOString(), total: g.length, completed: g.length - failed, failed };
      }),
    );
    const { rows: detail } = await sql().query(
      "select sum(total)::int as total, sum(completed)::int as completed from export_ops_metric_rollups where hour < $1",
      [at(8)],
    );
    const upTo8 = rows.filter((r) => r.recorded_at < at(8));
    expect(detail[0]).toEqual({ total: upTo8.length, completed: upTo8.filter((r) => r.status === "completed").length });
  });

  it("marks quiet hours as rolled up too, so they are not redone", async () => {
    await insertRows(makeRows(10, 0, 1));
    const clock = fixedClock(at(6, 30).toISOString());
    const first = await runJob(exportMetricsAggregate, {}, { clock });
    expect(first.hours_rolled_up).toBe(6);
    expect((await rollupRows()).map((r) => r.total)).toEqual([10, 0, 0, 0, 0, 0]);
    expect((await runJob(exportMetricsAggregate, {}, { clock })).hours_rolled_up).toBe(0);
  });

  it("bounds the work per run and reports has_more; a dry run counts what is missing and writes nothing", async () => {
    await insertRows(makeRows(100, 0, 1));
    const clock = fixedClock(at(30, 5).toISOString());
    const dry = await runJob(exportMetricsAggregate, { dry_run: "true" }, { clock });
    expect(dry).toMatchObject({ dry_run: true, hours_rolled_up: 0, hours_pending: 30, has_more: false });
    expect(await rollupRows()).toEqual([]);

    const first = await runJob(exportMetricsAggregate, { max_hours: "12" }, { clock });
    expect(first).toMatchObject({ hours_rolled_up: 12, hours_pending: 18, has_more: true });
    const rest = await runJob(exportMetricsAggregate, {}, { clock });
    expect(rest).toMatchObject({ hours_rolled_up: 18, hours_pending: 0, has_more: false });
  });

  it("gives identical rollups with no duplicates when two runs overlap", async () => {
    const rows = makeRows(2000, 0, 48);
    await insertRows(rows);
    const clock = fixedClock(at(48, 6).toISOString());
    // outside the runner, so the job's lease does not turn one away: the SQL alone must keep them apart
    const [a, b] = await Promise.all([
      runWithoutLease(exportMetricsAggregate, {}, { clock }),
      runWithoutLease(exportMetricsAggregate, {}, { clock }),
    ]);
    expect(a.hours_rolled_up + b.hours_rolled_up).toBe(48);
    const hours = await rollupRows();
    expect(hours).toHaveLength(48);
    expect(hours.reduce((n, h) => n + h.total, 0)).toBe(2000);
    const { rows: detail } = await sql().query(
      "select sum(total)::int as n, count(*)::int as groups, count(distinct (hour, format, count_range))::int as distinct_groups from export_ops_metric_rollups",
    );
    expect(detail[0].n).toBe(2000);
    expect(detail[0].groups).toBe(detail[0].distinct_groups);
  });

  it("keeps duration histograms that give day and week percentiles without the raw rows", async () => {
    const rows = makeRows(3000, 0, 24 * 7);
    await insertRows(rows);
    await runJob(exportMetricsAggregate, {}, { clock: fixedClock(at(24 * 7, 6).toISOString()) });
    await sql().query("truncate export_metrics");
    const { svc } = service();

    const week = await svc.aggregateFromRollups({ from: at(0), to: at(24 * 7) });

    const bounds = [100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000];
    const quantile = (values: number[], q: number) => {
      const counts = new Array(bounds.length + 1).fill(0);
      for (const v of values) counts[bounds.filter((b) => b <= v).length] += 1;
      const max = Math.max(...values);
      const rank = q * values.length;
      let seen = 0;
      for (let i = 0; i < counts.length; i += 1) {
        if (counts[i] > 0 && seen + counts[i] >= rank) {
          const lower = i === 0 ? 0 : bounds[i - 1]!;
          const upper = i < bounds.length ? Math.min(bounds[i]!, Math.max(max, lower)) : Math.max(max, lower);
          return lower + ((upper - lower) * Math.max(rank - seen, 0)) / counts[i];
        }
        seen += counts[i];
      }
      return max;
    };
    expect(week.total_exports).toBe(3000);
    for (const [format, group] of Object.entries(
      groupBy(
        rows.filter((r) => r.status === "completed"),
        (r) => r.format,
      ),
    )) {
      const d = group.map((r) => r.duration_ms);
      expect(week.duration_by_format[format]).toMatchObject({
        count: group.length,
        p50_ms: round(quantile(d, 0.5), 1),
        p95_ms: round(quantile(d, 0.95), 1),
      });
      // and the histogram estimate lands in the same bucket as the exact percentile
      const bucketOf = (v: number) => bounds.filter((b) => b <= v).length;
      expect(bucketOf(week.duration_by_format[format]!.p95_ms!)).toBe(bucketOf(percentile(d, 0.95)));
    }
  });
});

describe("failure-rate alert", () => {
  let server: Server;
  let received: { text: string; export_ops: { state: string } }[] = [];
  let mode: "ok" | "hang" | "fail" = "ok";
  let url = "";

  beforeEach(async () => {
    received = [];
    mode = "ok";
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        if (mode === "hang") return; // never answers: the sender's timeout must fire
        if (mode === "fail") return void res.writeHead(500).end();
        received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/secret-path`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** `failed` of `total` exports in the hour before `hour`. */
  const exportsInHour = (hour: number, total: number, failed: number) =>
    insertRows(
      makeRows(total, hour - 1, hour, 1_000_000).map((r, i) =>
        i < failed ? { ...r, status: "failed", error_type: "TimeoutError", file_size_bytes: null } : r,
      ),
    );

  const run = (hour: number) =>
    runJob(exportMetricsAggregate, {}, { clock: fixedClock(at(hour, 0).toISOString()), env: testEnv({ ALERT_WEBHOOK_URL: url }) });

  it("fires once when the rate crosses the threshold, stays quiet while firing, resolves once", async () => {
    await exportsInHour(1, 40, 2);
    expect((await run(1)).alert).toMatchObject({ state: "ok", transition: null });

    await exportsInHour(2, 40, 8);
    const fired = await run(2);
    expect(fired.alert).toMatchObject({
      state: "firing",
      transition: "fired",
      failure_rate: 0.2,
      failed_count: 8,
      total_count: 40,
      severity: "critical",
    });
    expect(fired.alert.message).toBe("Export failure rate (20.00%) exceeds threshold (10.00%)");
    expect(fired.notifications).toEqual([{ alert: "export_failure_rate", sent: true, state: "firing" }]);

    await exportsInHour(3, 40, 6);
    const still = await run(3);
    expect(still.alert).toMatchObject({ state: "firing", transition: null, severity: "high" });
    expect(still.notifications).toEqual([]);

    await exportsInHour(4, 40, 1);
    const resolved = await run(4);
    expect(resolved.alert).toMatchObject({ state: "ok", transition: "resolved" });
    expect((await run(4)).alert.transition).toBeNull();

    expect(received.map((r) => r.export_ops.state)).toEqual(["firing", "ok"]);
    expect(received[0]!.text).toContain("Export failure rate (20.00%) exceeds threshold (10.00%)");
    const { rows } = await sql().query(
      "select state, notified_state, notify_attempts from export_ops_alerts where alert = 'export_failure_rate'",
    );
    expect(rows).toEqual([{ state: "ok", notified_state: "ok", notify_attempts: 0 }]);
  });

  it("does not fire below the minimum sample, however bad the rate", async () => {
    await exportsInHour(1, 2, 1);
    const result = await run(1);
    expect(result.alert).toMatchObject({ state: "ok", transition: null, judged: false, alert: false, failure_rate: 0.5 });
    expect(received).toEqual([]);
  });

  it("retries a webhook that timed out or failed on the next run, and never fails the aggregation", async () => {
    await exportsInHour(1, 30, 15);
    mode = "hang";
    const first = await run(1);
    expect(first.alert.transition).toBe("fired");
    expect(first.notifications).toEqual([
      { alert: "export_failure_rate", sent: false, state: "firing", error: "webhook timed out after 5000 ms" },
    ]);
    expect(JSON.stringify(first)).not.toContain("secret-path");

    mode = "fail";
    const second = await run(1);
    expect(second.notifications).toEqual([
      { alert: "export_failure_rate", sent: false, state: "firing", error: "webhook answered HTTP 500" },
    ]);

    mode = "ok";
    const third = await run(1);
    expect(third.notifications).toEqual([{ alert: "export_failure_rate", sent: true, state: "firing" }]);
    expect((await run(1)).notifications).toEqual([]);
    expect(received.map((r) => r.export_ops.state)).toEqual(["firing"]);
  }, 30_000);
});
