/**
 * Secret URLs and tracing, as a deployment with EXPORT_OPS_TRACING=on runs: instrumentation.ts's own register()
 * passes its options to @vercel/otel's real registerOTel — fetch and node:http instrumentation included — with an
 * in-memory processor standing where the exporter ("auto") stands. Real check-ins (Healthchecks.io, Cronitor, Sentry
 * Crons, a heartbeat) and a real alert webhook go to a local server whose URLs hold recognisable fake keys: no span's
 * name, attribute, event or status holds any part of their path or query. And the webhook, like the check-ins,
 * never follows a redirect: a 302 is a failure, logged with its reason.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter, once } from "node:events";
import { createServer, type Server } from "node:http";
import { context, propagation, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type { Configuration } from "@vercel/otel";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { register } from "../instrumentation";
import { exportFileCleanup, exportLogCleanup, exportMetricsAggregate } from "../lib/jobs";
import type { JobDefinition } from "../lib/jobs/job";
import { executeJob } from "../lib/jobs/runner";
import { captureLogger, fixedClock } from "./doubles";
import { ports, resetData, seedExports, testEnv } from "./helpers/exports";
import { s3Env, s3Ports, startS3 } from "./helpers/s3";
import { closeSql, sql } from "./helpers/stack";

/** What instrumentation.ts hands to registerOTel, kept here so the real registration can run with it. */
const registered = vi.hoisted(() => [] as (Configuration | string | undefined)[]);
vi.mock("@vercel/otel", async (importOriginal) => ({
  ...(await importOriginal<typeof import("@vercel/otel")>()),
  registerOTel: (options?: Configuration | string) => void registered.push(options),
}));

/** Finished spans, kept in memory; `exported` emits "spans" each time more arrive. */
const exported = new EventEmitter();
const exporter = new (class extends InMemorySpanExporter {
  override export(spans: ReadableSpan[], done: Parameters<InMemorySpanExporter["export"]>[1]): void {
    super.export(spans, done);
    exported.emit("spans");
  }
})();

/** Recognisable fake secrets, one per place a key sits in a check-in target's or Slack's URL. */
const SECRETS = {
  healthchecks: "hcPingKeySECRET0a1b2c3d",
  cronitor: "cronitorApiKeySECRET4e5f6a",
  sentry: "sentryPublicKeySECRET7b8c9d",
  heartbeat: "betterstackTokenSECRET0e1f2a",
  slack: "slackWebhookTokenSECRET3b4c5d",
} as const;

interface Received {
  method: string;
  path: string;
}
let server: Server;
let base = "";
let received: Received[] = [];
let mode: "ok" | "redirect" = "ok";

const URLS = {
  healthchecks: () => `${base}/${SECRETS.healthchecks}/{job}`,
  cronitor: () => `${base}/p/${SECRETS.cronitor}/{job}`,
  sentry: () => `${base}/api/42/cron/{job}/${SECRETS.sentry}/`,
  heartbeat: () => `${base}/api/v1/heartbeat/${SECRETS.heartbeat}-{job}`,
} as const;
const slackUrl = () => `${base}/services/T0SECRET/B0SECRET/${SECRETS.slack}`;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume().on("end", () => {
      received.push({ method: req.method ?? "", path: req.url ?? "" });
      if (mode === "redirect" && !req.url?.startsWith("/moved")) res.writeHead(302, { location: `/moved${req.url}` }).end();
      else res.writeHead(200).end("OK");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  vi.stubEnv("EXPORT_OPS_TRACING", "on");
  await register();
  vi.unstubAllEnvs();
  expect(registered).toHaveLength(1);
  const given = registered[0];
  const options: Configuration = typeof given === "string" ? { serviceName: given } : { ...given };
  // the in-memory processor stands where the exporter would: after every processor production configures
  options.spanProcessors = (options.spanProcessors ?? ["auto"]).map((p) => (p === "auto" ? new SimpleSpanProcessor(exporter) : p));
  if (!options.spanProcessors.some((p) => p instanceof SimpleSpanProcessor)) options.spanProcessors.push(new SimpleSpanProcessor(exporter));
  options.traceExporter = undefined;
  const { registerOTel } = await vi.importActual<typeof import("@vercel/otel")>("@vercel/otel");
  registerOTel(options);
});
afterAll(async () => {
  trace.disable();
  context.disable();
  propagation.disable();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await closeSql();
});
beforeEach(async () => {
  await resetData();
  exporter.reset();
  received = [];
  mode = "ok";
});

/** Every text a span carries to a trace backend: its name, attributes, events, links and status. */
function spanTexts(span: ReadableSpan): string {
  return JSON.stringify({
    name: span.name,
    attributes: span.attributes,
    events: span.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    links: span.links.map((l) => l.attributes),
    status: span.status,
  });
}

/** The spans that hold any part of a secret URL's path or query (the fake keys, and their fixed path segments). */
function leaking(spans: ReadableSpan[]) {
  const needles = [...Object.values(SECRETS), "T0SECRET", "/services/", "/api/42/cron", "/heartbeat/", "rid="];
  return spans.flatMap((span) => {
    const text = spanTexts(span);
    const found = needles.filter((n) => text.includes(n));
    return found.length > 0 ? [{ span: span.name, found }] : [];
  });
}

const receiverHost = () => new URL(base).host;
const clientSpansTo = (host: string) =>
  exporter.getFinishedSpans().filter((s) => s.attributes["http.host"] === host || String(s.attributes["http.url"] ?? "").includes(host));

async function runWith(job: JobDefinition, env: Record<string, string>, clock = fixedClock(new Date().toISOString())) {
  const logged = captureLogger();
  const result = await executeJob(
    job,
    { env: testEnv(env), ports: ports(), clock, logger: logged.logger, trigger: "vercel_cron", runId: randomUUID() },
    job.optionsSchema.parse({}),
  );
  return { result, logged };
}

/** 40 exports in the hour before `at`, half of them failed: the failure-rate alert fires and owes a notification. */
async function failingHourBefore(at: Date) {
  await sql().query(
    `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms, error_type, recorded_at)
     select gen_random_uuid(), gen_random_uuid(), 'csv', case when g % 2 = 0 then 'failed' else 'completed' end, 1, 'small', 100,
            case when g % 2 = 0 then 'TimeoutError' end, $1::timestamptz + make_interval(mins => g)
     from generate_series(1, 40) g`,
    [new Date(at.getTime() - 3_600_000)],
  );
}
const T = new Date("2026-06-15T14:00:00Z");

describe("tracing never carries a secret URL", () => {
  it("check-ins of every provider and the alert webhook: no span holds any part of their path or query", async () => {
    for (const provider of Object.keys(URLS) as (keyof typeof URLS)[]) {
      await seedExports({ count: 2, ageHours: 48, withFiles: true });
      await runWith(exportFileCleanup, { EXPORT_OPS_CHECKIN_URL: URLS[provider](), EXPORT_OPS_CHECKIN_PROVIDER: provider });
    }
    await failingHourBefore(T);
    const aggregated = await runWith(exportMetricsAggregate, { ALERT_WEBHOOK_URL: slackUrl() }, fixedClock(T.toISOString()));
    expect(aggregated.result).toMatchObject({ notifications: [{ alert: "export_failure_rate", sent: true, state: "firing" }] });

    // the requests were made, to the secret URLs
    const paths = received.map((r) => r.path).join("\n");
    for (const secret of Object.values(SECRETS)) expect(paths).toContain(secret);
    expect(received.filter((r) => r.path.includes(SECRETS.healthchecks))).toHaveLength(2); // start and success

    const spans = exporter.getFinishedSpans();
    // tracing was on: the runs' spans, and @vercel/otel's own client spans (the Supabase calls) were recorded
    expect(spans.filter((s) => s.name === exportFileCleanup.id)).toHaveLength(4);
    expect(spans.some((s) => s.name === exportMetricsAggregate.id)).toBe(true);
    expect(spans.some((s) => s.instrumentationScope.name === "@vercel/otel/fetch")).toBe(true);

    expect(leaking(spans)).toEqual([]);
    // the calls to secret URLs are not instrumented at all: no span names their host either
    expect(clientSpansTo(receiverHost()).map((s) => s.name)).toEqual([]);
  });

  it("a fetch of a secret URL made without the opt-out is cut to its origin before any processor after it sees it", async () => {
    const res = await fetch(`${base}/forgotten/${SECRETS.healthchecks}/x?key=${SECRETS.cronitor}`);
    expect(await res.text()).toBe("OK");

    // @vercel/otel ends the span once it has read its copy of the body
    while (clientSpansTo(receiverHost()).length === 0) await once(exported, "spans");
    const spans = clientSpansTo(receiverHost());
    expect(spans.map((s) => s.name)).toEqual([`fetch GET ${base}`]);
    expect(spans[0]!.attributes).toMatchObject({ "http.url": base, "resource.name": base, "http.host": receiverHost() });
    expect(leaking(exporter.getFinishedSpans())).toEqual([]);
  });
});

describe("tracing never carries the S3 archive target's credentials", () => {
  it("a log cleanup archiving to an S3 store: no span holds the secret key, a signature or a credential scope", async () => {
    const secret = "s3SecretAccessKeySECRET6c7d8e";
    const s3 = await startS3(["traced-archive"]);
    try {
      await seedExports({ count: 3, status: "expired", ageHours: 40 * 24 });
      const env = s3Env(s3, { EXPORT_ARCHIVE_BUCKET: "traced-archive", EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY: secret });
      const run = {
        env,
        ports: s3Ports(env),
        clock: fixedClock(new Date().toISOString()),
        logger: captureLogger().logger,
        trigger: "vercel_cron" as const,
      };
      const result = await executeJob(
        exportLogCleanup,
        { ...run, runId: randomUUID() },
        exportLogCleanup.optionsSchema.parse({ prune_metrics: "false" }),
      );
      expect(result).toMatchObject({ archived_count: 3, deleted_count: 3 });

      const spans = exporter.getFinishedSpans();
      expect(spans.some((s) => s.name === exportLogCleanup.id)).toBe(true);
      const texts = spans.map(spanTexts).join("\n");
      expect(texts).not.toContain(secret);
      expect(texts).not.toMatch(/X-Amz-Signature|X-Amz-Credential|Signature=|Credential=/i);
    } finally {
      await s3.close();
    }
  });
});

describe("secret URLs are never redirected", () => {
  it("the alert webhook: a 302 is a failed delivery, logged with its reason, and its Location is never requested", async () => {
    mode = "redirect";
    await failingHourBefore(T);
    const { result, logged } = await runWith(exportMetricsAggregate, { ALERT_WEBHOOK_URL: slackUrl() }, fixedClock(T.toISOString()));

    const error = "webhook answered HTTP 302, a redirect, which is not followed: set ALERT_WEBHOOK_URL to where it points";
    expect(result).toMatchObject({ notifications: [{ alert: "export_failure_rate", sent: false, state: "firing", error }] });
    expect(logged.lines().find((l) => l.type === "alert_notification_failed")).toMatchObject({ alert: "export_failure_rate", error });
    expect(received.map((r) => r.method)).toEqual(["POST"]);
    expect(received.some((r) => r.path.startsWith("/moved"))).toBe(false);
    const { rows } = await sql().query(
      "select state, notify_attempts, notify_error from export_ops_alerts where alert = 'export_failure_rate'",
    );
    expect(rows[0]).toEqual({ state: "firing", notify_attempts: 1, notify_error: error }); // owed still: the next run retries
    expect(JSON.stringify(logged.raw)).not.toContain(SECRETS.slack);
  });

  it("a check-in: a 302 is not delivered, recorded with its reason, and its Location is never requested", async () => {
    mode = "redirect";
    const { logged } = await runWith(exportFileCleanup, {
      EXPORT_OPS_CHECKIN_URL: URLS.healthchecks(),
      EXPORT_OPS_CHECKIN_PROVIDER: "healthchecks",
    });

    const error = "HTTP 302, a redirect, which is not followed";
    expect(received).toHaveLength(2); // start and success, each answered 302
    expect(received.some((r) => r.path.startsWith("/moved"))).toBe(false);
    expect(
      logged
        .lines()
        .filter((l) => l.type === "checkin_failed")
        .map((l) => [l.event, l.http_status, l.error]),
    ).toEqual([
      ["start", 302, error],
      ["success", 302, error],
    ]);
    const { rows } = await sql().query("select delivered, http_status, error from export_ops_checkins order by event");
    expect(rows).toEqual([
      { delivered: false, http_status: 302, error },
      { delivered: false, http_status: 302, error },
    ]);
  });
});
