/**
 * What `npm run demo` must have done, judged from what it changed rather than from what it printed: the facts are
 * read from the database, Storage and the webhook receiver (scripts/demo.ts), and each claim of the narration is a
 * check here. The demo prints the verdict and exits non-zero when a check fails, so CI judges it by its outcome.
 */
import pg from "pg";

export interface DemoOutcome {
  files: {
    /** Files in Storage whose export is past retention, before the file cleanup and after it. */
    dueBefore: number;
    dueAfter: number;
    /** Export logs `expired`, before and after. */
    expiredBefore: number;
    expiredAfter: number;
  };
  logs: {
    /** Export logs past the log retention, before the log cleanup and after it. */
    pastRetentionBefore: number;
    pastRetentionAfter: number;
    /** Of the logs past retention before, how many are gone from the table and how many are in an archive object. */
    deleted: number;
    archived: number;
  };
  /** Every notification the webhook receiver got, in order. */
  notifications: { alert: string; state: string }[];
  rollupHours: number;
  health: { httpStatus: number; status: string };
}

export interface Check {
  ok: boolean;
  text: string;
}

/** One check per claim the demo makes; all must hold. */
export function judgeDemo(o: DemoOutcome): Check[] {
  const failureRate = o.notifications.filter((n) => n.alert === "export_failure_rate").map((n) => n.state);
  const fired = failureRate.indexOf("firing");
  return [
    {
      ok: o.files.dueBefore > 0 && o.files.dueAfter === 0,
      text: `file cleanup: files past retention in Storage ${o.files.dueBefore} → ${o.files.dueAfter}`,
    },
    {
      ok: o.files.expiredAfter - o.files.expiredBefore >= o.files.dueBefore && o.files.dueBefore > 0,
      text: `file cleanup: logs marked expired ${o.files.expiredBefore} → ${o.files.expiredAfter}`,
    },
    {
      ok: o.logs.pastRetentionBefore > 0 && o.logs.pastRetentionAfter === 0 && o.logs.deleted === o.logs.pastRetentionBefore,
      text: `log cleanup: logs past retention ${o.logs.pastRetentionBefore} → ${o.logs.pastRetentionAfter}, ${o.logs.deleted} deleted`,
    },
    {
      ok: o.logs.deleted > 0 && o.logs.archived === o.logs.deleted,
      text: `log cleanup: ${o.logs.archived} of the ${o.logs.deleted} deleted logs are in the archive`,
    },
    {
      ok: fired >= 0 && failureRate.indexOf("ok", fired) > fired && failureRate.filter((s) => s === "firing").length === 1,
      text: `alert: the webhook received the failure-rate alert ${failureRate.join(" → ") || "never"}`,
    },
    { ok: o.rollupHours > 0, text: `aggregation: rollups cover ${o.rollupHours} hours` },
    {
      ok: o.health.httpStatus === 200 && o.health.status !== "unhealthy",
      text: `health at the end: HTTP ${o.health.httpStatus}, ${o.health.status}`,
    },
  ];
}

const count = async (db: pg.Client, text: string, values: unknown[] = []) => (await db.query<{ n: number }>(text, values)).rows[0]!.n;

/** Files in the exports bucket whose completed export is past the file retention (24 h). */
export const filesDue = (db: pg.Client) =>
  count(
    db,
    `select count(*)::int as n from export_logs l join storage.objects o on o.bucket_id = 'exports' and o.name = l.file_path
     where l.status = 'completed' and l.completed_at < now() - interval '24 hours'`,
  );

export const logsExpired = (db: pg.Client) => count(db, "select count(*)::int as n from export_logs where status = 'expired'");

/** The ids of the export logs past the log retention (30 days). */
export const logsPastRetention = async (db: pg.Client) =>
  (await db.query<{ export_id: string }>("select export_id from export_logs where created_at < now() - interval '30 days'")).rows.map(
    (r) => r.export_id,
  );

export const logsStillThere = (db: pg.Client, ids: string[]) =>
  count(db, "select count(*)::int as n from export_logs where export_id = any ($1::uuid[])", [ids]);

export const rollupHours = (db: pg.Client) => count(db, "select count(*)::int as n from export_ops_metric_hours");
