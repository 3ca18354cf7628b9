import { describe, expect, it } from "vitest";
import { captureLogger } from "../test/doubles";

describe("logger", () => {
  it("writes one JSON object per line with level as a word and an ISO time", () => {
    const { logger, raw, lines } = captureLogger();
    logger.info({ type: "export_metric", export_id: "e1" }, "recorded");
    logger.child({ job: "j", run_id: "r" }).warn({ type: "request_unauthorized" });
    expect(raw).toHaveLength(2);
    const [first, second] = lines();
    expect(first).toMatchObject({ level: "info", type: "export_metric", export_id: "e1", msg: "recorded", service: "export-ops" });
    expect(new Date(String(first?.time)).toISOString()).toBe(first?.time);
    expect(second).toMatchObject({ level: "warn", job: "j", run_id: "r", type: "request_unauthorized" });
  });

  it("redacts authorization headers, api keys and secret-named fields", () => {
    const { logger, raw } = captureLogger({ secrets: [] });
    logger.info({ req: { headers: { authorization: "Bearer abc123", apikey: "key456" } }, token: "tok789", config: { CRON_SECRET: "cs000" } });
    expect(raw[0]).not.toMatch(/abc123|key456|tok789|cs000/);
    expect(raw[0]).toContain("[Redacted]");
  });

  it("scrubs the values of secret env variables wherever they appear, even inside messages and errors", () => {
    const secret = "very-secret-cron-value-42";
    const { logger, raw } = captureLogger({ secrets: [secret] });
    logger.error({ err: new Error(`failed with ${secret}`), url: `https://x.test/?s=${secret}` }, `oops ${secret}`);
    expect(raw[0]).not.toContain(secret);
    expect(raw[0]).toContain("[Redacted]");
  });
});
