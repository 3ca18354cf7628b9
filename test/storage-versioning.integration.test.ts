/**
 * Contract tests for object versioning, through supabase-js's storage-js 2.119 (the calls export-ops makes):
 * the stand-in answers as Storage's versioning model says (its migration 0062-object-versioning-core.sql and
 * storage-js's types). A delete by name in a versioned bucket keeps the bytes as a noncurrent version behind a
 * delete marker; only a delete of an exact `{ path, versionId }` removes them. Lifecycle rules expire only
 * noncurrent versions, for the whole bucket (filter `{}`).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeSql, sql } from "./helpers/stack";
import { createVersionedBucket, dropBucket, storageClient, versionsOf } from "./helpers/versioned-buckets";

const tag = randomUUID().slice(0, 8);
const versioned = `versioned-${tag}`;
const plain = `plain-${tag}`;
const storage = storageClient();
const text = async (blob: Blob | null) => (blob ? await blob.text() : null);

beforeAll(async () => {
  await createVersionedBucket(versioned);
  await sql().query("insert into storage.buckets (id, name, public) values ($1, $1, false)", [plain]);
});

afterAll(async () => {
  await dropBucket(versioned);
  await dropBucket(plain);
  await closeSql();
});

describe("a bucket's versioning status", () => {
  it("is DISABLED for a bucket that never had it, and ENABLED once turned on", async () => {
    expect((await storage.getBucket(plain)).data).toMatchObject({ id: plain, versioning_status: "DISABLED" });
    expect((await storage.getBucket(versioned)).data).toMatchObject({ id: versioned, versioning_status: "ENABLED" });
  });

  it("never goes back to DISABLED", async () => {
    const { error } = await storage.updateBucket(versioned, { public: false, versioningStatus: "DISABLED" as never });
    expect(error?.message).toMatch(/DISABLED/);
    expect((await storage.getBucket(versioned)).data?.versioning_status).toBe("ENABLED");
  });

  it("answers NoSuchBucket for a bucket that does not exist", async () => {
    const { error } = await storage.getBucket(`missing-${tag}`);
    expect(error).toMatchObject({ statusCode: "404" });
  });
});

describe("objects in a versioned bucket", () => {
  it("keeps an overwritten file as a noncurrent version, listed and downloadable by its version", async () => {
    const name = `${tag}/overwritten.txt`;
    await storage.from(versioned).upload(name, "first", { contentType: "text/plain" });
    await storage.from(versioned).upload(name, "second", { contentType: "text/plain", upsert: true });
    const { data } = await storage
      .from(versioned)
      .list(name, { exactMatch: true, noncurrentVersions: "include", deleteMarkers: "include" });
    expect(data?.map((o) => ({ current: o.archived_at === null, marker: o.is_delete_marker }))).toEqual([
      { current: true, marker: false },
      { current: false, marker: false },
    ]);
    expect(await text((await storage.from(versioned).download(name)).data)).toBe("second");
    expect(await text((await storage.from(versioned).download(name, { versionId: data![1]!.version! } as never)).data)).toBe("first");
  });

  it("refuses an upload over a current file without upsert, as an unversioned bucket does", async () => {
    const name = `${tag}/taken.txt`;
    await storage.from(versioned).upload(name, "a", { contentType: "text/plain" });
    const { error } = await storage.from(versioned).upload(name, "b", { contentType: "text/plain" });
    expect(error).toMatchObject({ statusCode: "409" });
  });

  it("answers a delete by name with the file, but only adds a delete marker: the bytes stay as a noncurrent version", async () => {
    const name = `${tag}/deleted.txt`;
    await storage.from(versioned).upload(name, "kept bytes", { contentType: "text/plain" });
    const { data: removed } = await storage.from(versioned).remove([name]);
    expect(removed?.map((o) => o.name)).toEqual([name]);
    expect((await storage.from(versioned).download(name)).error).toMatchObject({ status: 400 });
    expect(await versionsOf(versioned, name)).toEqual([
      { version: expect.any(String), current: true, delete_marker: true, size: null },
      { version: expect.any(String), current: false, delete_marker: false, size: 10 },
    ]);
    // a default listing shows neither the marker nor the old version; asking for them shows both
    expect((await storage.from(versioned).list(name, { exactMatch: true })).data).toEqual([]);
    const all = (await storage.from(versioned).list(name, { exactMatch: true, noncurrentVersions: "include", deleteMarkers: "include" }))
      .data;
    expect(all).toHaveLength(2);
    // a second delete by name finds no current file
    expect((await storage.from(versioned).remove([name])).data).toEqual([]);
  });

  it("removes bytes only for an exact { path, versionId }, answering the versions that held bytes", async () => {
    const name = `${tag}/purged.txt`;
    await storage.from(versioned).upload(name, "v1", { contentType: "text/plain" });
    await storage.from(versioned).upload(name, "v2", { contentType: "text/plain", upsert: true });
    await storage.from(versioned).remove([name]);
    const versions = await versionsOf(versioned, name);
    expect(versions).toHaveLength(3);
    const { data } = await storage.from(versioned).remove(versions.map((v) => ({ path: name, versionId: v.version })));
    expect(data).toHaveLength(2);
    expect(await versionsOf(versioned, name)).toEqual([]);
  });

  it("in a SUSPENDED bucket, keeps the versions it has and adds a delete marker on delete", async () => {
    const suspended = `suspended-${tag}`;
    await createVersionedBucket(suspended);
    const name = `${tag}/old.txt`;
    await storage.from(suspended).upload(name, "made while enabled", { contentType: "text/plain" });
    await storage.updateBucket(suspended, { public: false, versioningStatus: "SUSPENDED" });
    await storage.from(suspended).remove([name]);
    expect((await versionsOf(suspended, name)).map((v) => v.delete_marker)).toEqual([true, false]);
    await dropBucket(suspended);
  });
});

describe("a bucket's lifecycle configuration", () => {
  it("answers NoSuchLifecycleConfiguration while none is set", async () => {
    const { error } = await storage.getBucketLifecycle(versioned);
    expect(error).toMatchObject({ statusCode: "404" });
    expect(error?.message).toMatch(/lifecycle configuration does not exist/);
  });

  it("stores rules that expire noncurrent versions, and refuses a prefix filter or a current-object expiry", async () => {
    const rule = { status: "Enabled" as const, filter: {}, noncurrentVersionExpiration: { noncurrentDays: 1 } };
    expect(
      (await storage.updateBucketLifecycle(versioned, { rules: [{ ...rule, filter: { prefix: "exports/" } as never }] })).error?.message,
    ).toMatch(/filter must be \{\}/);
    expect(
      (await storage.updateBucketLifecycle(versioned, { rules: [{ ...rule, expiration: { days: 1 } } as never] })).error?.message,
    ).toMatch(/only noncurrentVersionExpiration/);
    expect((await storage.updateBucketLifecycle(versioned, { rules: [rule] })).error).toBeNull();
    expect((await storage.getBucketLifecycle(versioned)).data).toEqual({ rules: [{ id: "rule-1", ...rule }] });
    await storage.deleteBucketLifecycle(versioned);
  });
});
