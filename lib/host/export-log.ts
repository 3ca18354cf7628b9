/**
 * The export log row your export endpoint keeps (export_logs): created when the export starts, completed with its
 * file or failed. export-ops later deletes the file once past retention and marks the row `expired`. Every call
 * checks its input by the rules the database and the jobs apply (./rules.ts) and refuses a bad field with an
 * ExportInputError naming it, before any request: nothing is written. A request the database refuses or fails is a
 * DatabaseError with PostgREST's code.
 */
import { DatabaseError } from "../errors";
import { unwrap, type PostgrestErrorLike, type SupabaseLike } from "../supabase/sql-api";
import type { ExportLogRow } from "./database";
import {
  ERROR_TYPE_PROBLEM,
  EXPORT_EXTENSION,
  EXPORT_FORMAT_NAME,
  ExportInputError,
  exportPathProblem,
  FORMAT_NAME_PROBLEM,
  isErrorType,
  isUuid,
  MAX_CONVERSATIONS,
  unknownField,
  wholeNumberProblem,
} from "./rules";

/**
 * The name an export's file gets in the exports bucket: `<user_id>/<export_id>.<ext>`, where `ext` is one of the
 * export's format's extensions (`csv`, `md`, …; a leading dot is dropped). Throws an ExportInputError naming a bad
 * argument: ids must be UUIDs, and the extension one an export format may have (export_ops_formats: a-z and 0-9,
 * 1 to 16 characters), so that the daily file cleanup accepts the path.
 */
export function exportPath(userId: string, exportId: string, extension: string): string {
  if (!isUuid(userId)) throw new ExportInputError("export path", "user_id", "must be a UUID");
  if (!isUuid(exportId)) throw new ExportInputError("export path", "export_id", "must be a UUID");
  const ext: unknown = typeof extension === "string" ? extension.replace(/^\./, "") : extension;
  if (typeof ext !== "string" || !EXPORT_EXTENSION.test(ext)) {
    throw new ExportInputError(
      "export path",
      "extension",
      "must be an export format's file extension (a-z, 0-9, 1 to 16 characters), such as csv",
    );
  }
  return `${userId}/${exportId}.${ext}`;
}

/** What `start` takes. */
export interface ExportLogStart {
  user_id: string;
  /** One of export_ops_formats (the database refuses another, naming it). */
  format: string;
  conversation_count?: number;
  export_id?: string;
  status?: "queued" | "processing";
}

const START_FIELDS = ["user_id", "format", "conversation_count", "export_id", "status"] as const;
const COMPLETE_FIELDS = ["file_path", "file_size_bytes"] as const;
const FAIL_FIELDS = ["error_type", "error_message"] as const;

const refuse = (field: string, problem: string) => new ExportInputError("export log", field, problem);
const fields = (input: unknown) => (input !== null && typeof input === "object" ? input : {}) as Record<string, unknown>;

function only(method: string, input: Record<string, unknown>, allowed: readonly string[]) {
  const unknown = unknownField(input, allowed);
  if (unknown !== undefined) throw refuse(unknown, `is not a field ${method} takes (${allowed.join(", ")})`);
}

function whole(field: string, value: unknown, max: number): number {
  const problem = wholeNumberProblem(value, max);
  if (problem) throw refuse(field, problem);
  return value as number;
}

type Answer = { data: ExportLogRow | null; error: PostgrestErrorLike | null };

/** PostgREST's answer to `.single()` when no row matched. */
const NO_ROW = "PGRST116";

/** Writes the export log row through the host's own (service-role) supabase-js client. */
export function exportLogs(supabase: SupabaseLike) {
  const table = () => supabase.from("export_logs");
  return {
    /** A new export, `processing` (or `queued`): returns its row, with its export_id. */
    async start(input: ExportLogStart): Promise<ExportLogRow> {
      const i = fields(input);
      only("start", i, START_FIELDS);
      if (!isUuid(i.user_id)) throw refuse("user_id", "must be a UUID");
      if (typeof i.format !== "string" || !EXPORT_FORMAT_NAME.test(i.format)) throw refuse("format", FORMAT_NAME_PROBLEM);
      if (i.conversation_count !== undefined) whole("conversation_count", i.conversation_count, MAX_CONVERSATIONS);
      if (i.export_id !== undefined && !isUuid(i.export_id)) throw refuse("export_id", "must be a UUID");
      if (i.status !== undefined && i.status !== "queued" && i.status !== "processing")
        throw refuse("status", "must be queued or processing");
      const row = {
        status: i.status ?? "processing",
        user_id: i.user_id,
        format: i.format,
        ...(i.conversation_count !== undefined ? { conversation_count: i.conversation_count } : {}),
        ...(i.export_id !== undefined ? { export_id: i.export_id } : {}),
      };
      return unwrap<ExportLogRow>("export_logs insert", await table().insert(row).select().single());
    },
    /**
     * Its file is written: `completed`, with where the file is and its size. The path must be one the daily file
     * cleanup takes (`exportPath` gives one), in the export's user's folder: the row is updated only when it is
     * that user's, else nothing changes and an ExportInputError says whose folder it must be. (The cleanup also
     * wants the extension to be one of the export's format's, which export_ops_formats says.)
     */
    async complete(exportId: string, file: { file_path: string; file_size_bytes: number }): Promise<ExportLogRow> {
      if (!isUuid(exportId)) throw refuse("export_id", "must be a UUID");
      const f = fields(file);
      only("complete", f, COMPLETE_FIELDS);
      if (typeof f.file_path !== "string" || f.file_path === "") {
        throw refuse("file_path", "must be the file's path in the exports bucket, <user_id>/<file>.<ext> (exportPath gives it)");
      }
      const problem = exportPathProblem(f.file_path);
      if (problem) throw refuse("file_path", problem);
      const file_size_bytes = whole("file_size_bytes", f.file_size_bytes, Number.MAX_SAFE_INTEGER);
      const folder = f.file_path.slice(0, f.file_path.indexOf("/"));
      const update = { status: "completed", completed_at: new Date().toISOString(), file_path: f.file_path, file_size_bytes };
      const answer: Answer = await table().update(update).eq("export_id", exportId).eq("user_id", folder).select().single();
      if (answer.error?.code === NO_ROW) {
        // nothing changed: the export is not that user's, or there is no such export
        const owner: { data: { user_id?: string } | null } = await table().select("user_id").eq("export_id", exportId).single();
        const userId = owner.data?.user_id;
        if (userId) throw refuse("file_path", `must be in the folder of export ${exportId}'s user (${userId}/), not ${folder}/`);
        throw new DatabaseError(`export_logs update failed: no export ${exportId}`, { dbCode: NO_ROW });
      }
      return unwrap("export_logs update", answer);
    },
    /** It failed (its file, if one was written, is then an orphan the daily cleanup sweeps). */
    async fail(exportId: string, failure: { error_type: string; error_message?: string }): Promise<ExportLogRow> {
      if (!isUuid(exportId)) throw refuse("export_id", "must be a UUID");
      const f = fields(failure);
      only("fail", f, FAIL_FIELDS);
      if (!isErrorType(f.error_type)) throw refuse("error_type", ERROR_TYPE_PROBLEM);
      if (f.error_message !== undefined && f.error_message !== null && typeof f.error_message !== "string")
        throw refuse("error_message", "must be text");
      const update = {
        status: "failed",
        completed_at: new Date().toISOString(),
        error_type: f.error_type.trim(),
        error_message: f.error_message ?? null,
      };
      return unwrap<ExportLogRow>("export_logs update", await table().update(update).eq("export_id", exportId).select().single());
    },
  };
}
