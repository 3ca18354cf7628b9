/**
 * The common way to write these jobs, kept only for the benchmark: what a typical team has today. Written
 * plainly with supabase-js, not slowed on purpose: pages of rows through the table API, one Storage delete per
 * file (a page of them at once), logs deleted 100 ids at a time, metrics averaged in Node.
 */
import type { SupabaseClient } from "@supabase/supabase-js";

const PAGE = 1000;

/** Loads every metric of the period into memory, then computes the summary in JavaScript. */
export async function naiveAggregate(client: SupabaseClient, from: Date, to: Date) {
  const rows: {
    id: number;
    format: string;
    status: string;
    duration_ms: number;
    file_size_bytes: number | null;
    user_id: string;
    error_type: string | null;
    recorded_at: string;
  }[] = [];
  // pages by id (keyset): kinder to the naive version than .range() offsets, which grow quadratically
  for (let last = 0; ;) {
    const { data, error } = await client
      .from("export_metrics")
      .select("id,format,status,duration_ms,file_size_bytes,user_id,error_type,recorded_at")
      .gte("recorded_at", from.toISOString())
      .lt("recorded_at", to.toISOString())
      .gt("id", last)
      .order("id")
      .limit(PAGE);
    if (error) throw new Error(error.message);
    rows.push(...data);
    if (data.length < PAGE) break;
    last = data[data.length - 1]!.id;
  }
  const ok = rows.filter((r) => r.status === "completed");
  const byFormat: Record<string, number[]> = {};
  for (const r of ok) (byFormat[r.format] ??= []).push(r.duration_ms);
  const pct = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const duration = Object.fromEntries(
    Object.entries(byFormat).map(([format, d]) => {
      const sorted = [...d].sort((a, b) => a - b);
      return [
        format,
        { count: d.length, avg_ms: d.reduce((a, b) => a + b, 0) / d.length, p50_ms: pct(sorted, 0.5), p95_ms: pct(sorted, 0.95) },
      ];
    }),
  );
  const users: Record<string, number> = {};
  for (const r of rows) users[r.user_id] = (users[r.user_id] ?? 0) + 1;
  return {
    total: rows.length,
    successful: ok.length,
    failed: rows.length - ok.length,
    duration,
    top_users: Object.entries(users)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10),
  };
}

/** Finds old logs and deletes them 100 ids at a time. */
export async function naiveLogCleanup(client: SupabaseClient, cutoff: Date): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { data, error } = await client
      .from("export_logs")
      .select("export_id")
      .lt("created_at", cutoff.toISOString())
      .in("status", ["expired", "failed"])
      .limit(100);
    if (error) throw new Error(error.message);
    if (data.length === 0) return deleted;
    const del = await client
      .from("export_logs")
      .delete()
      .in(
        "export_id",
        data.map((r) => r.export_id),
      );
    if (del.error) throw new Error(del.error.message);
    deleted += data.length;
  }
}

/** Finds expired exports a page at a time; deletes each file with its own Storage call and marks its log. */
export async function naiveFileCleanup(client: SupabaseClient, bucket: string, cutoff: Date): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { data, error } = await client
      .from("export_logs")
      .select("export_id,file_path")
      .eq("status", "completed")
      .lt("completed_at", cutoff.toISOString())
      .limit(100);
    if (error) throw new Error(error.message);
    if (data.length === 0) return deleted;
    await Promise.all(
      data.map(async (row) => {
        const removed = await client.storage.from(bucket).remove([row.file_path]);
        if (removed.error) return;
        const marked = await client
          .from("export_logs")
          .update({ status: "expired", expired_at: new Date().toISOString() })
          .eq("export_id", row.export_id);
        if (!marked.error) deleted += 1;
      }),
    );
  }
}

/** Rolls up each hour of a day by loading its rows into Node (as in naiveAggregate) and inserting the totals. */
export async function naiveRollup(client: SupabaseClient, day: Date): Promise<number> {
  let rows = 0;
  for (let h = 0; h < 24; h += 1) {
    const from = new Date(day.getTime() + h * 3_600_000);
    const summary = await naiveAggregate(client, from, new Date(from.getTime() + 3_600_000));
    const { error } = await client
      .from("export_ops_metric_hours")
      .upsert({ hour: from.toISOString(), total: summary.total, completed: summary.successful, failed: summary.failed });
    if (error) throw new Error(error.message);
    rows += summary.total;
  }
  return rows;
}
