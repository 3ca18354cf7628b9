/** Archive before delete with in-memory fakes: a read-back that does not match keeps every row of the batch. */
import { describe, expect, it } from "vitest";
import { captureLogger, fixedClock } from "../../test/doubles";
import type { ObjectStorage, SqlApi } from "../ports";
import { archiveText, deleteLogsInBatches, encodeArchive, verifyArchive } from "./log-archive";

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
});

describe("deleteLogsInBatches with archival", () => {
  it("deletes nothing, releases the batch and stops when the object read back does not match", async () => {
    const calls: string[] = [];
    const db = {
      async call(fn: string) {
        calls.push(fn);
        if (fn === "export_ops_claim_log_batch") {
          return { batch: "logs/b1", object: "logs/b1.jsonl.gz", count: 2, lines: archiveText(rows), ids: ["e1", "e2"], last_created_at: rows[1]!.created_at, reclaimed: false };
        }
        return null;
      },
    } as unknown as SqlApi;
    const stored = new Map<string, Uint8Array>();
    const storage: ObjectStorage = {
      remove: async () => [],
      list: async () => [],
      upload: async (_b, name, body) => void stored.set(name, typeof body === "string" ? new TextEncoder().encode(body) : body),
      // Storage hands back a different object than the one written
      download: async () => encodeArchive([rows[0]!]),
    };
    const result = await deleteLogsInBatches(
      { db, storage, clock: fixedClock("2026-03-01T03:00:00Z"), logger: captureLogger().logger, deadline: Number.POSITIVE_INFINITY },
      { cutoff: new Date("2026-02-01T00:00:00Z") },
      { archiveBucket: "export-archive" },
    );
    expect(result).toMatchObject({ deleted: 0, archived: 0, finished: false });
    expect(result.errors[0]).toMatch(/^archive logs\/b1\.jsonl\.gz not written or not verified, its 2 logs were kept: archive holds 1 rows, expected 2/);
    expect(calls).toEqual(["export_ops_claim_log_batch", "export_ops_release_log_batch"]);
    expect(stored.has("logs/b1.jsonl.gz")).toBe(true);
  });
});
