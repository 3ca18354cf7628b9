// The ops page's reads: the database port (the deployment's, or a test's), each failure turned into a message safe
// to show, and a failed panel's detail logged once per panel.
import { describeCheckinTargets } from "../checkins/checkins";
import { getEnv, type Env } from "../env";
import { publicError } from "../errors";
import { jobs } from "../jobs";
import type { Logger } from "../logger";
import { readOpsPanels, type OpsPanels } from "../ops/page-data";
import type { Clock, ObjectStorage, SqlApi } from "../ports";
import { createSupabasePorts } from "../supabase";

export interface ReadContext {
  /** The database; the deployment's (SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY) when left out. */
  db?: SqlApi;
  /** Storage, for the buckets' versioning; the deployment's when `db` is left out, else none unless given. */
  storage?: ObjectStorage;
  clock: Clock;
  logger: Logger;
}

export type OpsRead<T> = { ok: true; value: T } | { ok: false; message: string };

/** Runs a read with the deployment's env and database; a failure becomes a message safe to show, and a log line. */
export async function opsRead<T>(
  context: ReadContext,
  read: (db: SqlApi, env: Env, storage?: ObjectStorage) => Promise<T>,
): Promise<OpsRead<T>> {
  try {
    const env = getEnv();
    const ports = context.db ? { db: context.db, storage: context.storage } : createSupabasePorts(env);
    return { ok: true, value: await read(ports.db, env, ports.storage) };
  } catch (error) {
    const { body } = publicError(error);
    context.logger.error({ type: "ops_page_failed", error: body, err: error }, `ops page: ${body.message}`);
    return { ok: false, message: body.message };
  }
}

/** Every panel, as configured by the deployment's env. */
export function readPanels(db: SqlApi, env: Env, clock: Clock, storage?: ObjectStorage): Promise<OpsPanels> {
  const settings = {
    exportsBucket: env.EXPORTS_BUCKET,
    archiveBucket: env.EXPORT_ARCHIVE_BUCKET,
    archiveTarget: env.EXPORT_ARCHIVE_TARGET,
    orphanSweep: env.EXPORT_ORPHAN_SWEEP,
    fileRetentionHours: env.EXPORT_FILE_RETENTION_HOURS,
    logRetentionDays: env.EXPORT_LOG_RETENTION_DAYS,
    checkinTargets: describeCheckinTargets(
      env,
      jobs.map((j) => j.id),
    ),
  };
  return readOpsPanels(db, jobs, settings, clock, storage);
}

/** A panel whose read failed shows its message; the detail goes to the log, once per panel. */
export function logPanelFailures(panels: OpsPanels, logger: Logger): void {
  for (const panel of ["jobs", "alerts", "exports", "cleanup", "runs"] as const) {
    const read = panels[panel];
    if (!read.ok) {
      logger.error(
        { type: "ops_page_failed", panel, error: publicError(read.error).body, err: read.error },
        `ops page: the ${panel} panel could not be read: ${read.message}`,
      );
    }
  }
}
