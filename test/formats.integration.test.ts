/**
 * Export formats are the host's: export_ops_formats holds the seed's four, and a host that exports PDF, XLSX or ZIP
 * adds them with one insert. Then its rows, its metrics, the file cleanup's path checks and its orphan sweep all
 * take them; until then each refuses them, with a message naming the format and how to add it.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { SEED_FORMATS } from "../lib/files/export-paths";
import { exportFileCleanup } from "../lib/jobs/export-file-cleanup";
import { createExportMetricsService } from "export-ops";
import { createServiceClient } from "../lib/supabase";
import { captureLogger } from "./doubles";
import { addObjects, installedHoursAgo, objectNames, ports, resetData, runJob, sweepEnv } from "./helpers/exports";
import { closeSql, sql, stack } from "./helpers/stack";

const HOST_FORMATS = { pdf: ["pdf"], xlsx: ["xlsx"], zip: ["zip"] };

const addHostFormats = () =>
  sql().query(
    "insert into export_ops_formats (format, extensions) select key, array(select jsonb_array_elements_text(value)) from jsonb_each($1::jsonb)",
    [JSON.stringify(HOST_FORMATS)],
  );

beforeEach(resetData);
afterEach(async () => {
  await resetData();
  await sql().query("delete from export_ops_formats where format <> all ($1)", [Object.keys(SEED_FORMATS)]);
});
afterAll(closeSql);

/** A completed export of `format` whose file `<user>/<export>.<ext>` is past retention. */
async function completedExport(format: string, ext: string) {
  const user = randomUUID();
  const id = randomUUID();
  const path = `${user}/${id}.${ext}`;
  await sql().query(
    `insert into export_logs (export_id, user_id, format, status, file_path, created_at, completed_at)
     values ($1, $2, $3, 'completed', $4, now() - interval '31 hours', now() - interval '30 hours')`,
    [id, user, format, path],
  );
  await addObjects([path], 30);
  return { id, user, path };
}

describe("export formats", () => {
  it("are the seed's four until the host adds its own, and the SQL API reads them from the table", async () => {
    expect(await ports().db.call("export_ops_formats")).toEqual(SEED_FORMATS);
    await addHostFormats();
    expect(await ports().db.call("export_ops_formats")).toEqual({ ...SEED_FORMATS, ...HOST_FORMATS });
  });

  it("refuse a format the host has not added, everywhere, naming it and how to add it", async () => {
    const insert = sql().query("insert into export_logs (user_id, format, status) values ($1, 'pdf', 'queued')", [randomUUID()]);
    await expect(insert).rejects.toThrow(/export_ops_logs_format_fkey/);

    const capture = captureLogger();
    const svc = createExportMetricsService(createServiceClient(stack.SUPABASE_URL, stack.SUPABASE_SERVICE_ROLE_KEY), {
      logger: capture.logger,
    });
    const result = await svc.logExportMetric({
      export_id: randomUUID(),
      user_id: randomUUID(),
      format: "pdf",
      status: "completed",
      conversation_count: 3,
      duration_ms: 900,
    });
    expect(result).toMatchObject({ recorded: false });
    expect(result.error?.message).toContain(
      "unknown export format 'pdf': add it with its file extensions, e.g. insert into public.export_ops_formats (format, extensions) values ('pdf', '{pdf}')",
    );
    expect((await sql().query("select count(*)::int as n from export_metrics")).rows[0].n).toBe(0);
  });

  it("once added, are taken by the host's rows, its metrics, the file cleanup and the orphan sweep", async () => {
    await addHostFormats();
    await installedHoursAgo(100);
    const pdf = await completedExport("pdf", "pdf");
    const zipWrongExt = await completedExport("zip", "pdf"); // a zip export whose file says .pdf: never deleted
    const svc = createExportMetricsService(createServiceClient(stack.SUPABASE_URL, stack.SUPABASE_SERVICE_ROLE_KEY), {
      logger: captureLogger().logger,
    });
    const orphanId = randomUUID();
    const orphanUser = randomUUID();
    expect(
      await svc.logExportMetric({
        export_id: orphanId,
        user_id: orphanUser,
        format: "xlsx",
        status: "completed",
        conversation_count: 3,
        duration_ms: 900,
      }),
    ).toMatchObject({
      recorded: true,
    });
    const orphan = `${orphanUser}/${orphanId}.xlsx`;
    await addObjects([orphan], 48);

    const result = await runJob(exportFileCleanup, {}, { env: sweepEnv() });

    expect(result).toMatchObject({ deleted_count: 1, quarantined_count: 1, orphans_deleted: 1 });
    const left = await objectNames();
    expect([pdf.path, orphan].filter((p) => left.has(p))).toEqual([]);
    expect(left.has(zipWrongExt.path)).toBe(true);
    const { rows } = await sql().query("select quarantine_reason from export_ops_file_cleanup where export_id = $1", [zipWrongExt.id]);
    expect(rows).toEqual([{ quarantine_reason: "unsafe path: extension .pdf does not fit format zip" }]);
  });
});
