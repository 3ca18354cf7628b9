/**
 * The plans of the statements the SQL API functions really run: each function is called as the jobs and the ops
 * page call it (as service_role, inside a transaction that is rolled back), with auto_explain logging every
 * nested statement's plan to this session. For each function the bench prints the scans its statements use on
 * the big tables, and checks that the index it depends on is among them.
 */
import type pg from "pg";

interface PlanCheck {
  fn: string;
  call: string;
  /** The index the function depends on at scale. */
  expects: string;
}

const SCAN = /(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan)(?: Backward)? (?:using (\S+) )?on (\S+)/g;
const BIG_TABLES = new Set([
  "export_logs",
  "export_metrics",
  "export_ops_metric_hours",
  "export_ops_metric_rollups",
  "objects",
  "export_ops_runs",
]);

export function planChecks(day: string): PlanCheck[] {
  return [
    {
      fn: "export_ops_file_cleanup_batch",
      call: "select export_ops_file_cleanup_batch(gen_random_uuid(), 24, 1000)",
      expects: "export_ops_logs_completed_idx",
    },
    {
      fn: "export_ops_delete_logs",
      call: "select export_ops_delete_logs(20000, now() - interval '30 days')",
      expects: "export_ops_logs_created_idx",
    },
    {
      fn: "export_ops_claim_log_batch",
      call: "select export_ops_claim_log_batch('export-archive', 10000, now() - interval '30 days')",
      expects: "export_ops_logs_created_idx",
    },
    {
      fn: "export_ops_archive_batch_text",
      call: "select length(export_ops_archive_batch_text(export_ops_claim_log_batch('export-archive', 10000, now() - interval '30 days') ->> 'batch'))",
      expects: "export_logs_pkey",
    },
    {
      fn: "export_ops_orphan_page",
      call: "select export_ops_orphan_page('exports', 24, 24, 1000, false)",
      expects: "export_ops_logs_file_path_idx",
    },
    {
      fn: "export_ops_metrics_summary",
      call: `select export_ops_metrics_summary('${day}', '${day}'::timestamptz + interval '1 day')`,
      expects: "export_ops_metrics_recorded_idx",
    },
    {
      fn: "export_ops_rollup_metrics",
      call: `select export_ops_rollup_metrics(24, '${day}'::timestamptz + interval '1 day 6 minutes')`,
      expects: "export_ops_metrics_recorded_idx",
    },
    { fn: "export_ops_page_exports", call: "select export_ops_page_exports()", expects: "export_ops_metric_hours_pkey" },
    {
      fn: "export_ops_page_jobs",
      call: "select export_ops_page_jobs(array['export-file-cleanup', 'export-log-cleanup', 'export-metrics-aggregate'], 24, 30)",
      expects: "export_ops_runs_job_started_idx",
    },
  ];
}

/** Seeds a mixed history (200k logs of every age, 200k metrics over 10 days) for the plans. */
export async function seedForPlans(db: pg.Client, day: string): Promise<void> {
  await db.query("truncate export_logs, export_metrics, export_ops_metric_hours, export_ops_runs cascade");
  await db.query(
    `insert into export_logs (user_id, format, status, conversation_count, file_path, file_size_bytes, created_at, completed_at, expired_at)
     select u, 'jsonl', s, 10, u || '/' || gen_random_uuid() || '.jsonl', 1000, now() - age, now() - age, case when s = 'expired' then now() - age end
     from generate_series(1, 200000) g,
          lateral (select ('00000000-0000-4000-8000-' || lpad(to_hex(g % 500), 12, '0'))::uuid as u,
                          case when g % 10 < 6 then 'expired' else 'completed' end as s,
                          make_interval(hours => case when g % 10 < 6 then 24 * 40 when g % 10 < 7 then 30 else g % 20 end) as age) x`,
  );
  await db.query(
    `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms, recorded_at)
     select gen_random_uuid(), gen_random_uuid(), 'jsonl', case when g % 13 = 0 then 'failed' else 'completed' end, 10, 'small',
            100 + g % 60000, $1::timestamptz - interval '5 days' + make_interval(secs => g * 4.32)
     from generate_series(1, 200000) g`,
    [day],
  );
  await db.query(`select export_ops_rollup_metrics(168, $1::timestamptz + interval '6 days')`, [day]);
  await db.query("vacuum analyze export_logs, export_metrics, export_ops_metric_hours, export_ops_metric_rollups");
}

/** Runs each function with auto_explain on; returns one line per function (its scans on the big tables). */
export async function capturePlans(db: pg.Client, checks: PlanCheck[]): Promise<string[]> {
  const notices: string[] = [];
  const onNotice = (n: { message?: string }) => notices.push(n.message ?? "");
  db.on("notice", onNotice);
  const lines: string[] = [];
  try {
    await db.query("load 'auto_explain'");
    await db.query(
      "set auto_explain.log_min_duration = 0; set auto_explain.log_nested_statements = on; set auto_explain.log_analyze = on; set auto_explain.log_timing = off; set client_min_messages = log",
    );
    for (const check of checks) {
      notices.length = 0;
      await db.query("begin; set local role service_role");
      try {
        await db.query(check.call);
      } finally {
        await db.query("rollback");
      }
      const scans = new Set<string>();
      for (const notice of notices.filter((n) => !n.includes(check.call))) {
        for (const m of notice.matchAll(SCAN))
          if (BIG_TABLES.has(m[3]!.replace(/^public\./, ""))) scans.add(m[2] ? `${m[1]} using ${m[2]} on ${m[3]}` : `${m[1]} on ${m[3]}`);
      }
      const uses = [...scans].some((s) => s.includes(`using ${check.expects} `));
      lines.push(
        `- ${check.fn}: ${uses ? "uses" : "DOES NOT use"} \`${check.expects}\`; scans: ${[...scans].join("; ") || "none on the big tables"}`,
      );
    }
  } finally {
    db.off("notice", onNotice);
    await db.query("set client_min_messages = notice; set auto_explain.log_min_duration = -1").catch(() => {});
  }
  return lines;
}
