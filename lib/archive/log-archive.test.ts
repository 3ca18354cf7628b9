/** Archive before delete with in-memory fakes: a read-back that does not match keeps every row of the batch. */
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { captureLogger, fixedClock, manualTime } from "../../test/doubles";
import { createPacer } from "../batches/pacing";
import type { ObjectStorage, SqlApi } from "../ports";
import { ARCHIVE_IN_FLIGHT, archiveObject, archiveText, deleteLogsInBatches, verifyArchive } from "./log-archive";

const encodeArchive = (r: Record<string, unknown>[]) => gzipSync(archiveText(r));

const rows = [
  { export_id: "e1", user_id: "u1", status: "expired", created_at: "2026-01-01T00:00:00Z" },
  { export_id: "e2", user_id: "u2", status: "failed", created_at: "2026-01-02T00:00:00Z" },
];

describe("archiveObject", () => {
  it("compresses the text as it arrives in pieces, and counts its rows and takes its digest on the way", async () => {
    const text = archiveText(rows);
    const pieces = new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = new TextEncoder().encode(text);
          for (let i = 0; i < bytes.length; i += 7) controller.enqueue(bytes.subarray(i, i + 7));
          controller.close();
        },
      }),
    ).body!;
    const streamed = await archiveObject(pieces);
    expect(gunzipSync(streamed.bytes).toString("utf8")).toBe(text);
    expect(streamed).toEqual({ ...(await archiveObject(text)), bytes: streamed.bytes });
    expect(streamed.rows).toBe(2);
    expect(streamed.digest).toBe(createHash("sha256").update(text).digest("hex"));
  });
});

describe("verifyArchive", () => {
  it("accepts exactly the rows, and refuses a missing, extra or altered row", async () => {
    const written = await archiveObject(archiveText(rows));
    expect(() => verifyArchive(Uint8Array.from(written.bytes), written)).not.toThrow();
    expect(() => verifyArchive(encodeArchive([rows[0]!]), written)).toThrow("archive holds 1 rows, expected 2");
    expect(() => verifyArchive(encodeArchive([...rows, rows[0]!]), written)).toThrow("archive holds 3 rows, expected 2");
    const differs = "archive holds 2 rows, but not the rows written (its text differs)";
    expect(() => verifyArchive(encodeArchive([rows[0]!, { ...rows[1]!, status: "expired" }]), written)).toThrow(differs);
    expect(() => verifyArchive(encodeArchive([rows[1]!, rows[0]!]), written)).toThrow(differs);
    expect(() => verifyArchive(Buffer.from("not gzip"), written)).toThrow();
  });

  it("accepts the same text compressed differently (a server that re-encodes), checking it by rows and digest", async () => {
    const written = await archiveObject(archiveText(rows));
    const reencoded = gzipSync(archiveText(rows), { level: 9 });
    expect(reencoded.equals(written.bytes)).toBe(false);
    expect(() => verifyArchive(reencoded, written)).not.toThrow();
  });
});

describe("deleteLogsInBatches with archival", () => {
  /** A database that hands out the given batches in turn (then none), and records every call. */
  function batches(...names: string[]) {
    const calls: string[] = [];
    const db = {
      async call(fn: string, args: { p_batch?: string }) {
        calls.push(args.p_batch ? `${fn} ${args.p_batch}` : fn);
        if (fn === "export_ops_claim_log_batch") {
          const batch = names.shift() ?? null;
          return {
            batch,
            object: batch && `${batch}.jsonl.gz`,
            count: batch ? 2 : 0,
            last_created_at: rows[1]!.created_at,
            reclaimed: false,
          };
        }
        if (fn === "export_ops_archive_batch_text") return new Response(archiveText(rows)).body;
        if (fn === "export_ops_delete_archived_logs") return 2;
        return null;
      },
    } as unknown as SqlApi;
    return { db, calls };
  }
  // 4 batches in flight, the most the option takes: the claims ahead are what these tests follow
  const run = (db: SqlApi, storage: ObjectStorage) =>
    deleteLogsInBatches(
      { db, storage, clock: fixedClock("2026-03-01T03:00:00Z"), logger: captureLogger().logger, deadline: Number.POSITIVE_INFINITY },
      { cutoff: new Date("2026-02-01T00:00:00Z") },
      { archiveBucket: "export-archive", inFlight: ARCHIVE_IN_FLIGHT },
    );
  const stored = new Map<string, Uint8Array>();
  const storage: ObjectStorage = {
    remove: async () => [],
    versioning: async () => ({ status: "DISABLED", noncurrent_expiry_days: null }),
    versions: async () => [],
    removeVersions: async () => 0,
    list: async () => [],
    upload: async (_b, name, body) => void stored.set(name, typeof body === "string" ? new TextEncoder().encode(body) : body),
    // Storage hands back a different object than the one written
    download: async () => encodeArchive([rows[0]!]),
  };

  it("deletes nothing, releases the batch and stops when the object read back does not match", async () => {
    const { db, calls } = batches("logs/b1");
    const result = await run(db, storage);
    expect(result).toMatchObject({ deleted: 0, archived: 0, finished: false });
    expect(result.errors[0]).toMatch(
      /^archive logs\/b1\.jsonl\.gz not written or not verified, its 2 logs were kept: archive holds 1 rows, expected 2/,
    );
    expect(calls).toEqual([
      "export_ops_claim_log_batch",
      "export_ops_archive_batch_text logs/b1",
      "export_ops_claim_log_batch",
      "export_ops_release_log_batch logs/b1",
    ]);
    expect(stored.has("logs/b1.jsonl.gz")).toBe(true);
  });

  it("claims no more once the load governor stops the run, and writes and deletes the batches it holds", async () => {
    const { db, calls } = batches("logs/b1", "logs/b2", "logs/b3", "logs/b4", "logs/b5");
    const kept = new Map<string, Uint8Array>();
    const checked: ObjectStorage = {
      ...storage,
      upload: async (_b, name, body) => void kept.set(name, body as Uint8Array),
      download: async (_b, name) => kept.get(name)!,
    };
    const time = manualTime();
    const deps = { db, storage: checked, clock: fixedClock("2026-03-01T03:00:00Z"), logger: captureLogger().logger, deadline: Infinity };
    // every claim five times as slow as unloaded: the third in a row stops the run
    const signal = { judge: ({ kind }: { kind: string }) => (kind === "log claim" ? 5 : undefined) };
    const pacer = createPacer({ ratio: 0, load: { yield: true, slowFactor: 10, stopFactor: 3 } }, deps, { time, signal });
    const result = await deleteLogsInBatches(
      deps,
      { cutoff: new Date("2026-02-01T00:00:00Z") },
      { archiveBucket: "export-archive", pacer },
    );
    expect(result).toMatchObject({ deleted: 6, archived: 6, finished: false, errors: [] });
    expect(result.archiveObjects).toEqual(["logs/b1.jsonl.gz", "logs/b2.jsonl.gz", "logs/b3.jsonl.gz"]);
    expect(pacer.stoppedForLoad()).toMatch(/^3 log claim batches in a row/);
    // b4 and b5 were never claimed: nothing to release, nothing lost
    expect(calls.filter((c) => c.startsWith("export_ops_claim_log_batch"))).toHaveLength(3);
    expect(calls.some((c) => c.startsWith("export_ops_release_log_batch"))).toBe(false);
  });

  it("releases the batches claimed ahead too, unwritten", async () => {
    const { db, calls } = batches("logs/b1", "logs/b2", "logs/b3");
    const result = await run(db, storage);
    expect(result).toMatchObject({ deleted: 0, finished: false });
    expect(calls.filter((c) => c.startsWith("export_ops_release_log_batch"))).toEqual([
      "export_ops_release_log_batch logs/b1",
      "export_ops_release_log_batch logs/b2",
      "export_ops_release_log_batch logs/b3",
    ]);
    // b1 being written, b2 and b3 ahead of it, and a fourth claim that found none left
    expect(calls.filter((c) => c.startsWith("export_ops_claim_log_batch"))).toHaveLength(4);
    expect(calls).not.toContain("export_ops_delete_archived_logs logs/b1");
  });
});
