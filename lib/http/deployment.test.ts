import { afterEach, describe, expect, it, vi } from "vitest";
import { publicHost, selfUrl, servedSecurely } from "./deployment";

afterEach(() => vi.unstubAllEnvs());

// under `next start`, request.url is the listen address with the scheme a proxy forwarded
const behindProxy = (headers: Record<string, string>) =>
  new Request("https://localhost:3000/api/cron/export-log-cleanup?batch_size=500", { headers });

describe("the deployment's own address", () => {
  it("self-hosted without a setting: calls the server itself over plain HTTP, whatever the proxy forwarded", () => {
    vi.stubEnv("VERCEL", undefined);
    expect(selfUrl(behindProxy({ "x-forwarded-proto": "https", host: "ops.example.com" })).href).toBe(
      "http://localhost:3000/api/cron/export-log-cleanup?batch_size=500",
    );
  });

  it("on Vercel: calls this very deployment at https://$VERCEL_URL", () => {
    vi.stubEnv("VERCEL", "1");
    vi.stubEnv("VERCEL_URL", "export-ops-git-main-acme.vercel.app");
    expect(selfUrl(new Request("https://ops.acme.com/api/cron/export-log-cleanup")).href).toBe(
      "https://export-ops-git-main-acme.vercel.app/api/cron/export-log-cleanup",
    );
    expect(servedSecurely(new Request("http://localhost:3000/ops/sign-in"))).toBe(true);
  });

  it("with EXPORT_OPS_BASE_URL: that, for the calls, the host and the cookie", () => {
    vi.stubEnv("EXPORT_OPS_BASE_URL", "http://192.168.1.20:8080");
    const request = behindProxy({ host: "ignored.example.com" });
    expect(selfUrl(request).href).toBe("http://192.168.1.20:8080/api/cron/export-log-cleanup?batch_size=500");
    expect(publicHost(request)).toBe("192.168.1.20:8080");
    expect(servedSecurely(request)).toBe(false);
    vi.stubEnv("EXPORT_OPS_BASE_URL", "https://ops.example.com");
    expect(servedSecurely(request)).toBe(true);
  });

  it("refuses a bad EXPORT_OPS_BASE_URL by name", () => {
    vi.stubEnv("EXPORT_OPS_BASE_URL", "ops.example.com");
    expect(() => selfUrl(behindProxy({}))).toThrow(/EXPORT_OPS_BASE_URL: must be an http\(s\) URL/);
  });

  it.each([
    ["a TLS proxy's forwarded scheme", { host: "localhost:3000", "x-forwarded-proto": "https" }, true],
    ["a public Host alone", { host: "ops.example.com" }, true],
    ["a public forwarded host", { host: "localhost:3000", "x-forwarded-host": "ops.example.com" }, true],
    ["several forwarded schemes, the first https", { host: "localhost:3000", "x-forwarded-proto": "https, http" }, true],
    ["localhost over plain HTTP", { host: "localhost:3000" }, false],
    ["127.0.0.1 over plain HTTP", { host: "127.0.0.1:3000", "x-forwarded-proto": "http" }, false],
  ])("a cookie is Secure behind %s: %s", (_, headers, secure) => {
    vi.stubEnv("VERCEL", undefined);
    expect(servedSecurely(new Request("http://localhost:3000/ops/sign-in", { headers }))).toBe(secure);
  });
});
