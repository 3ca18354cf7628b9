/**
 * Seeds the demo history into a stack: supabase/seed.sql for the rows, then a real file in Storage for every
 * completed export (through the Storage API), plus a few orphaned files: files failed exports wrote before they
 * failed, which no log points at. export-ops counts as installed before that history began.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createObjectStorage, createServiceClient } from "../lib/supabase";
import type { StackEnv } from "./local-stack";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const UPLOADS_IN_FLIGHT = 16;

export async function seedDemo(env: StackEnv, bucket = "exports"): Promise<{ exports: number; files: number; orphans: number }> {
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  await db.connect();
  try {
    await db.query(await readFile(path.join(root, "supabase/seed.sql"), "utf8"));
    // the history is export-ops' own: it was installed before the oldest export
    await db.query("update export_ops_installation set installed_at = (select min(created_at) - interval '1 hour' from export_logs)");
    const { rows: files } = await db.query<{ file_path: string; format: string; completed_at: Date }>(
      "select file_path, format, completed_at from export_logs where status = 'completed' and file_path is not null",
    );
    const { rows: orphans } = await db.query<{ file_path: string; format: string; completed_at: Date }>(
      `select user_id || '/' || export_id || '.' || (case format when 'markdown' then 'md' else format end) as file_path, format, completed_at
       from export_logs where status = 'failed' and created_at between now() - interval '6 days' and now() - interval '2 days'
       order by created_at limit 5`,
    );
    const storage = createObjectStorage(createServiceClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY));
    const all = [...files, ...orphans];
    for (let i = 0; i < all.length; i += UPLOADS_IN_FLIGHT) {
      await Promise.all(
        all.slice(i, i + UPLOADS_IN_FLIGHT).map((f) =>
          storage.upload(bucket, f.file_path, `{"export":"${f.file_path}","format":"${f.format}"}\n`, {
            contentType: "application/json",
            upsert: true,
          }),
        ),
      );
    }
    // Storage stamps objects "now"; date them like the exports that wrote them.
    await db.query(
      `update storage.objects o set created_at = t.at, updated_at = t.at
       from unnest($1::text[], $2::timestamptz[]) as t (name, at) where o.bucket_id = $3 and o.name = t.name`,
      [all.map((f) => f.file_path), all.map((f) => f.completed_at), bucket],
    );
    const { rows } = await db.query<{ n: number }>("select count(*)::int as n from export_logs");
    return { exports: rows[0]!.n, files: files.length, orphans: orphans.length };
  } finally {
    await db.end();
  }
}
