/**
 * The export log row your export endpoint keeps (export_logs): created when the export starts, completed with its
 * file or failed. export-ops later deletes the file once past retention and marks the row `expired`.
 */
import { ExportOpsError, type SupabaseLike } from "./client.ts";
import type { ExportLogRow } from "./database.ts";

/** The name an export's file gets in the exports bucket: `<user_id>/<export_id>.<ext>`. */
export function exportPath(userId: string, exportId: string, extension: string): string {
  return `${userId}/${exportId}.${extension.replace(/^\./, "")}`;
}

async function unwrap<T>(what: string, answer: PromiseLike<{ data: unknown; error: { message: string; code?: string } | null }>): Promise<T> {
  const { data, error } = await answer;
  if (error) throw new ExportOpsError(`${what} failed: ${error.message}`, { dbCode: error.code });
  return data as T;
}

/** Writes the export log row through the host's own (service-role) supabase-js client. */
export function exportLogs(supabase: SupabaseLike) {
  const table = () => supabase.from("export_logs");
  return {
    /** A new export, `processing` (or `queued`): returns its row, with its export_id. */
    start(input: { user_id: string; format: string; conversation_count?: number; export_id?: string; status?: "queued" | "processing" }): Promise<ExportLogRow> {
      return unwrap("export_logs insert", table().insert({ status: "processing", ...input }).select().single());
    },
    /** Its file is written: `completed`, with where the file is and its size. */
    complete(exportId: string, file: { file_path: string; file_size_bytes: number }): Promise<ExportLogRow> {
      return unwrap(
        "export_logs update",
        table().update({ status: "completed", completed_at: new Date().toISOString(), ...file }).eq("export_id", exportId).select().single(),
      );
    },
    /** It failed (its file, if one was written, is then an orphan the daily cleanup sweeps). */
    fail(exportId: string, failure: { error_type: string; error_message?: string }): Promise<ExportLogRow> {
      return unwrap(
        "export_logs update",
        table().update({ status: "failed", completed_at: new Date().toISOString(), error_message: null, ...failure }).eq("export_id", exportId).select().single(),
      );
    },
  };
}
