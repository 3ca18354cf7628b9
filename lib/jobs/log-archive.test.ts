/** Archive before delete with in-memory fakes: a read-back that does not match keeps every row of the batch. */
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { captureLogger, fixedClock } from "../../test/doubles";
import type { ObjectStorage, SqlApi } from "../ports";
import { archiveText, compressArchive, deleteLogsInBatches, verifyArchive } from "./log-archive";

const encodeArchive = (r: Record<string, unknown>[]) => compressArchive(archiveText(r));

const rows = [
  { export_id: "e1", user_id: "u1", status: "expired", created_at: "2026-01-01T00:00:00Z" },
  { export_id: "e2", user_id: "u2", status: "failed", created_at: "2026-01-02T00:00:00Z" },
];

describe("verifyArchive", () => {
  it("accepts exactly the rows, and refuses a missing, extra or altered row", () => {
    const text = archiveText(rows);
    expect(() => verifyArchive(encodeArchive(rows), text)).not.toThrow();
    expect(() => verifyArchive(encodeArchive([rows[0]!]), text)).toThrow("archive holds 1 rows, expected 2");
    expect(() => verifyArchive(encodeArchive([...rows, rows[0]!]), text)).toThrow("archive holds 3 rows, expected 2");
    expect(() => verifyArchive(encodeArchive([rows[0]!, { ...rows[1]!, status: "expired" }]), text)).toThrow("archive row e2 does not match");
    expect(() => verifyArchive(encodeArchive([rows[1]!, rows[0]!]), text)).toThrow("archive row e1 does not match");
  });

  it("given the bytes written, accepts them read back as written, and otherwise still compares the text", () => {
    const text = archiveText(rows);
    const written = gzipSync(text, { level: 1 });
    expect(() => verifyArchive(Uint8Array.from(written), text, written)).not.toThrow();
    // the same text compressed differently (a server that re-encodes) is still exactly the rows
    expect(() => verifyArchive(gzipSync(text, { level: 9 }), text, written)).not.toThrow();
    expect(() => verifyArchive(encodeArchive([rows[0]!]), text, written)).toThrow("archive holds 1 rows, expected 2");
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
          return { batch, object: batch && `${batch}.jsonl.gz`, count: batch ? 2 : 0, last_created_at: rows[1]!.created_at, reclaimed: false };
        }
        if (fn === "export_ops_archive_batch_rows") return rows;
        return null;
      },
    } as unknown as SqlApi;
    return { db, calls };
  }
  const run = (db: SqlApi, storage: ObjectStorage) =>
    deleteLogsInBatches(
      { db, storage, clock: fixedClock("2026-03-01T03:00:00Z"), logger: captureLogger().logger, deadline: Number.POSITIVE_INFINITY },
      { cutoff: new Date("2026-02-01T00:00:00Z") },
      { archiveBucket: "export-archive" },
    );
  const stored = new Map<string, Uint8Array>();
  const storage: ObjectStorage = {
    remove: async () => [],
    list: async () => [],
    upload: async (_b, name, body) => void stored.set(name, typeof body === "string" ? new TextEncoder().encode(body) : body),
    // Storage hands back a different object than the one written
    download: async () => encodeArchive([rows[0]!]),
  };

  it("deletes nothing, releases the batch and stops when the object read back does not match", async () => {
    const { db, calls } = batches("logs/b1");
    const result = await run(db, storage);
    expect(result).toMatchObject({ deleted: 0, archived: 0, finished: false });
    expect(result.errors[0]).toMatch(/^archive logs\/b1\.jsonl\.gz not written or not verified, its 2 logs were kept: archive holds 1 rows, expected 2/);
    expect(calls).toEqual([
      "export_ops_claim_log_batch",
      "export_ops_archive_batch_rows logs/b1",
      "export_ops_claim_log_batch",
      "export_ops_release_log_batch logs/b1",
    ]);
    expect(stored.has("logs/b1.jsonl.gz")).toBe(true);
  });

  it("releases the batch claimed ahead too, unwritten", async () => {
    const { db, calls } = batches("logs/b1", "logs/b2");
    const result = await run(db, storage);
    expect(result).toMatchObject({ deleted: 0, finished: false });
    expect(calls.filter((c) => c.startsWith("export_ops_release_log_batch"))).toEqual([
      "export_ops_release_log_batch logs/b1",
      "export_ops_release_log_batch logs/b2",
    ]);
    expect(calls).not.toContain("export_ops_delete_archived_logs logs/b1");
  });
});
