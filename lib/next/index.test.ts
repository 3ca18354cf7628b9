import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cronRoute, detailedHealthRoute, healthRoute, metricsRoute, opsPageRoute, type JobId } from "./index";

const secret = () => randomBytes(24).toString("base64url");
const get = (path: string, headers: Record<string, string> = {}) => new Request(`http://host.test${path}`, { headers });

describe("export-ops/next", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("refuses a job it does not have, naming the ones it has", () => {
    expect(() => cronRoute("export-everything" as JobId)).toThrow(
      /no job "export-everything" \(its jobs: export-file-cleanup, export-log-cleanup, export-metrics-aggregate\)/,
    );
  });

  it("answers liveness without any setting", async () => {
    const res = await healthRoute().GET(get("/api/health"));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok", service: "export-ops" });
  });

  it("guards a cron route with the CRON_SECRET given in code when the environment has none", async () => {
    vi.stubEnv("CRON_SECRET", "");
    const withoutSettings = await cronRoute("export-file-cleanup").GET(
      get("/api/cron/export-file-cleanup", { authorization: "Bearer wrong" }),
    );
    expect(withoutSettings.status).toBe(500);
    expect((await withoutSettings.json()).error.code).toBe("config_error");
    const withSettings = await cronRoute("export-file-cleanup", { settings: { CRON_SECRET: secret() } }).GET(
      get("/api/cron/export-file-cleanup", { authorization: "Bearer wrong" }),
    );
    expect(withSettings.status).toBe(401);
  });

  it.each([
    ["detailed health", "HEALTH_TOKEN", () => detailedHealthRoute, "/api/health/detailed"],
    ["metrics", "METRICS_TOKEN", () => metricsRoute, "/api/metrics"],
  ] as const)("turns %s on with its token given in code (404 without it, 401 with a wrong bearer)", async (_name, token, factory, path) => {
    vi.stubEnv(token, "");
    expect((await factory()().GET(get(path))).status).toBe(404);
    expect((await factory()({ settings: { [token]: secret() } }).GET(get(path, { authorization: "Bearer wrong" }))).status).toBe(401);
  });

  it("serves the ops page's sign-in with OPS_TOKEN given in code, and 404 without it", async () => {
    vi.stubEnv("OPS_TOKEN", "");
    expect((await opsPageRoute().GET(get("/ops"))).status).toBe(404);
    const res = await opsPageRoute({ settings: { OPS_TOKEN: secret() } }).GET(get("/ops"));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Ops token");
  });
});
