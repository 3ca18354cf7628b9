// The app's export feature on the export-ops package: its log row, its file, its metric. A service-role client,
// typed with the app's generated Database plus export-ops' tables.
import { createClient } from "@supabase/supabase-js";
import { createExportMetricsService, exportLogs, exportPath, type WithExportOps } from "export-ops";
import type { Database } from "@/lib/database.types";

export function serviceClient() {
  return createClient<WithExportOps<Database>>(process.env.NEXT_PUBLIC_SUPABASE_URL!, process.env.SUPABASE_SERVICE_ROLE_KEY!, {
    auth: { persistSession: false },
  });
}

export async function exportConversations(userId: string, rows: string[][]) {
  const supabase = serviceClient();
  const logs = exportLogs(supabase);
  const metrics = createExportMetricsService(supabase);
  const startedAt = Date.now();
  const log = await logs.start({ user_id: userId, format: "csv", conversation_count: rows.length });
  const body = rows.map((r) => r.join(",")).join("\n") + "\n";
  const path = exportPath(userId, log.export_id, "csv");
  const upload = await supabase.storage.from("exports").upload(path, body, { contentType: "text/csv" });
  if (upload.error) {
    await logs.fail(log.export_id, { error_type: "StorageError", error_message: upload.error.message });
    await metrics.logExportMetric({
      export_id: log.export_id, user_id: userId, format: "csv", status: "failed", conversation_count: rows.length,
      duration_ms: Date.now() - startedAt, error_type: "StorageError", error_message: upload.error.message,
    });
    throw new Error(`export failed: ${upload.error.message}`);
  }
  await logs.complete(log.export_id, { file_path: path, file_size_bytes: body.length });
  const metric = await metrics.logExportMetric({
    export_id: log.export_id, user_id: userId, format: "csv", status: "completed", conversation_count: rows.length,
    duration_ms: Date.now() - startedAt, file_size_bytes: body.length,
  });
  // export-ops' table, typed: the app's client reads it back like its own
  const { data } = await supabase.from("export_logs").select("status, file_path").eq("export_id", log.export_id).single();
  return { export_id: log.export_id, path, status: data?.status ?? null, metric_recorded: metric.recorded };
}

/** Never called: tsc proves the typed client knows export_logs (the directive fails if the table were untyped). */
export async function typedTablesCheck() {
  const supabase = serviceClient();
  await supabase.from("export_logs").insert({ user_id: "00000000-0000-4000-a000-000000000001", format: "csv" });
  // @ts-expect-error an export log needs its user
  await supabase.from("export_logs").insert({ format: "csv" });
}
