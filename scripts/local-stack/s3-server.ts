/**
 * A real S3-protocol server for the S3 archive target's tests and the bench: s3rver (from the registry) on a free port with a
 * temp dir, behind a small proxy that can answer 500, answer slowly, or claim a bucket keeps versions, as a store
 * in trouble (or one that keeps versions and cannot list them) would. s3rver takes the key S3RVER / S3RVER only.
 * With `versions`, the server behind the proxy is ./s3-versioned.ts instead, which keeps versions (s3rver has none).
 */
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import { startVersionedS3 } from "./s3-versioned";

export const S3_KEY = { EXPORT_ARCHIVE_S3_ACCESS_KEY_ID: "S3RVER", EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY: "S3RVER" };

/** What the proxy does to the requests it matches (`method`, all when unset), `times` times (for good when unset). */
export interface S3Fault {
  method?: string;
  status?: number;
  delayMs?: number;
  /** Answer GetBucketVersioning with `Enabled` (s3rver has no versioning). */
  versioningEnabled?: boolean;
  times?: number;
}

export interface S3Server {
  /** The proxy's address: what EXPORT_ARCHIVE_S3_ENDPOINT names. */
  endpoint: string;
  fault(fault: S3Fault | null): void;
  close(): Promise<void>;
}

function proxyTo(port: number, state: { fault: S3Fault | null }): http.Server {
  return http.createServer((req, res) => {
    const fault = state.fault;
    const matches = fault && (!fault.method || fault.method === req.method);
    if (matches && fault.times !== undefined && --fault.times <= 0) state.fault = null;
    if (matches && fault.versioningEnabled && req.method === "GET" && /[?&]versioning(=|&|$)/.test(req.url ?? "")) {
      res
        .writeHead(200, { "content-type": "application/xml" })
        .end('<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>');
      return;
    }
    const forward = () => {
      if (matches && fault.status) {
        req.resume();
        res
          .writeHead(fault.status, { "content-type": "application/xml" })
          .end("<Error><Code>InternalError</Code><Message>injected</Message></Error>");
        return;
      }
      const upstream = http.request({ host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    };
    if (matches && fault.delayMs) setTimeout(forward, fault.delayMs);
    else forward();
  });
}

/** s3rver (or, with `versions`, the server that keeps them) with the given buckets, behind the proxy; close() stops both. */
export async function startS3(buckets: string[], options: { versions?: boolean } = {}): Promise<S3Server> {
  const upstream = options.versions ? await startVersionedS3(buckets) : await startS3rver(buckets);
  const state: { fault: S3Fault | null } = { fault: null };
  const proxy = proxyTo(upstream.port, state);
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    fault: (fault) => void (state.fault = fault && { ...fault }),
    async close() {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await upstream.close();
    },
  };
}

/** s3rver on a free port with a temp dir; close() stops it and removes the dir. */
async function startS3rver(buckets: string[]): Promise<{ port: number; close: () => Promise<void> }> {
  const directory = mkdtempSync(path.join(tmpdir(), "export-ops-s3rver-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  return {
    port,
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
