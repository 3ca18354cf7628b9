/**
 * What export-ops takes from a host's export endpoint, by the rules its database and its jobs apply: ids are
 * UUIDs, a format's name and its extensions are what export_ops_formats' CHECK constraints allow, and a file's path
 * is one the daily file cleanup accepts. The package refuses anything else before it sends a request, with an
 * ExportInputError naming the field. rules.test.ts keeps these the database's and the file cleanup's own.
 */
import { ValidationError } from "../errors";

/** An id (export_id, user_id): a UUID, in either case, as Postgres takes one. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string => typeof value === "string" && UUID.test(value);

/**
 * A format's name as export_ops_formats takes it. Which formats exist is the database's to say (`json`, `jsonl`,
 * `csv`, `markdown`, plus what the host adds there): a row or metric of a format it does not list is refused there.
 */
export const EXPORT_FORMAT_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const FORMAT_NAME_PROBLEM = "must be a format name (a-z, 0-9, '_', '-'), such as jsonl";

/** A file extension as export_ops_formats takes one (a format's files carry one of its extensions). */
export const EXPORT_EXTENSION = /^[a-z0-9]{1,16}$/;

/** A file's name in its user's folder, as the file cleanup takes it. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Supabase Storage keys are at most 1024 bytes. */
export const MAX_PATH_BYTES = 1024;

/**
 * A path taken apart as `<user_id>/<file>`, with the file's extension, or why it is no export path at all: the
 * checks every path the file cleanup deletes must pass, whatever its export (lib/files/export-paths.ts adds the
 * export's own user and format).
 */
export function splitExportPath(path: string): { problem: string } | { folder: string; file: string; ext: string } {
  if (!path) return { problem: "empty path" };
  if (new TextEncoder().encode(path).length > MAX_PATH_BYTES) return { problem: `longer than Storage allows (${MAX_PATH_BYTES} bytes)` };
  if (/[\u0000-\u001f\u007f]/.test(path)) return { problem: "contains control characters" };
  if (path.startsWith("/")) return { problem: "starts with /" };
  const segments = path.split("/");
  if (segments.some((s) => s === ".." || s === ".")) return { problem: "contains a '.' or '..' segment" };
  if (segments.length !== 2) return { problem: "not of the form <user_id>/<file>" };
  const [folder, file] = segments as [string, string];
  if (!UUID.test(folder)) return { problem: "first segment is not a user id" };
  if (!FILE_NAME.test(file)) return { problem: "file name has characters outside [A-Za-z0-9._-]" };
  return { folder, file, ext: file.includes(".") ? file.slice(file.lastIndexOf(".") + 1) : "" };
}

/**
 * Why the file cleanup would refuse `path` as an export's file (it quarantines such an export and never deletes
 * the file), or null: `<user_id>/<name>.<ext>`, with an extension an export format may have. The cleanup also
 * wants the folder to be the export's user's and the extension one of the export's format's, which only the row
 * and export_ops_formats can say.
 */
export function exportPathProblem(path: string): string | null {
  const split = splitExportPath(path);
  if ("problem" in split) return split.problem;
  return EXPORT_EXTENSION.test(split.ext) ? null : `extension .${split.ext} does not fit any export format`;
}

/**
 * Input refused, with nothing changed (and, where the input alone tells, no request made); `details.field` names what
 * is wrong. A ValidationError (`bad_request`, 400), as the app's own refusals are.
 */
export class ExportInputError extends ValidationError {
  declare readonly details: { field: string };
  /** `what` is the thing refused ("export path", "export log", "export metric"). */
  constructor(what: string, field: string, problem: string) {
    super(`Invalid ${what}: ${field} ${problem}`, { field });
    this.name = "ExportInputError";
  }
}

/** Why `value` is not a whole number from 0 to `max`, or null. */
export function wholeNumberProblem(value: unknown, max: number): string | null {
  if (typeof value !== "number" || !Number.isFinite(value)) return "must be a number";
  if (!Number.isInteger(value)) return "must be a whole number";
  if (value < 0) return "must not be negative";
  if (value > max) return `must be at most ${max}`;
  return null;
}

/** Conversations in one export, at most (the metric's conversation_count, and the log row's). */
export const MAX_CONVERSATIONS = 10_000_000;

/** An error's kind (error_type, e.g. "StorageError"): text of 1 to 200 characters, trimmed. */
export const isErrorType = (value: unknown): value is string =>
  typeof value === "string" && value.trim().length > 0 && value.trim().length <= 200;
export const ERROR_TYPE_PROBLEM = "must be text of 1 to 200 characters";

/** The first of `input`'s fields that is not one of `allowed`, or undefined. */
export const unknownField = (input: object, allowed: readonly string[]): string | undefined =>
  Object.keys(input).find((k) => !allowed.includes(k));
