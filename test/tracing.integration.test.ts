/**
 * OpenTelemetry, with an in-memory exporter as a registered provider would receive it: a run of the file cleanup
 * against the stack is one span named for its job with the FaaS attributes and its outcome and counts, and every
 * SQL API and Storage call it made is a child span of it. Without a provider (a team that sets nothing) the same
 * run records nothing and answers the same.
 */
import { randomUUID } from "node:crypto";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { exportFileCleanup } from "../lib/jobs";
import { executeJob } from "../lib/jobs/runner";
import { captureLogger, fixedClock } from "./doubles";
import { ports, resetData, seedExports, testEnv } from "./helpers/exports";
import { closeSql } from "./helpers/stack";

const exporter = new InMemorySpanExporter();
const contextManager = new AsyncLocalStorageContextManager().enable();

afterAll(async () => {
  trace.disable();
  context.disable();
  await closeSql();
});
beforeEach(async () => {
  await resetData();
  exporter.reset();
});

const run = (runId: string) =>
  executeJob(
    exportFileCleanup,
    {
      env: testEnv(),
      ports: ports(),
      clock: fixedClock(new Date().toISOString()),
      logger: captureLogger().logger,
      trigger: "vercel_cron",
      runId,
    },
    exportFileCleanup.optionsSchema.parse({}),
  );

describe("tracing", () => {
  it("records nothing while no provider is registered, and the run is the same", async () => {
    await seedExports({ count: 3, ageHours: 48, withFiles: true });
    const result = await run(randomUUID());
    expect(result).toMatchObject({ deleted_count: 3 });
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("gives a run one span named for its job, with FaaS attributes, outcome and counts, and a child span per SQL and Storage call", async () => {
    context.setGlobalContextManager(contextManager);
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    await seedExports({ count: 3, ageHours: 48, withFiles: true });
    exporter.reset(); // the seeding's own uploads
    const runId = randomUUID();
    await run(runId);

    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === exportFileCleanup.id)!;
    expect(root.attributes).toMatchObject({
      "faas.trigger": "timer",
      "faas.cron": exportFileCleanup.schedule,
      "faas.invocation_id": runId,
      "export_ops.job": exportFileCleanup.id,
      "export_ops.status": "succeeded",
      "export_ops.result.deleted_count": 3,
      "export_ops.result.has_more": false,
    });
    const children = spans.filter((s) => s !== root);
    expect(children.length).toBeGreaterThan(3);
    for (const child of children) {
      expect(child.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(child.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    }
    const names = new Set(children.map((s) => s.name));
    expect(names).toContain("sql export_ops_start_run");
    expect(names).toContain("sql export_ops_file_cleanup_batch");
    expect(names).toContain("sql export_ops_finish_run");
    expect(names).toContain("storage remove");
    expect(children.find((s) => s.name === "storage remove")!.attributes["export_ops.storage.bucket"]).toBe("exports");
  });
});
