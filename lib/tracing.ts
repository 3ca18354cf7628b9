/**
 * Spans, for where Vercel already collects OpenTelemetry. The API alone is a no-op: nothing is recorded unless
 * instrumentation.ts registered a provider (EXPORT_OPS_TRACING=on), so a team that sets nothing gets nothing new.
 * Each run is a span named for its job, with the FaaS conventions; each SQL API and Storage call is a child span.
 */
import { SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";

export const tracer = trace.getTracer("export-ops");

/** Runs `work` inside a span (a child of the active one), ending it with the outcome; errors pass through. */
export async function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A run's result as span attributes: its numbers and flags (`export_ops.result.<field>`), nothing nested. */
export function resultAttributes(result: Record<string, unknown>): Attributes {
  const attributes: Attributes = {};
  for (const [key, value] of Object.entries(result)) {
    if (typeof value === "number" || typeof value === "boolean") attributes[`export_ops.result.${key}`] = value;
  }
  return attributes;
}
