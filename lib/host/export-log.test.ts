import { describe, expect, it } from "vitest";
import { DatabaseError, ValidationError } from "../errors";
import type { SupabaseLike } from "../supabase/sql-api";
import { exportLogs, exportPath } from "./export-log";
import { ExportInputError } from "./rules";

const USER = "00000000-0000-4000-a000-000000000001";
const OTHER = "00000000-0000-4000-a000-000000000002";
const EXPORT = "11111111-1111-4111-8111-111111111111";
const NOW = /^\d{4}-\d{2}-\d{2}T/;

/** One request the library made: the table, then each builder call with its arguments. */
type Request = [string, ...[string, unknown[]][]];

/**
 * A supabase-js client's `from` that records every request and answers each with the next of `answers` (by
 * default the row it was asked to write).
 */
function fakeClient(answers: { data: unknown; error: { message: string; code?: string } | null }[] = []) {
  const requests: Request[] = [];
  const client: SupabaseLike = {
    rpc: () => Promise.reject(new Error("no rpc expected")),
    from(table: string) {
      const request: Request = [table];
      requests.push(request);
      let written: unknown = null;
      const builder: Record<string, unknown> = {};
      for (const method of ["insert", "update", "select", "eq", "single"]) {
        builder[method] = (...args: unknown[]) => {
          request.push([method, args]);
          if (method === "insert" || method === "update") written = args[0];
          return builder;
        };
      }
      builder.then = (resolve: (v: unknown) => unknown, reject: (e: unknown) => unknown) =>
        Promise.resolve(answers.shift() ?? { data: written, error: null }).then(resolve, reject);
      return builder;
    },
  };
  return { client, requests };
}

function refusal(call: () => unknown): ExportInputError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(ExportInputError);
    return error as ExportInputError;
  }
  throw new Error("not refused");
}

async function refusedAsync(call: () => Promise<unknown>, field: string, message: RegExp) {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ExportInputError);
  expect((error as ExportInputError).details).toEqual({ field });
  expect((error as Error).message).toMatch(message);
}

describe("exportPath", () => {
  it("names the file <user_id>/<export_id>.<ext>, as the file cleanup expects it", () => {
    expect(exportPath(USER, EXPORT, "csv")).toBe(`${USER}/${EXPORT}.csv`);
    expect(exportPath(USER, EXPORT, ".md")).toBe(`${USER}/${EXPORT}.md`);
    // a host's own format's extension: which ones exist is export_ops_formats' to say
    expect(exportPath(USER, EXPORT, "pdf")).toBe(`${USER}/${EXPORT}.pdf`);
  });

  it.each([
    ["user_id", () => exportPath("alice", EXPORT, "csv"), /user_id must be a UUID/],
    ["user_id", () => exportPath(`${USER}/..`, EXPORT, "csv"), /user_id must be a UUID/],
    ["user_id", () => exportPath(undefined as unknown as string, EXPORT, "csv"), /user_id must be a UUID/],
    ["export_id", () => exportPath(USER, "../../etc/passwd", "csv"), /export_id must be a UUID/],
    ["export_id", () => exportPath(USER, "", "csv"), /export_id must be a UUID/],
    ["extension", () => exportPath(USER, EXPORT, "CSV"), /extension must be .*a-z, 0-9/],
    ["extension", () => exportPath(USER, EXPORT, "tar.gz"), /extension must be/],
    ["extension", () => exportPath(USER, EXPORT, ""), /extension must be/],
    ["extension", () => exportPath(USER, EXPORT, "c v"), /extension must be/],
    ["extension", () => exportPath(USER, EXPORT, "csv/../x"), /extension must be/],
    ["extension", () => exportPath(USER, EXPORT, "a".repeat(17)), /extension must be/],
    ["extension", () => exportPath(USER, EXPORT, 7 as unknown as string), /extension must be/],
  ])("refuses a bad %s, naming it", (field, call, message) => {
    const error = refusal(call);
    expect(error.details).toEqual({ field });
    expect(error.message).toMatch(/^Invalid export path: /);
    expect(error.message).toMatch(message);
  });
});

describe("ExportInputError", () => {
  it("is a ValidationError: bad_request, 400, the field in its details, named as itself", () => {
    const error = refusal(() => exportPath("alice", EXPORT, "csv"));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ name: "ExportInputError", code: "bad_request", status: 400 });
    expect(error.toJSON()).toEqual({
      code: "bad_request",
      message: "Invalid export path: user_id must be a UUID",
      details: { field: "user_id" },
    });
  });
});

describe("exportLogs(supabase).start", () => {
  it("inserts the row, processing unless told queued", async () => {
    const { client, requests } = fakeClient();
    await exportLogs(client).start({ user_id: USER, format: "csv", conversation_count: 12 });
    await exportLogs(client).start({ user_id: USER, format: "my_format-2", export_id: EXPORT, status: "queued" });
    expect(requests).toEqual([
      [
        "export_logs",
        ["insert", [{ status: "processing", user_id: USER, format: "csv", conversation_count: 12 }]],
        ["select", []],
        ["single", []],
      ],
      [
        "export_logs",
        ["insert", [{ status: "queued", user_id: USER, format: "my_format-2", export_id: EXPORT }]],
        ["select", []],
        ["single", []],
      ],
    ]);
  });

  it.each([
    ["user_id", { format: "csv" }, /user_id must be a UUID/],
    ["user_id", { user_id: "not-a-uuid", format: "csv" }, /user_id must be a UUID/],
    ["format", { user_id: USER }, /format must be a format name/],
    ["format", { user_id: USER, format: "CSV" }, /format must be a format name/],
    ["format", { user_id: USER, format: "../csv" }, /format must be a format name/],
    ["format", { user_id: USER, format: "x".repeat(33) }, /format must be a format name/],
    ["conversation_count", { user_id: USER, format: "csv", conversation_count: -1 }, /conversation_count must not be negative/],
    ["conversation_count", { user_id: USER, format: "csv", conversation_count: 1.5 }, /conversation_count must be a whole number/],
    ["conversation_count", { user_id: USER, format: "csv", conversation_count: "12" }, /conversation_count must be a number/],
    ["conversation_count", { user_id: USER, format: "csv", conversation_count: 10_000_001 }, /conversation_count must be at most 10000000/],
    ["export_id", { user_id: USER, format: "csv", export_id: "e-1" }, /export_id must be a UUID/],
    ["status", { user_id: USER, format: "csv", status: "completed" }, /status must be queued or processing/],
    ["file_path", { user_id: USER, format: "csv", file_path: `${OTHER}/x.csv` }, /file_path is not a field start takes/],
  ])("refuses a bad %s, naming it, and makes no request", async (field, input, message) => {
    const { client, requests } = fakeClient();
    await refusedAsync(() => exportLogs(client).start(input as never), field, message);
    expect(requests).toEqual([]);
  });

  it("refuses input that is not an object", async () => {
    const { client, requests } = fakeClient();
    await refusedAsync(() => exportLogs(client).start(null as never), "user_id", /user_id must be a UUID/);
    expect(requests).toEqual([]);
  });
});

describe("exportLogs(supabase).complete", () => {
  const path = `${USER}/${EXPORT}.csv`;

  it("completes the row of the export whose user's folder holds the file", async () => {
    const { client, requests } = fakeClient();
    await exportLogs(client).complete(EXPORT, { file_path: path, file_size_bytes: 0 });
    expect(requests).toEqual([
      [
        "export_logs",
        ["update", [{ status: "completed", completed_at: expect.stringMatching(NOW), file_path: path, file_size_bytes: 0 }]],
        ["eq", ["export_id", EXPORT]],
        ["eq", ["user_id", USER]],
        ["select", []],
        ["single", []],
      ],
    ]);
  });

  it.each([
    ["export_id", "e-1", { file_path: path, file_size_bytes: 1 }, /export_id must be a UUID/],
    ["file_path", EXPORT, { file_size_bytes: 1 }, /file_path must be the file's path/],
    ["file_path", EXPORT, { file_path: "", file_size_bytes: 1 }, /file_path must be the file's path/],
    ["file_path", EXPORT, { file_path: `/${path}`, file_size_bytes: 1 }, /file_path starts with \//],
    ["file_path", EXPORT, { file_path: `${USER}/../${OTHER}/x.csv`, file_size_bytes: 1 }, /file_path contains a '\.' or '\.\.' segment/],
    ["file_path", EXPORT, { file_path: `exports/${path}`, file_size_bytes: 1 }, /file_path not of the form <user_id>\/<file>/],
    ["file_path", EXPORT, { file_path: `alice/${EXPORT}.csv`, file_size_bytes: 1 }, /file_path first segment is not a user id/],
    ["file_path", EXPORT, { file_path: `${USER}/my export.csv`, file_size_bytes: 1 }, /file_path file name has characters outside/],
    ["file_path", EXPORT, { file_path: `${USER}/x\n.csv`, file_size_bytes: 1 }, /file_path contains control characters/],
    ["file_path", EXPORT, { file_path: `${USER}/${EXPORT}`, file_size_bytes: 1 }, /file_path extension \. does not fit any export format/],
    [
      "file_path",
      EXPORT,
      { file_path: `${USER}/${EXPORT}.CSV`, file_size_bytes: 1 },
      /file_path extension \.CSV does not fit any export format/,
    ],
    [
      "file_path",
      EXPORT,
      { file_path: `${USER}/${"x".repeat(1100)}.csv`, file_size_bytes: 1 },
      /file_path longer than Storage allows \(1024 bytes\)/,
    ],
    ["file_size_bytes", EXPORT, { file_path: path }, /file_size_bytes must be a number/],
    ["file_size_bytes", EXPORT, { file_path: path, file_size_bytes: -1 }, /file_size_bytes must not be negative/],
    ["file_size_bytes", EXPORT, { file_path: path, file_size_bytes: 2.5 }, /file_size_bytes must be a whole number/],
    ["status", EXPORT, { file_path: path, file_size_bytes: 1, status: "failed" }, /status is not a field complete takes/],
  ])("refuses a bad %s, naming it, and makes no request", async (field, id, file, message) => {
    const { client, requests } = fakeClient();
    await refusedAsync(() => exportLogs(client).complete(id, file as never), field, message);
    expect(requests).toEqual([]);
  });

  it("refuses a file in another user's folder than the export's: the update matches no row, and says whose folder it must be", async () => {
    const { client, requests } = fakeClient([
      { data: null, error: { message: "JSON object requested, multiple (or no) rows returned", code: "PGRST116" } },
      { data: { user_id: USER }, error: null },
    ]);
    await refusedAsync(
      () => exportLogs(client).complete(EXPORT, { file_path: `${OTHER}/${EXPORT}.csv`, file_size_bytes: 1 }),
      "file_path",
      new RegExp(`file_path must be in the folder of export ${EXPORT}'s user \\(${USER}/\\)`),
    );
    expect(requests[0]).toContainEqual(["eq", ["user_id", OTHER]]);
    expect(requests[1]).toEqual(["export_logs", ["select", ["user_id"]], ["eq", ["export_id", EXPORT]], ["single", []]]);
  });

  it("says so when there is no such export", async () => {
    const noRow = { data: null, error: { message: "JSON object requested, multiple (or no) rows returned", code: "PGRST116" } };
    const { client } = fakeClient([noRow, noRow]);
    const error = await exportLogs(client)
      .complete(EXPORT, { file_path: path, file_size_bytes: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({ message: `export_logs update failed: no export ${EXPORT}`, dbCode: "PGRST116" });
  });
});

describe("exportLogs(supabase) on a database refusal", () => {
  it("throws a DatabaseError with the database's message and code", async () => {
    const refused = {
      data: null,
      error: { message: 'insert or update on table "export_logs" violates foreign key constraint', code: "23503" },
    };
    const { client } = fakeClient([refused]);
    const error = await exportLogs(client)
      .start({ user_id: USER, format: "pdf" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({
      code: "database_error",
      dbCode: "23503",
      message: `export_logs insert failed: ${refused.error.message}`,
    });
  });
});

describe("exportLogs(supabase).fail", () => {
  it("fails the row", async () => {
    const { client, requests } = fakeClient();
    await exportLogs(client).fail(EXPORT, { error_type: "TimeoutError", error_message: "took too long" });
    expect(requests).toEqual([
      [
        "export_logs",
        [
          "update",
          [{ status: "failed", completed_at: expect.stringMatching(NOW), error_message: "took too long", error_type: "TimeoutError" }],
        ],
        ["eq", ["export_id", EXPORT]],
        ["select", []],
        ["single", []],
      ],
    ]);
  });

  it.each([
    ["export_id", "e-1", { error_type: "TimeoutError" }, /export_id must be a UUID/],
    ["error_type", EXPORT, {}, /error_type must be text of 1 to 200 characters/],
    ["error_type", EXPORT, { error_type: "  " }, /error_type must be text of 1 to 200 characters/],
    ["error_type", EXPORT, { error_type: "x".repeat(201) }, /error_type must be text of 1 to 200 characters/],
    ["error_message", EXPORT, { error_type: "TimeoutError", error_message: 42 }, /error_message must be text/],
    ["file_path", EXPORT, { error_type: "TimeoutError", file_path: "x" }, /file_path is not a field fail takes/],
  ])("refuses a bad %s, naming it, and makes no request", async (field, id, failure, message) => {
    const { client, requests } = fakeClient();
    await refusedAsync(() => exportLogs(client).fail(id, failure as never), field, message);
    expect(requests).toEqual([]);
  });
});
