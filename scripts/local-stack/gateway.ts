/**
 * The stack's single URL, as Supabase's API gateway: `/rest/v1/*` goes to PostgREST, `/storage/v1/*` to the
 * Storage stand-in. It also keeps a record of the requests it served and can inject faults, through
 * `/__stack/*` endpoints (service_role key only) that tests use to count requests and to break a batch.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { defaultStorageBehaviour, type StorageBehaviour } from "./storage-server";

export interface RecordedRequest {
  method: string;
  path: string;
  status?: number;
  /** For Storage bulk deletes: the names asked for. */
  prefixes?: string[];
}

export interface Fault {
  method?: string;
  /** The fault applies to requests whose path (with its /rest/v1 or /storage/v1 prefix) starts with this. */
  pathPrefix: string;
  /** Answer this status (Storage-shaped body) instead of serving the request. */
  status?: number;
  /** Wait this long before answering (or serving), to simulate a timeout. */
  delayMs?: number;
  /** How many matching requests to affect. */
  times: number;
}

export interface GatewayOptions {
  postgrestPort: number;
  serviceRoleKey: string;
  /** The stand-in's delete behaviour, which `/__stack/storage` sets (and clearing the faults resets). */
  storageBehaviour: StorageBehaviour;
  /** false: no `/__stack/*` endpoints at all, like a real project (the external-mode test run). */
  control?: boolean;
  storage: (req: IncomingMessage, res: ServerResponse, pathname: string, onDelete: (prefixes: string[]) => void) => Promise<void>;
}

/** Requests kept in the record (enough for the benchmarks' naive runs at 100k files). */
const MAX_RECORDED = 500_000;

/** What the gateway keeps between requests: the record of what it served, and the faults still to inject. */
interface GatewayState {
  recorded: RecordedRequest[];
  faults: Fault[];
}

export async function startGateway(options: GatewayOptions): Promise<{ server: Server; port: number }> {
  const state: GatewayState = { recorded: [], faults: [] };
  const server = createServer((req, res) => handleRequest(options, state, req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A control request, or one for the project: recorded, then served, or answered by the first fault that matches it. */
function handleRequest(options: GatewayOptions, state: GatewayState, req: IncomingMessage, res: ServerResponse) {
  const { control: controlOn = true } = options;
  const url = new URL(req.url ?? "/", "http://gateway");
  const pathname = url.pathname;
  const method = req.method ?? "GET";
  if (controlOn && pathname.startsWith("/__stack/")) return void control(options, state, req, res, pathname);

  const entry: RecordedRequest = { method, path: pathname };
  if (state.recorded.length < MAX_RECORDED) state.recorded.push(entry);
  res.on("finish", () => (entry.status ??= res.statusCode));

  const serve = () => route(options, req, res, url, entry);
  const fault = takeFault(state, method, pathname);
  if (!fault) return serve();
  injectFault(res, fault, serve);
}

/** `/rest/v1/*` to PostgREST, `/storage/v1/*` to the Storage stand-in, anything else a 404. */
function route({ postgrestPort, storage }: GatewayOptions, req: IncomingMessage, res: ServerResponse, url: URL, entry: RecordedRequest) {
  const pathname = url.pathname;
  if (pathname.startsWith("/rest/v1/"))
    return proxyToPostgrest(postgrestPort, req, res, pathname.slice("/rest/v1".length) + url.search, entry);
  if (pathname.startsWith("/storage/v1/")) {
    // Bulk deletes are recorded with their names, so tests can prove which paths reached Storage.
    return void storage(req, res, pathname.slice("/storage/v1".length) + url.search, (prefixes) => (entry.prefixes = prefixes));
  }
  res.writeHead(404, { "content-type": "application/json" });
  res.end(JSON.stringify({ message: "no route" }));
}

/** The first fault that matches the request, counted down (and dropped once spent). */
function takeFault(state: GatewayState, method: string, pathname: string): Fault | undefined {
  const fault = state.faults.find((f) => f.times > 0 && pathname.startsWith(f.pathPrefix) && (!f.method || f.method === method));
  if (fault) fault.times -= 1;
  state.faults = state.faults.filter((f) => f.times > 0);
  return fault;
}

/** After the fault's delay: its status with a Storage-shaped error body, or (a delay alone) the request served late. */
function injectFault(res: ServerResponse, fault: Fault, serve: () => void) {
  setTimeout(() => {
    if (fault.status === undefined) return serve();
    res.writeHead(fault.status, { "content-type": "application/json" });
    res.end(JSON.stringify({ statusCode: String(fault.status), code: "InjectedFault", error: "injected", message: "Injected fault" }));
  }, fault.delayMs ?? 0);
}

function proxyToPostgrest(postgrestPort: number, req: IncomingMessage, res: ServerResponse, pathWithQuery: string, entry: RecordedRequest) {
  const upstream = httpRequest(
    {
      host: "127.0.0.1",
      port: postgrestPort,
      method: req.method,
      path: pathWithQuery,
      headers: { ...req.headers, host: `127.0.0.1:${postgrestPort}` },
    },
    (up) => {
      entry.status = up.statusCode;
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on("error", () => {
    if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
    res.end(JSON.stringify({ message: "PostgREST is unreachable" }));
  });
  req.pipe(upstream);
}

/** The `/__stack/*` endpoints (service_role key only): the request record, the faults, the stand-in's delete behaviour. */
async function control(
  { serviceRoleKey, storageBehaviour }: GatewayOptions,
  state: GatewayState,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
) {
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (req.headers.authorization !== `Bearer ${serviceRoleKey}`) return send(401, { message: "service_role key required" });
  if (pathname === "/__stack/requests" && req.method === "GET") return send(200, state.recorded);
  if (pathname === "/__stack/requests" && req.method === "DELETE") return send(200, { cleared: state.recorded.splice(0).length });
  if (pathname === "/__stack/faults" && req.method === "POST") {
    const fault = await readJson<Fault>(req);
    state.faults.push({ ...fault, times: fault.times ?? 1 });
    return send(200, { faults: state.faults });
  }
  if (pathname === "/__stack/faults" && req.method === "DELETE") {
    state.faults = [];
    Object.assign(storageBehaviour, defaultStorageBehaviour());
    return send(200, { faults: state.faults });
  }
  if (pathname === "/__stack/storage" && req.method === "POST") {
    Object.assign(storageBehaviour, await readJson<Partial<StorageBehaviour>>(req));
    return send(200, storageBehaviour);
  }
  return send(404, { message: "unknown control endpoint" });
}

async function readJson<T>(req: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as T;
}
