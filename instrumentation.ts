// OpenTelemetry for the deployment, off unless EXPORT_OPS_TRACING=on: then @vercel/otel registers a provider, and
// on Vercel its traces go where the project's Observability and trace drains already collect them (elsewhere, to
// OTEL_EXPORTER_OTLP_ENDPOINT). What is recorded, and how secret URLs are kept out of it: lib/tracing.ts. Next calls
// register() once per server start.
import { tracingEnabled } from "./lib/env";
import { otelConfiguration } from "./lib/tracing";

export async function register(): Promise<void> {
  if (!tracingEnabled()) return;
  const { registerOTel } = await import("@vercel/otel");
  registerOTel(otelConfiguration());
}
