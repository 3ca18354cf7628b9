/**
 * The ops page's server time, in process: every panel's SQL read through PostgREST (as the page reads them) and
 * the page's HTML rendered (lib/ops-page), median of 5 after one warm-up. Measured at the demo's size and again with
 * 1M metric rows over the last 30 days, rolled up. (`npm run test:browser` prints the same page's time through
 * `next start`.)
 */
import pg from "pg";
import { dashboardView } from "../../lib/ops-page/dashboard";
import { jobs } from "../../lib/jobs";
import { readOpsPanels } from "../../lib/ops/page-data";
import { systemClock } from "../../lib/ports";
import { createSupabasePorts } from "../../lib/supabase";
import { parseEnv } from "../../lib/env";
import { seedDemo } from "../demo-seed";
import type { StackEnv } from "../local-stack";

async function pageTime(env: StackEnv): Promise<number> {
  const db = createSupabasePorts(parseEnv({ SUPABASE_URL: env.SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY: env.SUPABASE_SERVICE_ROLE_KEY })).db;
  const once = async () => {
    const started = performance.now();
    const panels = await readOpsPanels(db, jobs, { exportsBucket: "exports", fileRetentionHours: 24, logRetentionDays: 30 }, systemClock);
    const html = dashboardView(panels).value;
    if (!html.includes("Recent runs")) throw new Error("the ops page did not render");
    return performance.now() - started;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < 5; i += 1) times.push(await once());
  return times.sort((a, b) => a - b)[2]!;
}

async function rollUpEverything(db: pg.Client): Promise<void> {
  for (let i = 0; i < 20; i += 1) {
    const { rows } = await db.query<{ r: { remaining: number } }>("select export_ops_rollup_metrics(168) as r");
    if (rows[0]!.r.remaining === 0) return;
  }
}

export async function opsPageTimes(env: StackEnv, db: pg.Client): Promise<{ demo_ms: number; million_ms: number }> {
  await db.query("truncate export_logs, export_metrics, export_ops_metric_hours, export_ops_runs, export_ops_alerts cascade");
  await db.query("begin; set local storage.allow_delete_query = 'true'; delete from storage.objects; commit;");
  await seedDemo(env);
  await rollUpEverything(db);
  const demo_ms = await pageTime(env);

  await db.query("truncate export_metrics, export_ops_metric_hours cascade");
  await db.query(
    `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms, file_size_bytes, error_type, recorded_at)
     select gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad(to_hex(g % 500), 12, '0'))::uuid,
            (array['json','jsonl','csv','markdown'])[1 + g % 4], case when g % 13 = 0 then 'failed' else 'completed' end,
            g % 3000, case when g % 3000 < 100 then 'small' when g % 3000 < 1000 then 'medium' else 'large' end,
            100 + (g::bigint * 7919) % 60000, case when g % 13 = 0 then null else 1000 end,
            case when g % 13 = 0 then (array['TimeoutError','StorageError','DatabaseError'])[1 + g % 3] end,
            now() - interval '30 days' + make_interval(secs => g * 2.592)
     from generate_series(1, 1000000) g`,
  );
  await db.query("vacuum analyze export_metrics");
  await rollUpEverything(db);
  const million_ms = await pageTime(env);
  return { demo_ms, million_ms };
}
