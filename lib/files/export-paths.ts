/**
 * The export path layout inside the exports bucket: `<user_id>/<name>.<ext>`, one folder per user, where the
 * extension fits the format. Cleanup deletes only paths of this shape, and only a log's own user's folder, so a
 * malformed or hostile `file_path` can never reach another user's files, another bucket, or anything else.
 */
import { splitExportPath } from "../host/rules";

/**
 * Each export format and the file extensions its files may carry, the first one canonical. The one place they are
 * configured is the table export_ops_formats (read with `export_ops_formats()`); a host adds its own formats there.
 */
export type ExportFormats = Readonly<Record<string, readonly string[]>>;

/** What the migrations seed export_ops_formats with: the formats export-ops started with. */
export const SEED_FORMATS: ExportFormats = {
  json: ["json"],
  jsonl: ["jsonl"],
  csv: ["csv"],
  markdown: ["md", "markdown"],
};

export { MAX_PATH_BYTES } from "../host/rules";
/** The canonical path a host app should write an export to. */
export function exportPath(userId: string, exportId: string, format: string, formats: ExportFormats = SEED_FORMATS): string {
  const ext = formats[format]?.[0];
  if (!ext) throw new Error(`unknown export format ${format}`);
  return `${userId}/${exportId}.${ext}`;
}

/** The format whose files carry this extension, or undefined. */
export function formatOfExtension(formats: ExportFormats, ext: string): string | undefined {
  return Object.keys(formats).find((format) => formats[format]!.includes(ext));
}

/**
 * Why a path must not be deleted, or null when it is a well-formed export path. With an owner, the path must
 * sit in that user's folder with an extension of that format; without one, any user folder and any format's
 * extension will do.
 */
export function unsafePathReason(
  path: string | null | undefined,
  formats: ExportFormats,
  owner?: { user_id: string; format: string },
): string | null {
  const split = splitExportPath(path ?? "");
  if ("problem" in split) return split.problem;
  if (owner && split.folder.toLowerCase() !== owner.user_id.toLowerCase()) return "not in the export owner's folder";
  const allowed: readonly string[] = owner ? (formats[owner.format] ?? []) : Object.values(formats).flat();
  if (!allowed.includes(split.ext)) return `extension .${split.ext} does not fit ${owner ? `format ${owner.format}` : "any export format"}`;
  return null;
}
