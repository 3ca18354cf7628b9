/**
 * The S3 archive in a bucket that keeps versions, against an S3-protocol server that keeps them
 * (scripts/local-stack/s3-versioned.ts; s3rver has no versions) through the AWS SDK, beside the local stack: what
 * the server does is checked first through the SDK, then erasure leaves no version holding the user's rows, finishes
 * after a crash that kept the old versions, and refuses an archive object deleted by name whose older versions hold
 * everyone's rows. This server checks each request's signature, so a wrong secret is refused as AWS refuses it.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../lib/errors";
import { archiveObject, decodeArchive } from "../lib/archive/log-archive";
import { eraseUser } from "../lib/erasure/user-erasure";
import { exportLogCleanup } from "../lib/jobs/export-log-cleanup";
import type { Env } from "../lib/env";
import { resetData, runJob, seedExports, stackDeps } from "./helpers/exports";
import { S3_KEY, s3Env, s3Ports, startS3, type S3Server } from "./helpers/s3";
import { closeSql, sql } from "./helpers/stack";

const BUCKET = "audit-archive";
const REF = `s3://${BUCKET}`;
const DAY = 24;
const [A, B] = ["0a000000-0000-4000-8000-00000000000a", "0b000000-0000-4000-8000-00000000000b"];

let s3: S3Server;
let client: S3Client;
const env = (overrides: Record<string, string> = {}): Env => s3Env(s3, { EXPORT_ARCHIVE_BUCKET: BUCKET, ...overrides });
const deps = (e: Env = env()) => stackDeps(e, s3Ports(e));

beforeAll(async () => {
  s3 = await startS3([BUCKET], { versions: true });
  client = new S3Client({
    region: "us-east-1",
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: S3_KEY.EXPORT_ARCHIVE_S3_ACCESS_KEY_ID, secretAccessKey: S3_KEY.EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY },
  });
  await client.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }));
});
afterAll(async () => {
  client?.destroy();
  await s3?.close();
  await closeSql();
});
beforeEach(async () => {
  await resetData();
  // every version and marker left by the test before
  const { Versions = [], DeleteMarkers = [] } = await client.send(new ListObjectVersionsCommand({ Bucket: BUCKET }));
  for (const v of [...Versions, ...DeleteMarkers])
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: v.Key, VersionId: v.VersionId }));
});

/** Every version of `key` (or of every key), newest first per key, as the server lists them. */
async function versionsOf(key?: string) {
  const out = await client.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: key }));
  return [
    ...(out.Versions ?? []).map((v) => ({ key: v.Key!, id: v.VersionId!, latest: v.IsLatest!, marker: false })),
    ...(out.DeleteMarkers ?? []).map((d) => ({ key: d.Key!, id: d.VersionId!, latest: d.IsLatest!, marker: true })),
  ].filter((v) => key === undefined || v.key === key);
}

const bytesOf = async (key: string, versionId?: string) =>
  (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, VersionId: versionId }))).Body!.transformToByteArray();

/** Every row in every version of every archive object: what the store still keeps, current or not. */
async function everyArchivedRow(): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const v of (await versionsOf()).filter((v) => !v.marker)) rows.push(...decodeArchive(await bytesOf(v.key, v.id)));
  return rows;
}

async function archiveHistory(): Promise<string[]> {
  for (let i = 0; i < 4; i += 1) {
    await seedExports({ count: 1, userId: A, status: "expired", ageHours: 40 * DAY + i });
    await seedExports({ count: 1, userId: B, status: "expired", ageHours: 40 * DAY + i });
  }
  const cleanup = await runJob(exportLogCleanup, { batch_size: "4", prune_metrics: "false" }, { env: env(), ports: s3Ports(env()) });
  expect(cleanup).toMatchObject({ archived_count: 8, archive_bucket_versioning: { status: "ENABLED" } });
  return [...new Set((await versionsOf()).map((v) => v.key))];
}

describe("the S3 server that keeps versions, through the AWS SDK", () => {
  it("keeps an overwritten object's bytes as a noncurrent version, and a delete by key adds a marker over them", async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "a.txt", Body: "one" }));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "a.txt", Body: "two" }));
    const [two, one] = await versionsOf("a.txt");
    expect([two!.latest, one!.latest]).toEqual([true, false]);
    expect(Buffer.from(await bytesOf("a.txt", one!.id)).toString()).toBe("one");

    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "a.txt" }));
    const after = await versionsOf("a.txt");
    expect(after.map((v) => [v.marker, v.latest])).toEqual([
      [false, false],
      [false, false],
      [true, true],
    ]);
    await expect(bytesOf("a.txt")).rejects.toMatchObject({ name: "NoSuchKey" });
    // a delete by version id is for good; the marker's removal brings the newest version back
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "a.txt", VersionId: after.find((v) => v.marker)!.id }));
    expect(Buffer.from(await bytesOf("a.txt")).toString()).toBe("two");
  });

  it("lists versions a page at a time, key by key, newest first", async () => {
    for (const body of ["1", "2", "3"]) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "p/x", Body: body }));
    const first = await client.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: "p/", MaxKeys: 2 }));
    expect(first.IsTruncated).toBe(true);
    const second = await client.send(
      new ListObjectVersionsCommand({
        Bucket: BUCKET,
        Prefix: "p/",
        KeyMarker: first.NextKeyMarker,
        VersionIdMarker: first.NextVersionIdMarker,
      }),
    );
    const bodies = [];
    for (const v of [...first.Versions!, ...second.Versions!]) bodies.push(Buffer.from(await bytesOf(v.Key!, v.VersionId)).toString());
    expect(bodies).toEqual(["3", "2", "1"]);
  });
});

describe("erasure on a versioned S3 archive", () => {
  it("leaves no version of any archive object holding the user's rows, and keeps everyone else's", async () => {
    await archiveHistory();
    expect((await everyArchivedRow()).filter((r) => r.user_id === A)).toHaveLength(4);

    const result = await eraseUser(deps(), { userId: A });

    expect(result).toMatchObject({
      archive_objects_rewritten: 2,
      archive_rows_removed: 4,
      archive_versions_removed: 2,
      errors: [],
      has_more: false,
    });
    const rows = await everyArchivedRow();
    expect(rows.filter((r) => r.user_id === A)).toEqual([]);
    expect(rows.filter((r) => r.user_id === B)).toHaveLength(4);
    // one version of each object is left: the rewrite, current
    expect((await versionsOf()).map((v) => [v.latest, v.marker])).toEqual([
      [true, false],
      [true, false],
    ]);
  });

  it("finishes after a crash that put the rewrite in place but kept the old versions", async () => {
    const keys = await archiveHistory();
    // what a run that died after replacing the objects leaves: each current version without A, the old ones with A
    for (const key of keys) {
      const kept = decodeArchive(await bytesOf(key)).filter((r) => r.user_id !== A);
      const archive = await archiveObject(kept.map((r) => JSON.stringify(r)).join("\n") + "\n");
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: archive.bytes }));
    }
    expect((await everyArchivedRow()).some((r) => r.user_id === A)).toBe(true);

    const rerun = await eraseUser(deps(), { userId: A });

    expect(rerun).toMatchObject({ archive_rows_removed: 0, archive_versions_removed: 2, errors: [], has_more: false });
    expect((await everyArchivedRow()).filter((r) => r.user_id === A)).toEqual([]);
  });

  it("refuses an archive object deleted by name while its older versions keep everyone's rows, then finishes once it is restored", async () => {
    const [key] = await archiveHistory();
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key })); // someone deleted it by name: a marker
    const before = await versionsOf(key);

    const refused = await eraseUser(deps(), { userId: A });

    expect(refused.has_more).toBe(true);
    expect(refused.errors.join("\n")).toContain(`archive ${key} still holds the user's rows`);
    expect(await versionsOf(key)).toEqual(before); // nothing deleted
    // restored (the marker removed), the erasure finishes
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key, VersionId: before.find((v) => v.marker)!.id }));
    expect(await eraseUser(deps(), { userId: A })).toMatchObject({ has_more: false, errors: [] });
    expect((await everyArchivedRow()).filter((r) => r.user_id === A)).toEqual([]);
    expect((await everyArchivedRow()).filter((r) => r.user_id === B)).toHaveLength(4);
  });
});

describe("a wrong secret", () => {
  it("is refused by the signature check: config_error naming the settings, nothing archived or deleted, no secret shown", async () => {
    await seedExports({ count: 50, status: "expired", ageHours: 40 * DAY });
    // the right key id, signed with the wrong secret: only a store that checks signatures refuses it
    const wrong = env({ EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY: "not-the-secret-0123456789" });

    const error = await runJob(exportLogCleanup, {}, { env: wrong, ports: s3Ports(wrong) }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConfigError);
    // the probe is a HEAD, whose 403 has no body to name the code (as on AWS)
    expect((error as Error).message).toContain("(head bucket: Unknown, 403)");
    expect((error as Error).message).toContain("EXPORT_ARCHIVE_S3_ACCESS_KEY_ID and EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY");
    expect(JSON.stringify(error)).not.toContain("not-the-secret");
    expect((await sql().query("select count(*)::int as n from export_logs")).rows[0].n).toBe(50);
    expect(await versionsOf()).toEqual([]);
    // a request with a body to answer names why
    const signedWrong = new S3Client({
      region: "us-east-1",
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: S3_KEY.EXPORT_ARCHIVE_S3_ACCESS_KEY_ID, secretAccessKey: "not-the-secret-0123456789" },
    });
    await expect(signedWrong.send(new ListObjectVersionsCommand({ Bucket: BUCKET }))).rejects.toMatchObject({
      name: "SignatureDoesNotMatch",
    });
    signedWrong.destroy();
  });
});
