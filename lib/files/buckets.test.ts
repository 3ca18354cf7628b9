import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors";
import { assertBucketsUsable, orphanSweepState, readBuckets } from "./buckets";
import type { SqlApi } from "../ports";

/** A database that knows these buckets (anything else does not exist). */
function dbWith(buckets: Record<string, { exists: boolean; public: boolean; created_by_export_ops: boolean }>): SqlApi {
  return {
    async call<T>(fn: string, args: Record<string, unknown> = {}): Promise<T> {
      if (fn !== "export_ops_bucket_states") throw new Error(`unexpected ${fn}`);
      const wanted = args.p_buckets as string[];
      return {
        installed_at: "2026-01-01T00:00:00Z",
        buckets: Object.fromEntries(wanted.filter((b) => b in buckets).map((b) => [b, buckets[b]])),
      } as T;
    },
  };
}

const privateOurs = { exists: true, public: false, created_by_export_ops: true };
const privateHosts = { exists: true, public: false, created_by_export_ops: false };

const unversioned = { versioning: async () => ({ status: "DISABLED" as const, noncurrent_expiry_days: null }) };

describe("the buckets the jobs use", () => {
  it("asks for the archive bucket only when archival is on", async () => {
    const db = dbWith({ exports: privateOurs, "export-archive": privateOurs });
    expect((await readBuckets(db, { EXPORTS_BUCKET: "exports", EXPORT_ARCHIVE_BUCKET: undefined })).map((b) => b.purpose)).toEqual([
      "exports",
    ]);
    expect((await readBuckets(db, { EXPORTS_BUCKET: "exports", EXPORT_ARCHIVE_BUCKET: "export-archive" })).map((b) => b.purpose)).toEqual([
      "exports",
      "archive",
    ]);
  });

  it("refuses a public bucket and a missing one in one error naming each and its setting, and only for the purposes asked", async () => {
    const db = dbWith({ shared: { exists: true, public: true, created_by_export_ops: false } });
    const env = { EXPORTS_BUCKET: "shared", EXPORT_ARCHIVE_BUCKET: "gone" };
    const error = await assertBucketsUsable(db, unversioned, env, ["exports", "archive"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      "Refused: bucket shared is public, so every file in it is world-readable: export-ops neither deletes from nor writes to it until it is " +
        "private (Storage > shared > Edit bucket > Public off), or EXPORTS_BUCKET names a private bucket; " +
        "bucket gone does not exist: create it (private), or set EXPORT_ARCHIVE_BUCKET to the bucket you use",
    );
    await expect(assertBucketsUsable(dbWith({ shared: privateHosts }), unversioned, env, ["exports"])).resolves.toHaveLength(1);
  });
});

describe("the orphan sweep", () => {
  it("runs by itself only in a bucket export-ops created, unless the setting says on or off", () => {
    expect(orphanSweepState("auto", { bucket: "exports", created_by_export_ops: true })).toEqual({
      enabled: true,
      reason: "bucket exports was created by export-ops",
    });
    expect(orphanSweepState("auto", { bucket: "exports", created_by_export_ops: false })).toMatchObject({
      enabled: false,
      reason: expect.stringContaining("set EXPORT_ORPHAN_SWEEP=on"),
    });
    expect(orphanSweepState("on", { bucket: "exports", created_by_export_ops: false })).toEqual({
      enabled: true,
      reason: "EXPORT_ORPHAN_SWEEP=on",
    });
    expect(orphanSweepState("off", { bucket: "exports", created_by_export_ops: true })).toEqual({
      enabled: false,
      reason: "EXPORT_ORPHAN_SWEEP=off",
    });
  });
});
