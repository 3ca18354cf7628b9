import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { captureLogger } from "../test/doubles";
import type { Logger } from "./logger";

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? e.name === "dist" || e.name === "node_modules"
        ? []
        : sources(join(dir, e.name))
      : /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name)
        ? [join(dir, e.name)]
        : [],
  );

describe("logger", () => {
  it("writes one JSON object per line with level as a word and an ISO time", () => {
    const { logger, raw, lines } = captureLogger();
    logger.info({ type: "export_metric", export_id: "e1" }, "recorded");
    logger.child({ job: "j", run_id: "r" }).warn({ type: "request_unauthorized" }, "refused");
    expect(raw).toHaveLength(2);
    const [first, second] = lines();
    expect(first).toMatchObject({ level: "info", type: "export_metric", export_id: "e1", msg: "recorded", service: "export-ops" });
    expect(new Date(String(first?.time)).toISOString()).toBe(first?.time);
    expect(second).toMatchObject({ level: "warn", job: "j", run_id: "r", type: "request_unauthorized" });
  });

  it("redacts authorization headers, api keys and secret-named fields", () => {
    const { logger, raw } = captureLogger({ secrets: [] });
    logger.info(
      { req: { headers: { authorization: "Bearer abc123", apikey: "key456" } }, token: "tok789", config: { CRON_SECRET: "cs000" } },
      "redacted",
    );
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

  it("cannot write a line without a message: docs/LOGGING.md promises level, time and msg on every line", () => {
    const { logger, lines } = captureLogger();
    const typed: Logger = logger;
    // @ts-expect-error a log call must say what happened in words, not only in fields
    typed.info({ type: "export_metric" });
    typed.info({ type: "export_metric" }, "recorded");
    expect(lines().at(-1)).toMatchObject({ level: "info", msg: "recorded" });
  });

  it("has every event type the code names in docs/LOGGING.md's table", () => {
    const code = [...sources("lib"), ...sources("app")].map((f) => readFileSync(f, "utf8")).join("\n");
    const written = new Set([...code.matchAll(/\btype: "([a-z]+_[a-z_]+)"/g)].map((m) => m[1]!));
    const table = readFileSync("docs/LOGGING.md", "utf8");
    const documented = new Set([...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]!));
    expect([...written].filter((t) => !documented.has(t)).sort()).toEqual([]);
  });
});
