/**
 * Spans, for where Vercel already collects OpenTelemetry. The API alone is a no-op: nothing is recorded unless
 * instrumentation.ts registered a provider (EXPORT_OPS_TRACING=on), so a team that sets nothing gets nothing new.
 * Each run is a span named for its job, with the FaaS conventions; each SQL API and Storage call is a child span.
 *
 * Secret URLs never reach a span. A check-in URL's path and query hold the check-in target's key (Healthchecks'
 * ping key, Cronitor's API key, Sentry's public key) and the alert webhook's is the whole secret (Slack), while
 * @vercel/otel's fetch and node:http instrumentation names each span `fetch GET <full URL>` and copies the URL into
 * `http.url` and `resource.name`. Two layers keep them out:
 * - `fetchSecretUrl` sends those requests untraced: `opentelemetry: { ignore: true }` is @vercel/otel's per-request
 *   opt-out, and `next: { internal: true }` makes both @vercel/otel's fetch wrapper (which then hands the call
 *   straight to the fetch it wrapped) and Next's own fetch tracing (an `internalFetch`, which is not traced) leave
 *   it alone. No span exists, so nothing a span could hold — attributes, events, headers a future option copies —
 *   can leak.
 * - `otelConfiguration()`, which instrumentation.ts registers, puts `ScrubUrlsProcessor` before the exporter: every
 *   absolute URL in a span's name, attributes, events and status is cut to its scheme and host, and a client span
 *   loses `http.target`, `url.path` and `url.query`. So a call that forgot the opt-out shows its host and never
 *   its path.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";
import type { ReadableSpan, Span as SdkSpan, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Configuration } from "@vercel/otel";

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

/** What @vercel/otel (`opentelemetry.ignore`, `next.internal`) and Next (`next.internal`) read to leave a fetch untraced. */
const UNTRACED = { opentelemetry: { ignore: true }, next: { internal: true } };

/**
 * fetch for a URL that is a secret (a check-in URL, the alert webhook): never traced, and never redirected — a 3xx
 * answer is returned as it is (`redirect: "manual"`), for the caller to treat as a failure. Following it would send
 * the request, body included, wherever the answer points.
 */
export function fetchSecretUrl(url: string, init: Omit<RequestInit, "redirect">): Promise<Response> {
  return fetch(url, { ...init, redirect: "manual", ...UNTRACED } as RequestInit);
}

/** Any absolute URL in a text: scheme, then everything up to a space or a quote. */
const ABSOLUTE_URL = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/** `text` with every absolute URL in it cut to its scheme and host (no user, path, query or fragment). */
export function urlsCutToHost(text: string): string {
  return text.replace(ABSOLUTE_URL, (url) => {
    try {
      const { protocol, host } = new URL(url);
      return `${protocol}//${host}`;
    } catch {
      return "<url>";
    }
  });
}

/** Parts of a URL without its scheme, which a client span may carry on their own. */
const URL_PARTS = ["http.target", "url.path", "url.query", "url.fragment"];

function scrubAttributes(attributes: Attributes | undefined, dropUrlParts: boolean): void {
  if (!attributes) return;
  for (const [key, value] of Object.entries(attributes)) {
    if (dropUrlParts && URL_PARTS.includes(key)) delete attributes[key];
    else if (typeof value === "string") attributes[key] = urlsCutToHost(value);
    else if (Array.isArray(value)) attributes[key] = value.map((v) => (typeof v === "string" ? urlsCutToHost(v) : v)) as typeof value;
  }
}

/** The parts of a span a processor before the exporter may still rewrite (the SDK's span keeps them as plain fields). */
interface MutableSpan {
  name: string;
  kind: SpanKind;
  attributes: Attributes;
  events?: { name: string; attributes?: Attributes }[];
  links?: { attributes?: Attributes }[];
  status?: { message?: string };
}

/**
 * Cuts URLs to their host in every span, at its start (its name and the attributes it was started with) and again
 * at its end, before the processors after it (the exporter) see it — as @vercel/otel's own processor completes
 * attributes at the end. Registered first among the span processors (otelConfiguration).
 */
export class ScrubUrlsProcessor implements SpanProcessor {
  onStart(span: SdkSpan, _parentContext: Context): void {
    this.scrub(span as unknown as MutableSpan);
  }

  onEnd(span: ReadableSpan): void {
    this.scrub(span as unknown as MutableSpan);
  }

  private scrub(span: MutableSpan): void {
    const client = span.kind === SpanKind.CLIENT;
    span.name = urlsCutToHost(span.name);
    scrubAttributes(span.attributes, client);
    for (const event of span.events ?? []) {
      event.name = urlsCutToHost(event.name);
      scrubAttributes(event.attributes, client);
    }
    for (const link of span.links ?? []) scrubAttributes(link.attributes, client);
    if (span.status?.message) span.status.message = urlsCutToHost(span.status.message);
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * What instrumentation.ts hands to @vercel/otel's registerOTel: the service name, and ScrubUrlsProcessor before
 * the exporter @vercel/otel chooses ("auto": Vercel's trace drains and Observability, or OTEL_EXPORTER_OTLP_*).
 */
export function otelConfiguration(): Configuration {
  return { serviceName: "export-ops", spanProcessors: [new ScrubUrlsProcessor(), "auto"] };
}
