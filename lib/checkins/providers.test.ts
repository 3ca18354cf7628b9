import { describe, expect, it } from "vitest";
import { parseEnv } from "../env";
import { checkinTarget } from "./checkins";
import { checkinRequest, providerOf } from "./providers";

const base = { SUPABASE_URL: "http://127.0.0.1:54321", SUPABASE_SERVICE_ROLE_KEY: "x".repeat(40) };

describe("providerOf", () => {
  it("reads the provider from the URL's shape, and lets the setting override it", () => {
    expect(providerOf("https://hc-ping.com/abc/export-file-cleanup", "auto")).toBe("healthchecks");
    expect(providerOf("https://cronitor.link/p/key/export-log-cleanup", "auto")).toBe("cronitor");
    expect(providerOf("https://o1.ingest.us.sentry.io/api/42/cron/export-log-cleanup/pubkey/", "auto")).toBe("sentry");
    expect(providerOf("https://uptime.betterstack.com/api/v1/heartbeat/tok", "auto")).toBe("heartbeat");
    expect(providerOf("https://hc.example.com/ping/abc", "healthchecks")).toBe("healthchecks");
  });
});

describe("checkinTarget", () => {
  it("fills {job} in the template, lets a job's own variable win, and is off when neither is set", () => {
    const env = parseEnv({
      ...base,
      EXPORT_OPS_CHECKIN_URL: "https://hc-ping.com/k/{job}?create=1",
      EXPORT_OPS_CHECKIN_URL_EXPORT_LOG_CLEANUP: "https://cronitor.link/p/k/logs",
    });
    expect(checkinTarget(env, "export-file-cleanup")).toEqual({
      provider: "healthchecks",
      host: "hc-ping.com",
      url: "https://hc-ping.com/k/export-file-cleanup?create=1",
    });
    expect(checkinTarget(env, "export-log-cleanup")).toEqual({
      provider: "cronitor",
      host: "cronitor.link",
      url: "https://cronitor.link/p/k/logs",
    });
    expect(checkinTarget(parseEnv(base), "export-file-cleanup")).toBeUndefined();
  });

  it("refuses a template without {job}, naming the variable", () => {
    expect(() => parseEnv({ ...base, EXPORT_OPS_CHECKIN_URL: "https://hc-ping.com/k/one-check" })).toThrow(
      /EXPORT_OPS_CHECKIN_URL: must contain \{job\}/,
    );
  });
});

describe("checkinRequest", () => {
  const run = { runId: "r1", schedule: "0 2 * * *", graceMinutes: 180, maxDurationSeconds: 300 };
  it("keeps the URL's own query (Healthchecks' ?create=1) and adds rid", () => {
    expect(checkinRequest("healthchecks", "https://hc-ping.com/k/job?create=1", "start", run)?.url).toBe(
      "https://hc-ping.com/k/job/start?create=1&rid=r1",
    );
  });
  it("sends a heartbeat only on success", () => {
    expect(checkinRequest("heartbeat", "https://h.example/beat", "start", run)).toBeNull();
    expect(checkinRequest("heartbeat", "https://h.example/beat", "fail", run)).toBeNull();
    expect(checkinRequest("heartbeat", "https://h.example/beat", "success", run)).toEqual({ method: "GET", url: "https://h.example/beat" });
  });
  it("gives Cronitor the platform's execution ID as the series, and Healthchecks and Sentry the run id, which must be a UUID", () => {
    const scheduled = { ...run, executionId: "01JABC:1788350400000" };
    expect(new URL(checkinRequest("cronitor", "https://cronitor.link/p/k/job", "start", scheduled)!.url).searchParams.get("series")).toBe(
      "01JABC:1788350400000",
    );
    expect(new URL(checkinRequest("healthchecks", "https://hc-ping.com/k/job", "start", scheduled)!.url).searchParams.get("rid")).toBe(
      "r1",
    );
    expect(
      JSON.parse(checkinRequest("sentry", "https://o.ingest.sentry.io/api/1/cron/job/k/", "start", scheduled)!.body!).check_in_id,
    ).toBe("r1");
  });
});
