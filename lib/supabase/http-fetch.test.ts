/** The Supabase client's fetch over node:http, against a real local HTTP server. */
import { getEventListeners } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import tls from "node:tls";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpFetch } from "./http-fetch";

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;
let handler: Handler = (_req, _body, res) => res.end();
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handler(req, Buffer.concat(chunks), res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const serve = (h: Handler) => (handler = h);

describe("httpFetch", () => {
  it("sends the method, path, query, headers and body as given, and answers with status, headers and body", async () => {
    let seen: { method?: string; url?: string; headers: IncomingMessage["headers"]; body: string } | undefined;
    serve((req, body, res) => {
      seen = { method: req.method, url: req.url, headers: req.headers, body: body.toString() };
      res.writeHead(201, "Made", { "content-type": "application/json", "x-total": "3" }).end('{"ok":true}');
    });
    const response = await httpFetch(`${base}/rest/v1/rpc/fn?select=a`, {
      method: "post",
      headers: { "content-type": "application/json", apikey: "k" },
      body: '{"p":1}',
    });
    expect(seen).toMatchObject({ method: "POST", url: "/rest/v1/rpc/fn?select=a", body: '{"p":1}' });
    expect(seen!.headers).toMatchObject({ "content-type": "application/json", apikey: "k", "content-length": "7", accept: "*/*" });
    expect(seen!.headers["accept-encoding"]).toContain("gzip");
    expect([response.status, response.statusText, response.ok]).toEqual([201, "Made", true]);
    expect(response.headers.get("x-total")).toBe("3");
    expect(await response.json()).toEqual({ ok: true });
  });

  it("types a text body without a type as fetch does, and sends bytes from a view's own range", async () => {
    const seen: { type?: string; body: string }[] = [];
    serve((req, body, res) => {
      seen.push({ type: req.headers["content-type"], body: body.toString() });
      res.end();
    });
    await httpFetch(base, { method: "PUT", body: "plain" });
    await httpFetch(base, { method: "PUT", body: new TextEncoder().encode("--bytes--").subarray(2, 7) });
    expect(seen).toEqual([
      { type: "text/plain;charset=UTF-8", body: "plain" },
      { type: undefined, body: "bytes" },
    ]);
  });

  it("gives 204 and HEAD answers no body, and error statuses their body", async () => {
    serve((req, _body, res) => {
      if (req.url === "/none") res.writeHead(204).end();
      else if (req.method === "HEAD") res.writeHead(200, { "content-length": "5" }).end();
      else res.writeHead(409, { "content-type": "application/json" }).end('{"code":"23505"}');
    });
    const none = await httpFetch(`${base}/none`, { method: "DELETE" });
    expect([none.status, none.body]).toEqual([204, null]);
    const head = await httpFetch(base, { method: "HEAD" });
    expect([head.status, head.body]).toEqual([200, null]);
    const conflict = await httpFetch(base);
    expect([conflict.status, conflict.ok, await conflict.json()]).toEqual([409, false, { code: "23505" }]);
  });

  it("decodes gzip and br answers", async () => {
    const text = "line\n".repeat(10_000);
    serve((req, _body, res) => {
      const br = req.url === "/br";
      res.writeHead(200, { "content-encoding": br ? "br" : "gzip" }).end(br ? brotliCompressSync(text) : gzipSync(text));
    });
    expect(await (await httpFetch(`${base}/gzip`)).text()).toBe(text);
    expect(await (await httpFetch(`${base}/br`)).text()).toBe(text);
  });

  it("hands the body over as it arrives, before the server has finished", async () => {
    let finish = () => {};
    serve((_req, _body, res) => {
      res.writeHead(200).write("first ");
      finish = () => res.end("last");
    });
    const reader = (await httpFetch(base)).body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("first ");
    finish();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("last");
    expect((await reader.read()).done).toBe(true);
  });

  it("rejects with the signal's reason when aborted before the answer, or while the body is read", async () => {
    serve(() => {}); // never answers
    const timeout = AbortSignal.timeout(50);
    await expect(httpFetch(base, { signal: timeout })).rejects.toMatchObject({ name: "TimeoutError" });

    serve((_req, _body, res) => res.writeHead(200).write("partial"));
    const controller = new AbortController();
    const response = await httpFetch(base, { signal: controller.signal });
    const reading = response.text();
    controller.abort(new Error("stop"));
    await expect(reading).rejects.toThrow("stop");

    const aborted = new AbortController();
    aborted.abort(new Error("already"));
    await expect(httpFetch(base, { signal: aborted.signal })).rejects.toThrow("already");
  });

  it("stops listening to the signal once the exchange is over, so a timeout signal holds nothing until it fires", async () => {
    serve((_req, _body, res) => res.end("done"));
    const signal = AbortSignal.timeout(60_000);
    const response = await httpFetch(base, { signal });
    expect(getEventListeners(signal, "abort")).toHaveLength(1);
    await response.text();
    await new Promise((resolve) => setImmediate(resolve));
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
  });

  it("keeps the connection for the next request", async () => {
    const sockets = new Set<unknown>();
    serve((req, _body, res) => {
      sockets.add(req.socket);
      res.end("x");
    });
    for (let i = 0; i < 3; i += 1) await (await httpFetch(base)).text();
    expect(sockets.size).toBe(1);
  });

  it("rejects a network failure as fetch does: TypeError('fetch failed') with the cause", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const failure = await httpFetch(`http://127.0.0.1:${port}/`).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect(failure).toMatchObject({ message: "fetch failed", cause: { code: "ECONNREFUSED" } });
  });

  it("leaves what it does not handle (a Blob body) to the built-in fetch, which sends it the same way", async () => {
    let seen: { type?: string; body: string } | undefined;
    serve((req, body, res) => {
      seen = { type: req.headers["content-type"], body: body.toString() };
      res.end();
    });
    await httpFetch(base, { method: "POST", body: new Blob(["blob body"], { type: "application/x-export" }) });
    expect(seen).toEqual({ type: "application/x-export", body: "blob body" });
  });

  it("speaks HTTPS with the certificate checked: refused from an unknown authority, answered once it is trusted", async () => {
    // a self-signed certificate for 127.0.0.1, made for this test (test/fixtures, valid until 2126)
    const fixture = (name: string) => readFileSync(path.join(__dirname, "../../test/fixtures", name), "utf8");
    const cert = fixture("tls-127.0.0.1.cert.pem");
    const secure = createTlsServer({ cert, key: fixture("tls-127.0.0.1.key.pem") }, (_req, res) => res.end("over tls"));
    await new Promise<void>((resolve) => secure.listen(0, "127.0.0.1", resolve));
    const url = `https://127.0.0.1:${(secure.address() as AddressInfo).port}/`;
    const defaults = tls.getCACertificates("default");
    try {
      const refused = await httpFetch(url).catch((error: unknown) => error);
      expect(refused).toMatchObject({ message: "fetch failed", cause: { code: "DEPTH_ZERO_SELF_SIGNED_CERT" } });
      tls.setDefaultCACertificates([...defaults, cert]);
      expect(await (await httpFetch(url)).text()).toBe("over tls");
    } finally {
      tls.setDefaultCACertificates(defaults);
      secure.closeAllConnections();
      await new Promise((resolve) => secure.close(resolve));
    }
  });
});
