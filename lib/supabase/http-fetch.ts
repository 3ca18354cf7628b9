/**
 * The fetch the Supabase client is given: HTTP/1.1 requests through node:http(s) with keep-alive agents,
 * answered with a standard Response whose body streams as it arrives.
 *
 * Why not Node's built-in fetch: it keeps each request's objects reachable after the request is done (the
 * response is registered in a FinalizationRegistry and referenced through WeakRefs, which only a full garbage
 * collection clears), so a job making hundreds of requests moves them all into V8's old generation. In the file
 * cleanup at 100k files that was 15–25 MB of peak memory (see BENCHMARKS.md); with this module the old generation
 * stays flat.
 *
 * What it does as fetch does: method, headers and a text or bytes body as given (text without a type is
 * `text/plain;charset=UTF-8`), `accept` and `accept-encoding` added when absent and gzip/deflate/br answers
 * decoded, a network failure rejects with `TypeError("fetch failed", { cause })`, an abort rejects with the
 * signal's reason, also while the body is being read. What it does not: follow redirects (Supabase's APIs answer
 * directly; a 3xx is returned as it is), caching, cookies. Anything it does not handle (a Request object, a Blob,
 * FormData or stream body, another scheme) goes to the built-in fetch unchanged.
 */
import http from "node:http";
import https from "node:https";
import { pipeline, Readable } from "node:stream";
import zlib from "node:zlib";

/** Idle connections close after 4 s (as fetch's), sooner when the server's Keep-Alive header says so. */
const keepAlive = { keepAlive: true, timeout: 4_000 };
/**
 * Per scheme: the module that makes the request (its `request` looked up per call, so instrumentation that wraps
 * it, msw's included, sees every request), and its pool of connections.
 */
const transports: Record<string, { module: Pick<typeof http, "request">; agent: http.Agent }> = {
  "http:": { module: http, agent: new http.Agent(keepAlive) },
  "https:": { module: https, agent: new https.Agent(keepAlive) },
};
/** Statuses whose response has no body (fetch's null body statuses that can reach a client). */
const NULL_BODY_STATUS = new Set([204, 205, 304]);
/** How much of a body is read ahead of its reader. */
const READ_AHEAD_BYTES = 64 * 1024;

function decoder(encoding: string | undefined) {
  const lenient = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  switch (encoding?.trim().toLowerCase()) {
    case "gzip":
    case "x-gzip":
      return zlib.createGunzip(lenient);
    case "deflate":
      return zlib.createInflate(lenient);
    case "br":
      return zlib.createBrotliDecompress();
    default:
      return null;
  }
}

function bodyBytes(body: RequestInit["body"]): Buffer | undefined | null {
  if (body == null) return undefined;
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  return null; // not handled here
}

export const httpFetch: typeof fetch = (input, init = {}) => {
  const url = typeof input === "string" || input instanceof URL ? new URL(input) : null;
  const body = bodyBytes(init.body);
  const transport = url && transports[url.protocol];
  if (!url || !transport || body === null) return fetch(input, init);

  const signal = init.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const method = (init.method ?? "GET").toUpperCase();
  const headers = new Headers(init.headers);
  if (typeof init.body === "string" && !headers.has("content-type")) headers.set("content-type", "text/plain;charset=UTF-8");
  if (!headers.has("accept")) headers.set("accept", "*/*");
  if (!headers.has("accept-encoding")) headers.set("accept-encoding", "gzip, deflate, br");
  if (body) headers.set("content-length", String(body.length));
  else if (method === "POST" || method === "PUT") headers.set("content-length", "0");

  return new Promise<Response>((resolve, reject) => {
    const request = transport.module.request(url, { method, headers: Object.fromEntries(headers), agent: transport.agent });
    let stream: Readable | undefined;
    // the listener goes when the exchange ends: a timeout signal keeps whatever listens to it alive until it fires
    const onAbort = () => {
      stream?.destroy(signal!.reason);
      request.destroy(signal!.reason);
    };
    const finished = () => signal?.removeEventListener("abort", onAbort);
    signal?.addEventListener("abort", onAbort, { once: true });

    request.on("error", (error) => {
      finished();
      reject(signal?.aborted ? signal.reason : new TypeError("fetch failed", { cause: error }));
    });
    request.on("response", (response) => {
      const status = response.statusCode ?? 0;
      const responseHeaders = new Headers();
      for (let i = 0; i < response.rawHeaders.length; i += 2) responseHeaders.append(response.rawHeaders[i]!, response.rawHeaders[i + 1]!);
      const answer = { status, statusText: response.statusMessage, headers: responseHeaders };
      if (method === "HEAD" || NULL_BODY_STATUS.has(status)) {
        response.on("close", finished).resume();
        resolve(new Response(null, answer));
        return;
      }
      const decode = decoder(response.headers["content-encoding"]);
      stream = decode ? pipeline(response, decode, () => {}) : response;
      stream.on("close", finished);
      try {
        resolve(
          new Response(
            Readable.toWeb(stream, { strategy: new ByteLengthQueuingStrategy({ highWaterMark: READ_AHEAD_BYTES }) }) as ReadableStream,
            answer,
          ),
        );
      } catch (error) {
        // a status outside 200-599, which fetch refuses too
        stream.destroy();
        reject(new TypeError("fetch failed", { cause: error }));
      }
    });
    request.end(body);
  });
};
