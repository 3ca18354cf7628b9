import { SpanKind } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { ScrubUrlsProcessor, otelConfiguration, urlsCutToHost } from "./tracing";

describe("urlsCutToHost", () => {
  it("keeps the scheme and host of every URL in a text, without user, path, query or fragment", () => {
    expect(urlsCutToHost("fetch GET https://hc-ping.com/ping-key/job/start?rid=r1")).toBe("fetch GET https://hc-ping.com");
    expect(urlsCutToHost("POST https://user:pw@hooks.slack.com:8443/services/T/B/x#f and http://127.0.0.1:9/a?b")).toBe(
      "POST https://hooks.slack.com:8443 and http://127.0.0.1:9",
    );
    expect(urlsCutToHost("postgres://u:secret@db.example:5432/app?sslmode=require")).toBe("postgres://db.example:5432");
    expect(urlsCutToHost("sql export_ops_start_run")).toBe("sql export_ops_start_run");
  });
});

describe("ScrubUrlsProcessor", () => {
  it("cuts URLs in names, attributes, events and status before the processors after it, and drops a client span's URL parts", () => {
    const exporter = new InMemorySpanExporter();
    const tracer = new BasicTracerProvider({ spanProcessors: [new ScrubUrlsProcessor(), new SimpleSpanProcessor(exporter)] }).getTracer(
      "t",
    );
    const secret = "https://cronitor.link/p/api-key/job?state=run";
    const span = tracer.startSpan(`fetch GET ${secret}`, {
      kind: SpanKind.CLIENT,
      attributes: { "http.url": secret, "http.target": "/p/api-key/job", "http.host": "cronitor.link", list: [secret] },
    });
    span.setAttribute("url.full", secret);
    span.addEvent(`redirected to ${secret}`, { "exception.message": `failed: ${secret}` });
    span.setStatus({ code: 2, message: `no answer from ${secret}` });
    span.end();

    const [done] = exporter.getFinishedSpans();
    expect(JSON.stringify([done!.name, done!.attributes, done!.events, done!.status])).not.toContain("api-key");
    expect(done!.name).toBe("fetch GET https://cronitor.link");
    expect(done!.attributes).toEqual({
      "http.url": "https://cronitor.link",
      "http.host": "cronitor.link",
      list: ["https://cronitor.link"],
      "url.full": "https://cronitor.link",
    });
    expect(done!.events.map((e) => [e.name, e.attributes])).toEqual([
      ["redirected to https://cronitor.link", { "exception.message": "failed: https://cronitor.link" }],
    ]);
    expect(done!.status.message).toBe("no answer from https://cronitor.link");
  });

  it("keeps a server span's own target (the route it answered)", () => {
    const exporter = new InMemorySpanExporter();
    const tracer = new BasicTracerProvider({ spanProcessors: [new ScrubUrlsProcessor(), new SimpleSpanProcessor(exporter)] }).getTracer(
      "t",
    );
    tracer
      .startSpan("GET /api/cron/export-file-cleanup", {
        kind: SpanKind.SERVER,
        attributes: { "http.target": "/api/cron/export-file-cleanup?dry_run=true" },
      })
      .end();
    expect(exporter.getFinishedSpans()[0]!.attributes).toEqual({ "http.target": "/api/cron/export-file-cleanup?dry_run=true" });
  });

  it("is registered before the exporter @vercel/otel chooses", () => {
    const { spanProcessors } = otelConfiguration();
    expect(spanProcessors).toHaveLength(2);
    expect(spanProcessors![0]).toBeInstanceOf(ScrubUrlsProcessor);
    expect(spanProcessors![1]).toBe("auto");
  });
});
