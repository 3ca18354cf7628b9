/**
 * One export's metric, as the host's export endpoint reports it, and its validation: a bad field is refused with
 * an ExportMetricError naming it, before anything is stored.
 */

import {
  ERROR_TYPE_PROBLEM,
  EXPORT_FORMAT_NAME,
  ExportInputError,
  FORMAT_NAME_PROBLEM,
  isErrorType,
  MAX_CONVERSATIONS,
  UUID,
  wholeNumberProblem,
} from "./rules";

/** Error messages are stored and logged up to this many characters; longer ones are cut and marked. */
export const MAX_ERROR_MESSAGE = 2000;
const TRUNCATED = " …[truncated]";

export type ExportStatus = "completed" | "failed";
export type CountRange = "small" | "medium" | "large";

/** What the host's export endpoint reports once an export finished or failed. */
export interface ExportMetricInput {
  export_id: string;
  user_id: string;
  format: string;
  status: ExportStatus;
  conversation_count: number;
  duration_ms: number;
  /** null (or left out) for a failure. */
  file_size_bytes?: number | null;
  /** Required for a failure: the kind of error, e.g. "StorageError". */
  error_type?: string;
  error_message?: string;
}

/** A checked metric: the input with its size settled (null for none) and its count range derived. */
export type ExportMetric = Omit<ExportMetricInput, "file_size_bytes"> & { file_size_bytes: number | null; count_range: CountRange };

/** A metric refused before anything was stored; `details.field` names what is wrong. */
export class ExportMetricError extends ExportInputError {
  constructor(field: string, problem: string) {
    super("export metric", field, problem);
    this.name = "ExportMetricError";
  }
}

/** Conversation-count ranges: small < 100 ≤ medium < 1000 ≤ large. */
export function countRange(conversations: number): CountRange {
  return conversations < 100 ? "small" : conversations < 1000 ? "medium" : "large";
}

function integer(field: string, value: unknown, max: number): number {
  const problem = wholeNumberProblem(value, max);
  if (problem) throw new ExportMetricError(field, problem);
  return value as number;
}

/** Checks a metric and derives its count range; throws an ExportMetricError naming the first bad field. */
export function parseMetric(input: ExportMetricInput): ExportMetric {
  const m = (input ?? {}) as Partial<Record<keyof ExportMetricInput, unknown>>;
  for (const field of ["export_id", "user_id"] as const) {
    if (typeof m[field] !== "string" || !UUID.test(m[field] as string)) throw new ExportMetricError(field, "must be a UUID");
  }
  if (typeof m.format !== "string" || !EXPORT_FORMAT_NAME.test(m.format)) {
    throw new ExportMetricError("format", FORMAT_NAME_PROBLEM);
  }
  if (m.status !== "completed" && m.status !== "failed") throw new ExportMetricError("status", "must be completed or failed");
  const conversation_count = integer("conversation_count", m.conversation_count, MAX_CONVERSATIONS);
  const duration_ms = integer("duration_ms", m.duration_ms, 24 * 3600 * 1000);
  const file_size_bytes =
    m.file_size_bytes === undefined || m.file_size_bytes === null
      ? null
      : integer("file_size_bytes", m.file_size_bytes, Number.MAX_SAFE_INTEGER);
  let error_type: string | undefined;
  if (m.error_type !== undefined) {
    if (!isErrorType(m.error_type)) throw new ExportMetricError("error_type", ERROR_TYPE_PROBLEM);
    error_type = m.error_type.trim();
  }
  if (m.status === "failed" && !error_type) throw new ExportMetricError("error_type", "is required for a failed export");
  if (m.error_message !== undefined && typeof m.error_message !== "string") throw new ExportMetricError("error_message", "must be text");
  const message = m.error_message as string | undefined;
  const error_message =
    message && message.length > MAX_ERROR_MESSAGE ? message.slice(0, MAX_ERROR_MESSAGE - TRUNCATED.length) + TRUNCATED : message;
  return {
    export_id: m.export_id as string,
    user_id: m.user_id as string,
    format: m.format,
    status: m.status,
    conversation_count,
    duration_ms,
    file_size_bytes,
    ...(error_type ? { error_type } : {}),
    ...(error_message !== undefined ? { error_message } : {}),
    count_range: countRange(conversation_count),
  };
}
