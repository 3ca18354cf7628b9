/** Request shapes of the versioning half of the ObjectStorage adapter (storage-js 2.119's API), against msw. */
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StorageError } from "../errors";
import { createServiceClient } from "./client";
import { createObjectStorage } from "./object-storage";

const URL_ = "http://supabase.test";
const server = setupServer();
const bodies: unknown[] = [];

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterEach(() => {
  server.resetHandlers();
  bodies.length = 0;
});
afterAll(() => server.close());

const storage = () => createObjectStorage(createServiceClient(URL_, "service-role-key-for-msw-tests"));
const bucketAnswer = (extra: Record<string, unknown>) => ({
  id: "exports",
  name: "exports",
  public: false,
  created_at: "t",
  updated_at: "t",
  owner: "",
  ...extra,
});

describe("versioning", () => {
  it("reads DISABLED from a server that does not send versioning_status, and asks nothing more", async () => {
    server.use(http.get(`${URL_}/storage/v1/bucket/exports`, () => HttpResponse.json(bucketAnswer({}))));
    expect(await storage().versioning("exports")).toEqual({ status: "DISABLED", noncurrent_expiry_days: null });
  });

  it("reads the soonest enabled noncurrent-version expiry of a versioned bucket", async () => {
    server.use(
      http.get(`${URL_}/storage/v1/bucket/exports`, () => HttpResponse.json(bucketAnswer({ versioning_status: "ENABLED" }))),
      http.get(`${URL_}/storage/v1/bucket/exports/lifecycle`, () =>
        HttpResponse.json({
          rules: [
            { id: "a", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 30 } },
            { id: "b", status: "Disabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 1 } },
            { id: "c", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 7 } },
          ],
        }),
      ),
    );
    expect(await storage().versioning("exports")).toEqual({ status: "ENABLED", noncurrent_expiry_days: 7 });
  });

  it("reads no expiry when the bucket has no lifecycle configuration", async () => {
    server.use(
      http.get(`${URL_}/storage/v1/bucket/exports`, () => HttpResponse.json(bucketAnswer({ versioning_status: "SUSPENDED" }))),
      http.get(`${URL_}/storage/v1/bucket/exports/lifecycle`, () =>
        HttpResponse.json(
          { statusCode: "404", code: "NoSuchLifecycleConfiguration", error: "NoSuchLifecycleConfiguration", message: "none" },
          { status: 400 },
        ),
      ),
    );
    expect(await storage().versioning("exports")).toEqual({ status: "SUSPENDED", noncurrent_expiry_days: null });
  });
});

describe("versions", () => {
  it("lists one exact name with noncurrent versions and delete markers, current first", async () => {
    server.use(
      http.post(`${URL_}/storage/v1/object/list/exports`, async ({ request }) => {
        bodies.push(await request.json());
        return HttpResponse.json([
          { name: "a.json", id: "1", version: "v2", archived_at: null, is_delete_marker: true },
          { name: "a.json", id: "2", version: "v1", archived_at: "2026-12-01T00:00:00Z", is_delete_marker: false },
        ]);
      }),
    );
    expect(await storage().versions("exports", "u/a.json")).toEqual([
      { path: "u/a.json", versionId: "v2", current: true, deleteMarker: true },
      { path: "u/a.json", versionId: "v1", current: false, deleteMarker: false },
    ]);
    expect(bodies[0]).toMatchObject({ prefix: "u/a.json", exactMatch: true, noncurrentVersions: "include", deleteMarkers: "include" });
  });

  it("refuses, naming the bucket and the file, when Storage lists a version without its id", async () => {
    server.use(http.post(`${URL_}/storage/v1/object/list/exports`, () => HttpResponse.json([{ name: "a.json", id: "1" }])));
    const error = await storage()
      .versions("exports", "u/a.json")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(
      /bucket exports keeps versions, but Storage listed u\/a\.json without its version id.*nothing was deleted/,
    );
  });
});

describe("removeVersions", () => {
  it("deletes exact { path, versionId } entries, 1,000 per request", async () => {
    server.use(
      http.delete(`${URL_}/storage/v1/object/exports`, async ({ request }) => {
        const body = (await request.json()) as { prefixes: unknown[] };
        bodies.push(body);
        return HttpResponse.json(body.prefixes.map((_, i) => ({ name: `n${i}` })));
      }),
    );
    const versions = Array.from({ length: 1001 }, (_, i) => ({ path: "u/a.json", versionId: `v${i}` }));
    expect(await storage().removeVersions("exports", versions)).toBe(1001);
    expect(bodies.map((b) => (b as { prefixes: unknown[] }).prefixes.length)).toEqual([1000, 1]);
    expect((bodies[1] as { prefixes: unknown[] }).prefixes).toEqual([{ path: "u/a.json", versionId: "v1000" }]);
  });
});
