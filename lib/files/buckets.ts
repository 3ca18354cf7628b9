/**
 * The buckets export-ops works in, as the database sees them: whether each exists, is public, and was created by
 * export-ops. A job checks its buckets before it deletes from or writes to them, and refuses a public or missing
 * one (user exports in a public bucket are world-readable; a missing one means a wrong setting, and deleting
 * "nothing" there would mark logs expired while their files stay elsewhere). The orphan sweep runs by itself
 * only in a bucket export-ops created: one that existed before the install may hold the host app's own files.
 * Detailed health and the ops page show the same judgements.
 */
import type { Env } from "../env";
import { ConfigError } from "../errors";
import type { SqlApi } from "../ports";

export interface BucketState {
  bucket: string;
  purpose: "exports" | "archive";
  exists: boolean;
  public: boolean;
  created_by_export_ops: boolean;
  /** Why no job may use it (public, or missing), or null. */
  problem: string | null;
}

export interface OrphanSweepState {
  enabled: boolean;
  reason: string;
}

const SETTING = { exports: "EXPORTS_BUCKET", archive: "EXPORT_ARCHIVE_BUCKET" } as const;

function problemOf(bucket: string, purpose: BucketState["purpose"], state: { exists: boolean; public: boolean }): string | null {
  if (!state.exists) return `bucket ${bucket} does not exist: create it (private), or set ${SETTING[purpose]} to the bucket you use`;
  if (state.public) {
    return (
      `bucket ${bucket} is public, so every file in it is world-readable: export-ops neither deletes from nor writes to it ` +
      `until it is private (Storage > ${bucket} > Edit bucket > Public off), or ${SETTING[purpose]} names a private bucket`
    );
  }
  return null;
}

/** The exports bucket's state and, when archival is on, the archive bucket's: one SQL call. */
export async function readBuckets(db: SqlApi, env: Pick<Env, "EXPORTS_BUCKET" | "EXPORT_ARCHIVE_BUCKET">): Promise<BucketState[]> {
  const wanted = [
    { bucket: env.EXPORTS_BUCKET, purpose: "exports" as const },
    ...(env.EXPORT_ARCHIVE_BUCKET ? [{ bucket: env.EXPORT_ARCHIVE_BUCKET, purpose: "archive" as const }] : []),
  ];
  const { buckets } = await db.call("export_ops_bucket_states", { p_buckets: wanted.map((w) => w.bucket) });
  return wanted.map(({ bucket, purpose }) => {
    const state = buckets[bucket] ?? { exists: false, public: false, created_by_export_ops: false };
    return { bucket, purpose, ...state, problem: problemOf(bucket, purpose, state) };
  });
}

/** Throws a ConfigError naming every bucket of `purposes` that no job may use, and why; changes nothing. */
export async function assertBucketsUsable(
  db: SqlApi,
  env: Pick<Env, "EXPORTS_BUCKET" | "EXPORT_ARCHIVE_BUCKET">,
  purposes: readonly BucketState["purpose"][],
): Promise<BucketState[]> {
  const states = (await readBuckets(db, env)).filter((s) => purposes.includes(s.purpose));
  const problems = states.flatMap((s) => (s.problem ? [s.problem] : []));
  if (problems.length > 0) throw new ConfigError(`Refused: ${problems.join("; ")}`);
  return states;
}

/** Whether the orphan sweep may delete in the exports bucket, and why (the run result and health say it). */
export function orphanSweepState(setting: Env["EXPORT_ORPHAN_SWEEP"], exports: Pick<BucketState, "bucket" | "created_by_export_ops">): OrphanSweepState {
  if (setting === "off") return { enabled: false, reason: "EXPORT_ORPHAN_SWEEP=off" };
  if (setting === "on") return { enabled: true, reason: "EXPORT_ORPHAN_SWEEP=on" };
  if (exports.created_by_export_ops) return { enabled: true, reason: `bucket ${exports.bucket} was created by export-ops` };
  return {
    enabled: false,
    reason:
      `bucket ${exports.bucket} existed before export-ops was installed and may hold your app's own files: ` +
      "check what a dry run lists (sample_orphans), then set EXPORT_ORPHAN_SWEEP=on to sweep it",
  };
}
