/** Request shapes and error unwrapping of the supabase-js adapters, against msw (no unhandled requests). */
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DatabaseError, StorageError } from "../errors";
import { createServiceClient } from "./client";
import { createObjectStorage } from "./object-storage";
import { createSqlApi } from "./sql-api";

const URL_ = "http://supabase.test";
const KEY = "service-role-key-for-msw-tests";
const server = setupServer();
const seen: { method: string; url: string; headers: Headers; body: unknown }[] = [];

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterEach(() => {
  server.resetHandlers();
  seen.length = 0;
});
afterAll(() => server.close());

async function record(request: Request) {
  const text = await request.clone().text();
  seen.push({ method: request.method, url: request.url, headers: request.headers, body: text ? JSON.parse(text) : undefined });
}

const client = () => createServiceClient(URL_, KEY);

describe("SqlApi", () => {
  const pong = { now: "2026-06-01T02:00:00+00:00", role: "service_role", server_version: "17.10" };

  it("POSTs named arguments to /rest/v1/rpc/<fn> with the service key, and returns the checked result", async () => {
    server.use(
      http.post(`${URL_}/rest/v1/rpc/export_ops_orphan_page`, async ({ request }) => {
        await record(request);
        return HttpResponse.json({
          orphans: [{ name: "u/a.json", user_id: "u", format: "json" }],
          scanned: 10,
          from: "",
          next: "u/a.json",
          wrapped: false,
        });
      }),
    );
    const page = await createSqlApi(client()).call("export_ops_orphan_page", {
      p_bucket: "exports",
      p_retention_hours: 24,
      p_stuck_hours: 24,
    });
    expect(page).toEqual({
      orphans: [{ name: "u/a.json", user_id: "u", format: "json" }],
      scanned: 10,
      from: "",
      next: "u/a.json",
      wrapped: false,
    });
    expect(seen[0]).toMatchObject({ method: "POST", body: { p_bucket: "exports", p_retention_hours: 24, p_stuck_hours: 24 } });
    expect(seen[0]?.headers.get("apikey")).toBe(KEY);
    expect(seen[0]?.headers.get("authorization")).toBe(`Bearer ${KEY}`);
  });

  it("refuses a malformed result with a DatabaseError naming the function and the field", async () => {
    server.use(
      http.post(`${URL_}/rest/v1/rpc/export_ops_orphan_page`, () =>
        HttpResponse.json({ orphans: "u/a.json", scanned: 10, from: "", next: "", wrapped: false }),
      ),
    );
    const error = await createSqlApi(client())
      .call("export_ops_orphan_page", { p_bucket: "exports", p_retention_hours: 24, p_stuck_hours: 24 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as Error).message).toMatch(/^export_ops_orphan_page returned a malformed result: orphans: /);
  });

  it("refuses bad arguments before sending anything", async () => {
    const error = await createSqlApi(client())
      .call("export_ops_exports_stuck", { p_hours: 1.5 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as Error).message).toMatch(/^export_ops_exports_stuck called with bad arguments: p_hours: /);
    expect(seen).toEqual([]);
  });

  it("turns a PostgREST error body into a DatabaseError with its code", async () => {
    server.use(
      http.post(`${URL_}/rest/v1/rpc/export_ops_ping`, () =>
        HttpResponse.json(
          { code: "PGRST202", message: "Could not find the function public.export_ops_ping", details: null, hint: null },
          { status: 404 },
        ),
      ),
    );
    const error = await createSqlApi(client())
      .call("export_ops_ping")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({ code: "database_error", status: 502, dbCode: "PGRST202" });
    expect((error as Error).message).toContain("export_ops_ping failed: Could not find the function");
  });

  it("turns a network failure into a DatabaseError", async () => {
    server.use(http.post(`${URL_}/rest/v1/rpc/export_ops_ping`, () => HttpResponse.error()));
    await expect(createSqlApi(client()).call("export_ops_ping")).rejects.toBeInstanceOf(DatabaseError);
  });

  it("asks for a batch's archive text in its media type and hands over the body as sent (not parsed as JSON)", async () => {
    const text = '{"export_id":"e1","error_message":"a \\"quoted\\" line"}\n{"export_id":"e2"}\n';
    server.use(
      http.post(`${URL_}/rest/v1/rpc/export_ops_archive_batch_text`, async ({ request }) => {
        await record(request);
        return new HttpResponse(text, { headers: { "content-type": "application/vnd.export-ops.jsonl" } });
      }),
    );
    const body = await createSqlApi(client()).call("export_ops_archive_batch_text", { p_batch: "logs/b1" });
    expect(await new Response(body).text()).toBe(text);
    expect(seen[0]).toMatchObject({ method: "POST", body: { p_batch: "logs/b1" } });
    expect(seen[0]?.headers.get("accept")).toBe("application/vnd.export-ops.jsonl");
    expect(seen[0]?.headers.get("apikey")).toBe(KEY);
    expect(seen[0]?.headers.get("authorization")).toBe(`Bearer ${KEY}`);
  });

  it("turns an error answer to a text request into a DatabaseError with its code", async () => {
    server.use(
      http.post(`${URL_}/rest/v1/rpc/export_ops_archive_batch_text`, () =>
        HttpResponse.json(
          { code: "PGRST107", message: "None of these media types are available: application/vnd.export-ops.jsonl" },
          { status: 415 },
        ),
      ),
    );
    const error = await createSqlApi(client())
      .call("export_ops_archive_batch_text", { p_batch: "logs/b1" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({ dbCode: "PGRST107" });
    expect((error as Error).message).toBe(
      "export_ops_archive_batch_text failed: None of these media types are available: application/vnd.export-ops.jsonl",
    );
  });

  it('asks for text through a client whose schema("public") has its headers as a plain record (supabase-js 2.43)', async () => {
    server.use(
      http.post(`${URL_}/rest/v1/rpc/export_ops_archive_batch_text`, async ({ request }) => {
        await record(request);
        return new HttpResponse("{}\n", { headers: { "content-type": "application/vnd.export-ops.jsonl" } });
      }),
    );
    const rest = { url: `${URL_}/rest/v1`, headers: { apikey: KEY, Authorization: `Bearer ${KEY}` }, fetch };
    const older = { rpc: () => Promise.reject(new Error("no rpc expected")), schema: () => rest };
    const body = await createSqlApi(older).call("export_ops_archive_batch_text", { p_batch: "logs/b1" });
    expect(await new Response(body).text()).toBe("{}\n");
    expect(seen[0]?.headers.get("accept")).toBe("application/vnd.export-ops.jsonl");
    expect(seen[0]?.headers.get("apikey")).toBe(KEY);
  });

  it('refuses a text function over a client without schema("public"), saying what it needs, and sends nothing', async () => {
    const bare = { rpc: () => Promise.reject(new Error("no rpc expected")) };
    const error = await createSqlApi(bare)
      .call("export_ops_archive_batch_text", { p_batch: "logs/b1" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as Error).message).toBe(
      'export_ops_archive_batch_text needs the client\'s schema("public") with its url and headers (supabase-js 2.43 or later); this client has none',
    );
    expect(seen).toEqual([]);
  });

  it("passes a well-formed answer through", async () => {
    server.use(http.post(`${URL_}/rest/v1/rpc/export_ops_ping`, () => HttpResponse.json(pong)));
    expect(await createSqlApi(client()).call("export_ops_ping")).toEqual(pong);
  });
});

describe("ObjectStorage", () => {
  it("removes with one DELETE carrying {prefixes}", async () => {
    server.use(
      http.delete(`${URL_}/storage/v1/object/exports`, async ({ request }) => {
        await record(request);
        return HttpResponse.json([{ name: "u/a.json" }]);
      }),
    );
    const removed = await createObjectStorage(client()).remove("exports", ["u/a.json", "u/b.json"]);
    expect(removed).toEqual(["u/a.json"]);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.body).toEqual({ prefixes: ["u/a.json", "u/b.json"] });
  });

  it("sends nothing for an empty list", async () => {
    expect(await createObjectStorage(client()).remove("exports", [])).toEqual([]);
  });

  it("lists with limit, offset, sort and prefix", async () => {
    server.use(
      http.post(`${URL_}/storage/v1/object/list/exports`, async ({ request }) => {
        await record(request);
        return HttpResponse.json([{ name: "a.json", id: "1", created_at: "t", updated_at: "t", metadata: { size: 1 } }]);
      }),
    );
    const page = await createObjectStorage(client()).list("exports", "u1", { limit: 500, offset: 1000 });
    expect(page).toEqual([{ name: "a.json", id: "1", created_at: "t", updated_at: "t", metadata: { size: 1 } }]);
    expect(seen[0]?.body).toEqual({ prefix: "u1", limit: 500, offset: 1000, sortBy: { column: "name", order: "asc" } });
  });

  it("keeps Storage's real status from the body when it answers HTTP 400", async () => {
    server.use(
      http.get(`${URL_}/storage/v1/object/exports/u/missing.json`, () =>
        HttpResponse.json({ statusCode: "404", code: "NoSuchKey", error: "not_found", message: "Object not found" }, { status: 400 }),
      ),
    );
    const error = await createObjectStorage(client())
      .download("exports", "u/missing.json")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ storageStatus: 404, status: 502 });
  });

  describe("copes with older Storage servers (docs/STORAGE.md)", () => {
    it("reads the real status from `statusCode` when the body has no `code` (before v1.67)", async () => {
      server.use(
        http.get(`${URL_}/storage/v1/object/exports/u/missing.json`, () =>
          HttpResponse.json({ statusCode: "404", error: "not_found", message: "Object not found" }, { status: 400 }),
        ),
      );
      const error = await createObjectStorage(client())
        .download("exports", "u/missing.json")
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ storageStatus: 404 });
    });

    it("never sends more than 1,000 names in one delete, whether or not the server has that limit (v1.60)", async () => {
      server.use(
        http.delete(`${URL_}/storage/v1/object/exports`, async ({ request }) => {
          await record(request);
          const { prefixes } = (await request.json()) as { prefixes: string[] };
          return HttpResponse.json(prefixes.map((name) => ({ name, bucket_id: "exports", owner: "", user_metadata: {} })));
        }),
      );
      const names = Array.from({ length: 2500 }, (_, i) => `u/${i}.json`);
      const removed = await createObjectStorage(client()).remove("exports", names);
      expect(seen.map((r) => (r.body as { prefixes: string[] }).prefixes.length)).toEqual([1000, 1000, 500]);
      expect(removed).toEqual(names);
    });

    it('takes the older bulk-delete answer (`owner: ""`, no `code`) and reports only the names it lists', async () => {
      server.use(
        http.delete(`${URL_}/storage/v1/object/exports`, () =>
          HttpResponse.json([{ name: "u/a.json", bucket_id: "exports", owner: "", user_metadata: {} }]),
        ),
      );
      expect(await createObjectStorage(client()).remove("exports", ["u/a.json", "u/gone.json"])).toEqual(["u/a.json"]);
    });
  });

  it("turns a 500 into a StorageError", async () => {
    server.use(
      http.delete(`${URL_}/storage/v1/object/exports`, () =>
        HttpResponse.json({ statusCode: "500", error: "internal", message: "boom" }, { status: 500 }),
      ),
    );
    const error = await createObjectStorage(client())
      .remove("exports", ["u/a.json"])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ storageStatus: 500 });
  });

  it("aborts a request that hangs past the timeout", async () => {
    let aborted: unknown;
    server.use(
      http.delete(`${URL_}/storage/v1/object/exports`, ({ request }) => {
        request.signal.addEventListener("abort", () => (aborted = request.signal.reason));
        return new Promise<never>(() => undefined); // never answers
      }),
    );
    const error = await createObjectStorage(createServiceClient(URL_, KEY, { timeoutMs: 200 }))
      .remove("exports", ["u/a.json"])
      .catch((e: unknown) => e);
    // the client's own timeout ended it (not the handler, which never answers) and gave the request up
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ cause: { originalError: { name: "TimeoutError" } } });
    expect(aborted).toMatchObject({ name: "AbortError" });
  });
});
