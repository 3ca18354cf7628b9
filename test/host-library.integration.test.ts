/**
 * A host's export endpoint written with the export-ops package alone, over a plain supabase-js client typed with
 * the host's own generated Database plus export-ops' tables: the log row started, the file written, the row
 * completed (or failed), the metric recorded — and export-ops' daily file cleanup later deletes that file.
 */
import { createClient } from "@supabase/supabase-js";
import { createExportMetricsService, DatabaseError, ExportInputError, exportLogs, exportPath, type WithExportOps } from "export-ops";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { exportFileCleanup } from "../lib/jobs/export-file-cleanup";
import { captureLogger } from "./doubles";
import { BUCKET, installedHoursAgo, objectNames, resetData, runJob, sweepEnv } from "./helpers/exports";
import { closeSql, sql, stack } from "./helpers/stack";

/** What `supabase gen types typescript` gives a host app: its own tables only. */
interface HostDatabase {
  public: {
    Tables: {
      profiles: {
        Row: { id: string; display_name: string };
        Insert: { id: string; display_name: string };
        Update: { display_name?: string };
        Relationships: [];
      };
    };
    Views: Record<never, never>;
    Functions: Record<never, never>;
    Enums: Record<never, never>;
    CompositeTypes: Record<never, never>;
  };
}

beforeEach(resetData);
afterAll(closeSql);

const client = () =>
  createClient<WithExportOps<HostDatabase>>(stack.SUPABASE_URL, stack.SUPABASE_SERVICE_ROLE_KEY, { auth: { persistSession: false } });
const user = "00000000-0000-4000-a000-000000000001";

async function ageExport(exportId: string, path: string, hours: number) {
  await sql().query(
    "update export_logs set created_at = now() - make_interval(hours => $2 + 1), completed_at = now() - make_interval(hours => $2) where export_id = $1",
    [exportId, hours],
  );
  await sql().query("update storage.objects set created_at = now() - make_interval(hours => $2) where bucket_id = $3 and name = $1", [
    path,
    hours,
    BUCKET,
  ]);
}

describe("a host's export endpoint on the export-ops package", () => {
  it("keeps the log row and records the metric, and the daily cleanup later deletes the file and expires the row", async () => {
    const supabase = client();
    const logs = exportLogs(supabase);
    const metrics = createExportMetricsService(supabase, { logger: captureLogger().logger });
    const startedAt = Date.now();

    const log = await logs.start({ user_id: user, format: "csv", conversation_count: 12 });
    expect(log).toMatchObject({ user_id: user, format: "csv", status: "processing", file_path: null });
    const path = exportPath(user, log.export_id, "csv");
    const body = "conversation,messages\nc1,4\n";
    const upload = await supabase.storage.from(BUCKET).upload(path, body, { contentType: "text/csv" });
    expect(upload.error).toBeNull();
    const done = await logs.complete(log.export_id, { file_path: path, file_size_bytes: body.length });
    expect(done).toMatchObject({ status: "completed", file_path: path, file_size_bytes: body.length, completed_at: expect.any(String) });
    const recorded = await metrics.logExportMetric({
      export_id: log.export_id,
      user_id: user,
      format: "csv",
      status: "completed",
      conversation_count: 12,
      duration_ms: Date.now() - startedAt,
      file_size_bytes: body.length,
    });
    expect(recorded).toMatchObject({ recorded: true, duplicate: false });
    // the SQL API through the host's own typed client, its result checked against the contract
    expect(await metrics.volumeStats(1)).toMatchObject({ days: 1, total: 1, per_day: [{ exports: 1 }] });
    // the typed client reads the row back as export-ops' own type
    const { data } = await supabase.from("export_logs").select("status, file_path").eq("export_id", log.export_id).single();
    expect(data).toEqual({ status: "completed", file_path: path });

    await ageExport(log.export_id, path, 30);
    expect(await runJob(exportFileCleanup, {})).toMatchObject({ deleted_count: 1, logs_updated: 1 });
    expect((await objectNames()).has(path)).toBe(false);
    expect((await sql().query("select status from export_logs where export_id = $1", [log.export_id])).rows).toEqual([
      { status: "expired" },
    ]);
  });

  it("fails an export whose file was written: the file is an orphan the sweep takes once past retention", async () => {
    await installedHoursAgo(100);
    const supabase = client();
    const logs = exportLogs(supabase);
    const log = await logs.start({ user_id: user, format: "jsonl" });
    const path = exportPath(user, log.export_id, "jsonl");
    expect((await supabase.storage.from(BUCKET).upload(path, '{"c":1}\n', { contentType: "application/x-ndjson" })).error).toBeNull();
    expect(await logs.fail(log.export_id, { error_type: "TimeoutError", error_message: "took too long" })).toMatchObject({
      status: "failed",
      error_type: "TimeoutError",
    });

    await ageExport(log.export_id, path, 48);
    expect(await runJob(exportFileCleanup, {}, { env: sweepEnv() })).toMatchObject({ orphans_deleted: 1 });
    expect((await objectNames()).has(path)).toBe(false);
  });

  it("refuses a row export-ops could not handle with a DatabaseError carrying the database's own message and code", async () => {
    const logs = exportLogs(client());
    const error = await logs.start({ user_id: user, format: "pdf" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({
      code: "database_error",
      dbCode: "23503",
      message: expect.stringMatching(/^export_logs insert failed: .*export_ops_logs_format_fkey/),
    });
  });

  it("refuses a bad field by name, and no row is made or changed", async () => {
    const logs = exportLogs(client());
    const rows = async () =>
      (await sql().query("select export_id, status, file_path, file_size_bytes from export_logs order by created_at")).rows;
    const refused = async (call: Promise<unknown>, field: string) => {
      const error = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ExportInputError);
      expect(error).toMatchObject({ details: { field } });
    };

    await refused(logs.start({ user_id: "alice", format: "csv" }), "user_id");
    await refused(logs.start({ user_id: user, format: "CSV" }), "format");
    await refused(logs.start({ user_id: user, format: "csv", conversation_count: -1 }), "conversation_count");
    await refused(logs.start({ user_id: user, format: "csv", status: "completed" } as never), "status");
    expect(await rows()).toEqual([]);

    const log = await logs.start({ user_id: user, format: "csv" });
    const before = await rows();
    const other = "00000000-0000-4000-a000-000000000002";
    await refused(logs.complete(log.export_id, { file_path: `${user}/../${other}/x.csv`, file_size_bytes: 1 }), "file_path");
    await refused(
      logs.complete(log.export_id, { file_path: exportPath(user, log.export_id, "csv"), file_size_bytes: -1 }),
      "file_size_bytes",
    );
    // a path in another user's folder reaches the database, which changes nothing, and is refused naming the export's user
    await expect(logs.complete(log.export_id, { file_path: exportPath(other, log.export_id, "csv"), file_size_bytes: 1 })).rejects.toThrow(
      new RegExp(`file_path must be in the folder of export ${log.export_id}'s user \\(${user}/\\)`),
    );
    await refused(logs.fail(log.export_id, { error_type: "" }), "error_type");
    expect(await rows()).toEqual(before);
    expect(before).toEqual([{ export_id: log.export_id, status: "processing", file_path: null, file_size_bytes: null }]);
    expect(() => exportPath(user, log.export_id, "tar.gz")).toThrow(ExportInputError);
  });
});
