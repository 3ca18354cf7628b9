/**
 * Per-user erasure, for a deletion request: deletes one user's export files, export logs (archived first when
 * an archive bucket is given) and raw export metrics. Files go first, through the same path checks as the file
 * cleanup, so a crash leaves logs that still point at any file not yet deleted; running it again finishes.
 */
import { z } from "zod";
import { ValidationError } from "../errors";
import type { JobDeps } from "../ports";
import { unsafePathReason } from "./export-paths";
import { METRICS_BATCH } from "./export-log-cleanup";
import { deleteLogsInBatches } from "./log-archive";

const MAX_STORAGE_BATCH = 1000;

export const userIdSchema = z.guid({ error: "must be a UUID" });

export interface ErasureResult {
  user_id: string;
  files_found: number;
  files_deleted: number;
  logs_deleted: number;
  archived_count: number;
  metrics_deleted: number;
  archive_objects: string[];
  errors: string[];
  has_more: boolean;
  dry_run: boolean;
}

type Deps = Pick<JobDeps, "db" | "storage" | "clock" | "logger" | "deadline" | "env">;

export async function cleanupUserExportLogs(
  deps: Deps,
  input: { userId: string; dryRun?: boolean; archiveBucket?: string },
): Promise<ErasureResult> {
  const parsed = userIdSchema.safeParse(input.userId);
  if (!parsed.success) throw new ValidationError("Invalid user id: must be a UUID", { field: "user_id" });
  const userId = parsed.data.toLowerCase();
  const { db, storage, env, logger } = deps;
  const bucket = env.EXPORTS_BUCKET;

  const files = (await db.call<{ name: string }[]>("export_ops_user_files", { p_user_id: userId, p_bucket: bucket })).map((f) => f.name);
  // only the user's own folder, in the export layout: a log pointing elsewhere is reported, never followed
  const safe = files.filter((name) => unsafePathReason(name, { user_id: userId, format: formatOf(name) }) === null);
  const result: ErasureResult = {
    user_id: userId,
    files_found: files.length,
    files_deleted: 0,
    logs_deleted: 0,
    archived_count: 0,
    metrics_deleted: 0,
    archive_objects: [],
    errors: files.filter((f) => !safe.includes(f)).map((f) => `not deleted, outside the user's export folder: ${f.slice(0, 200)}`),
    has_more: false,
    dry_run: input.dryRun ?? false,
  };
  if (result.dry_run) return result;

  for (let i = 0; i < safe.length; i += MAX_STORAGE_BATCH) {
    result.files_deleted += (await storage.remove(bucket, safe.slice(i, i + MAX_STORAGE_BATCH))).length;
  }
  const logs = await deleteLogsInBatches(deps, { userId }, { archiveBucket: input.archiveBucket });
  Object.assign(result, { logs_deleted: logs.deleted, archived_count: logs.archived, archive_objects: logs.archiveObjects });
  result.errors.push(...logs.errors);
  if (logs.finished) {
    let deleted: number;
    do {
      deleted = await db.call<number>("export_ops_delete_metrics", { p_user_id: userId, p_limit: METRICS_BATCH });
      result.metrics_deleted += deleted;
    } while (deleted === METRICS_BATCH);
  }
  result.has_more = !logs.finished;
  logger.info({ type: "user_erasure", ...result, archive_objects: result.archive_objects.length });
  return result;
}

/** The format a file name's extension stands for (the path check wants the owner's format). */
function formatOf(name: string): string {
  const ext = name.slice(name.lastIndexOf(".") + 1);
  return ext === "md" || ext === "markdown" ? "markdown" : ext;
}
