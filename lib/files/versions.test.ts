import { describe, expect, it } from "vitest";
import type { ObjectStorage, ObjectVersion } from "../ports";
import { filesInBucket } from "./versions";

/** Storage holding `held` versions per name; records what was asked of it. */
function fakeStorage(held: Record<string, Omit<ObjectVersion, "path">[]>) {
  const calls = { removedNames: [] as string[][], listed: [] as string[], removedVersions: [] as { path: string; versionId: string }[] };
  const storage: ObjectStorage = {
    remove: async (_bucket, paths) => (calls.removedNames.push(paths), paths),
    list: async () => [],
    upload: async () => {},
    download: async () => new Uint8Array(),
    versioning: async () => ({ status: "ENABLED", noncurrent_expiry_days: null }),
    versions: async (_bucket, path) => (calls.listed.push(path), (held[path] ?? []).map((v) => ({ path, ...v }))),
    removeVersions: async (_bucket, versions) => (calls.removedVersions.push(...versions), versions.length),
  };
  return { storage, calls };
}

const current = { versionId: "c", current: true, deleteMarker: false };
const old = { versionId: "o", current: false, deleteMarker: false };
const marker = { versionId: "m", current: true, deleteMarker: true };

describe("filesInBucket", () => {
  it("deletes by name in a bucket that keeps no versions", async () => {
    const { storage, calls } = fakeStorage({});
    const files = filesInBucket(storage, { bucket: "b", versioning: { status: "DISABLED", noncurrent_expiry_days: null } });
    expect(await files.remove(["u/a.json"])).toEqual(["u/a.json"]);
    expect(await files.removeOldVersions("u/a.json")).toBe(0);
    expect(calls).toEqual({ removedNames: [["u/a.json"]], listed: [], removedVersions: [] });
  });

  it.each(["ENABLED", "SUSPENDED"] as const)("deletes every version of each name given, and only those, when %s", async (status) => {
    const { storage, calls } = fakeStorage({ "u/a.json": [current, old], "u/b.json": [marker, old], "u/host.png": [current] });
    const files = filesInBucket(storage, { bucket: "b", versioning: { status, noncurrent_expiry_days: 30 } });
    // names that had a file: a current version holding bytes (b was already deleted by name)
    expect(await files.remove(["u/a.json", "u/b.json", "u/a.json", "u/none.json"])).toEqual(["u/a.json"]);
    expect(calls.removedNames).toEqual([]);
    expect(calls.listed.sort()).toEqual(["u/a.json", "u/b.json", "u/none.json"]);
    expect(calls.removedVersions).toEqual([
      { path: "u/a.json", versionId: "c", current: true, deleteMarker: false },
      { path: "u/a.json", versionId: "o", current: false, deleteMarker: false },
      { path: "u/b.json", versionId: "m", current: true, deleteMarker: true },
      { path: "u/b.json", versionId: "o", current: false, deleteMarker: false },
    ]);
  });

  it("keeps the current version when it deletes the old ones", async () => {
    const { storage, calls } = fakeStorage({ "logs/a.jsonl.gz": [current, old, { ...old, versionId: "o2" }] });
    const files = filesInBucket(storage, { bucket: "b", versioning: { status: "ENABLED", noncurrent_expiry_days: null } });
    expect(await files.removeOldVersions("logs/a.jsonl.gz")).toBe(2);
    expect(calls.removedVersions.map((v) => v.versionId)).toEqual(["o", "o2"]);
  });
});
