/**
 * Contract tests: the Storage stand-in answers like Supabase Storage v1.70 (the version it models; see
 * docs/STORAGE.md for what older servers do differently): status codes, error bodies with `code`, exact-name
 * deletes, the 1000-name limit, bucket limits (size, MIME types, the global upload limit), metadata in
 * storage.objects. Run them against a real project (TEST_SUPABASE_* env) to check the stand-in has not drifted.
 */
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { closeSql, serviceHeaders, sql, stack } from "./helpers/stack";

const bucket = "exports";
const base = `${stack.SUPABASE_URL}/storage/v1`;
const user = randomUUID();

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const isRaw = typeof body === "string";
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...serviceHeaders, "content-type": isRaw ? "text/plain" : "application/json", ...headers },
    body: body === undefined ? undefined : isRaw ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json: json as any };
}

afterAll(async () => {
  const limited = `limits-${user.slice(0, 8)}`;
  for (const b of [bucket, limited]) {
    const { rows } = await sql().query<{ name: string }>("select name from storage.objects where bucket_id = $1 and name like $2", [
      b,
      `${user}/%`,
    ]);
    if (rows.length) await call("DELETE", `/object/${b}`, { prefixes: rows.map((r) => r.name) });
  }
  // an empty bucket, removed the way supabase/uninstall.sql does
  await sql().query(
    "begin; select set_config('storage.allow_delete_query', 'true', true); delete from storage.buckets where id = '" +
      limited +
      "'; commit;",
  );
  await closeSql();
});

describe("upload", () => {
  it("answers 200 {Id, Key} and records metadata in storage.objects", async () => {
    const res = await call("POST", `/object/${bucket}/${user}/a.json`, '{"x":1}', { "content-type": "application/json" });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ Id: expect.any(String), Key: `${bucket}/${user}/a.json` });
    const { rows } = await sql().query(
      "select id, metadata, owner, owner_id, user_metadata from storage.objects where bucket_id = $1 and name = $2",
      [bucket, `${user}/a.json`],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].id).toBe(res.json.Id);
    expect(rows[0].metadata).toMatchObject({ size: 7, mimetype: "application/json", contentLength: 7, httpStatusCode: 200 });
    // the service key has no user: no owner; and no user metadata sent is stored as {} (Storage spreads it into an object)
    const { owner, owner_id, user_metadata } = rows[0];
    expect({ owner, owner_id, user_metadata }).toEqual({ owner: null, owner_id: null, user_metadata: {} });
  });

  it("refuses a duplicate with HTTP 400 and statusCode 409 KeyAlreadyExists", async () => {
    await call("POST", `/object/${bucket}/${user}/dup.json`, "one");
    const res = await call("POST", `/object/${bucket}/${user}/dup.json`, "two");
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ statusCode: "409", code: "KeyAlreadyExists", error: "Duplicate", message: "The resource already exists" });
  });

  it("overwrites with x-upsert: true", async () => {
    await call("POST", `/object/${bucket}/${user}/up.txt`, "one");
    const res = await call("POST", `/object/${bucket}/${user}/up.txt`, "two!", { "x-upsert": "true" });
    expect(res.status).toBe(200);
    expect((await call("GET", `/object/${bucket}/${user}/up.txt`)).text).toBe("two!");
  });
});

describe("download", () => {
  it("returns the bytes", async () => {
    await call("POST", `/object/${bucket}/${user}/d.csv`, "a,b\n1,2\n");
    const res = await call("GET", `/object/${bucket}/${user}/d.csv`);
    expect(res.status).toBe(200);
    expect(res.text).toBe("a,b\n1,2\n");
  });

  it("answers a missing object with HTTP 400 and statusCode 404 NoSuchKey", async () => {
    const res = await call("GET", `/object/${bucket}/${user}/missing.json`);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ statusCode: "404", code: "NoSuchKey", error: "not_found", message: "Object not found" });
  });

  it("answers a bucket that does not exist with HTTP 400 and statusCode 404 NoSuchBucket", async () => {
    const res = await call("GET", `/object/no-such-bucket-${user.slice(0, 8)}/${user}/a.json`);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ statusCode: "404", code: "NoSuchBucket" });
  });
});

describe("bulk delete", () => {
  it("deletes by exact name, never by prefix, and leaves out names that do not exist", async () => {
    await call("POST", `/object/${bucket}/${user}/keep/inner.json`, "k");
    await call("POST", `/object/${bucket}/${user}/gone.json`, "g");
    const res = await call("DELETE", `/object/${bucket}`, { prefixes: [`${user}/keep`, `${user}/gone.json`, `${user}/never.json`] });
    expect(res.status).toBe(200);
    expect(res.json.map((o: { name: string }) => o.name)).toEqual([`${user}/gone.json`]);
    expect(Object.keys(res.json[0]).sort()).toEqual(
      [
        "bucket_id",
        "created_at",
        "id",
        "last_accessed_at",
        "metadata",
        "name",
        "owner",
        "owner_id",
        "updated_at",
        "user_metadata",
        "version",
      ].sort(),
    );
    // uploaded with the service key: no owner, which Storage's answer schema (owner and owner_id: string) sends as ""
    const { owner, owner_id, user_metadata } = res.json[0];
    expect({ owner, owner_id, user_metadata }).toEqual({ owner: "", owner_id: "", user_metadata: {} });
    expect((await call("GET", `/object/${bucket}/${user}/keep/inner.json`)).status).toBe(200);
    expect((await call("GET", `/object/${bucket}/${user}/gone.json`)).json.statusCode).toBe("404");
  });

  it('answers an object recorded without the API as it is stored: no version is "", no user metadata is null', async () => {
    const name = `${user}/recorded.json`;
    await sql().query("insert into storage.objects (bucket_id, name, metadata) values ($1, $2, '{\"size\": 0}')", [bucket, name]);
    const res = await call("DELETE", `/object/${bucket}`, { prefixes: [name] });
    expect(res.status).toBe(200);
    expect(res.json).toHaveLength(1);
    const { owner, owner_id, version, user_metadata } = res.json[0];
    expect({ owner, owner_id, version, user_metadata }).toEqual({ owner: "", owner_id: "", version: "", user_metadata: null });
  });

  it("answers 200 [] for an unknown bucket", async () => {
    const res = await call("DELETE", `/object/no-such-bucket-${user.slice(0, 8)}`, { prefixes: ["a.json"] });
    expect(res).toMatchObject({ status: 200, json: [] });
  });

  // the hosted platform's setting (REQUEST_HARD_LIMITS_ENABLED=true); a self-hosted server with the default (false)
  // accepts any count, and export-ops never sends more than 1,000 either way
  it("refuses more than 1000 names in one request when hard limits are on, deleting none", async () => {
    await call("POST", `/object/${bucket}/${user}/limit.json`, "l");
    const prefixes = [`${user}/limit.json`, ...Array.from({ length: 1000 }, (_, i) => `${user}/x${i}.json`)];
    const res = await call("DELETE", `/object/${bucket}`, { prefixes });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "InvalidRequest", message: "Bulk object requests are limited to 1000 objects per request." });
    expect((await call("GET", `/object/${bucket}/${user}/limit.json`)).status).toBe(200);
  });

  it("accepts exactly 1000 names", async () => {
    const res = await call("DELETE", `/object/${bucket}`, { prefixes: Array.from({ length: 1000 }, (_, i) => `${user}/y${i}.json`) });
    expect(res).toMatchObject({ status: 200, json: [] });
  });
});

describe("list", () => {
  it("lists one level, with sub-folders as entries whose id and metadata are null", async () => {
    await call("POST", `/object/${bucket}/${user}/list/b.json`, "b");
    await call("POST", `/object/${bucket}/${user}/list/a.json`, "a");
    await call("POST", `/object/${bucket}/${user}/list/sub/c.json`, "c");
    const res = await call("POST", `/object/list/${bucket}`, {
      prefix: `${user}/list`,
      limit: 100,
      offset: 0,
      sortBy: { column: "name", order: "asc" },
    });
    expect(res.status).toBe(200);
    expect(res.json.map((e: { name: string }) => e.name).sort()).toEqual(["a.json", "b.json", "sub"]);
    const folder = res.json.find((e: { name: string }) => e.name === "sub");
    expect(folder).toMatchObject({ id: null, metadata: null });
    const file = res.json.find((e: { name: string }) => e.name === "a.json");
    expect(file).toMatchObject({ id: expect.any(String), metadata: expect.objectContaining({ size: 1 }) });
  });

  it("pages with limit and offset", async () => {
    const page = (offset: number) =>
      call("POST", `/object/list/${bucket}`, { prefix: `${user}/list`, limit: 2, offset, sortBy: { column: "name", order: "asc" } });
    const [first, second] = [await page(0), await page(2)];
    expect(first.json).toHaveLength(2);
    expect(second.json).toHaveLength(1);
  });
});

describe("bucket limits", () => {
  const limited = `limits-${user.slice(0, 8)}`;
  const upload = (name: string, body: string | Uint8Array<ArrayBuffer>, contentType: string) =>
    fetch(`${base}/object/${limited}/${user}/${name}`, {
      method: "POST",
      headers: { ...serviceHeaders, "content-type": contentType },
      body,
    });
  const before = async () => {
    await sql().query(
      "insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types) values ($1, $1, false, 16, '{application/json,image/*}') on conflict (id) do nothing",
      [limited],
    );
  };

  it("accepts an upload within the bucket's size and MIME types, wildcards included", async () => {
    await before();
    expect((await upload("ok.json", '{"a":1}', "application/json")).status).toBe(200);
    expect((await upload("ok.png", new Uint8Array([137, 80, 78, 71]), "image/png")).status).toBe(200);
  });

  it("refuses an upload over the bucket's file_size_limit: HTTP 400, statusCode 413", async () => {
    await before();
    const res = await upload("big.json", JSON.stringify({ a: "x".repeat(40) }), "application/json");
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      statusCode: "413",
      error: "Payload too large",
      message: "The object exceeded the maximum allowed size",
    });
  });

  it("refuses a MIME type outside allowed_mime_types: HTTP 400, statusCode 415, invalid_mime_type", async () => {
    await before();
    const res = await upload("note.txt", "hi", "text/plain");
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      statusCode: "415",
      error: "invalid_mime_type",
      message: "mime type text/plain is not supported",
    });
  });

  it("refuses an upload over the global limit (50 MB) in a bucket with no limit of its own", async () => {
    const res = await fetch(`${base}/object/${bucket}/${user}/huge.json`, {
      method: "POST",
      headers: { ...serviceHeaders, "content-type": "application/json" },
      body: new Uint8Array(50 * 1024 * 1024 + 1),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ statusCode: "413" });
  });

  it("is how the migrations create the archive bucket: gzip only, 50 MB", async () => {
    const { rows } = await sql().query(
      "select file_size_limit::int as size, allowed_mime_types as mime from storage.buckets where id = 'export-archive'",
    );
    expect(rows).toEqual([{ size: 52428800, mime: ["application/gzip"] }]);
  });
});

describe("storage.objects", () => {
  it("refuses deletes by SQL with 42501", async () => {
    await expect(
      sql().query("delete from storage.objects where bucket_id = $1 and name like $2", [bucket, `${user}/%`]),
    ).rejects.toMatchObject({
      code: "42501",
      message: "Direct deletion from storage tables is not allowed. Use the Storage API instead.",
    });
  });
});
