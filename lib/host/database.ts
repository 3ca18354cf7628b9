/**
 * export-ops' two tables your app writes and reads, as `supabase gen types typescript` would describe them, to
 * merge with your own generated `Database`:
 *
 *   import type { WithExportOps } from "export-ops";
 *   const supabase = createClient<WithExportOps<Database>>(url, serviceRoleKey);
 *   await supabase.from("export_logs").insert({ user_id, format: "csv" }); // typed
 */
import type { ExportStatus, CountRange } from "./metric";

// Object types, as `supabase gen types` writes them (an interface would not fit supabase-js' table constraints).

export type ExportLogStatus = "queued" | "processing" | "completed" | "failed" | "expired";

export type ExportLogRow = {
  export_id: string;
  user_id: string;
  /** One of export_ops_formats. */
  format: string;
  status: ExportLogStatus;
  conversation_count: number;
  /** The file's name in the exports bucket: `<user_id>/<export_id>.<ext>`. */
  file_path: string | null;
  file_size_bytes: number | null;
  error_type: string | null;
  error_message: string | null;
  created_at: string;
  completed_at: string | null;
  expired_at: string | null;
};

export type ExportLogInsert = {
  export_id?: string;
  user_id: string;
  format: string;
  status?: ExportLogStatus;
  conversation_count?: number;
  file_path?: string | null;
  file_size_bytes?: number | null;
  error_type?: string | null;
  error_message?: string | null;
  created_at?: string;
  completed_at?: string | null;
  expired_at?: string | null;
};

export type ExportMetricRow = {
  id: number;
  export_id: string;
  user_id: string;
  format: string;
  status: ExportStatus;
  conversation_count: number;
  count_range: CountRange;
  duration_ms: number;
  file_size_bytes: number | null;
  error_type: string | null;
  error_message: string | null;
  recorded_at: string;
};

/** The tables, in the shape of a generated `Database["public"]["Tables"]`. */
export type ExportOpsTables = {
  export_logs: { Row: ExportLogRow; Insert: ExportLogInsert; Update: Partial<ExportLogRow>; Relationships: [] };
  export_metrics: { Row: ExportMetricRow; Insert: never; Update: never; Relationships: [] };
};

type Merged<A, B> = { [K in keyof A | keyof B]: K extends keyof B ? B[K] : K extends keyof A ? A[K] : never };

/**
 * Your generated `Database` with export-ops' tables added to its `public` schema: plain mapped types, not
 * intersections, so that every supabase-js 2.x infers its table types from it.
 */
export type WithExportOps<DB extends { public: { Tables: object } }> = Merged<
  DB,
  { public: Merged<DB["public"], { Tables: Merged<DB["public"]["Tables"], ExportOpsTables> }> }
>;
