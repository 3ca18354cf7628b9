/** Fixtures for export logs and their files, inserted set-wise so thousands take milliseconds. */
import { randomUUID } from "node:crypto";
import { parseEnv, type Env } from "../../lib/env";
import { executeJob } from "../../lib/jobs/runner";
import type { JobDefinition, JobResult, SkippedRun } from "../../lib/jobs/job";
import { captureLogger, fixedClock } from "../doubles";
import { systemClock, type Clock } from "../../lib/ports";
import { createObjectStorage, createServiceClient, createSqlApi } from "../../lib/supabase";
import { HOST_FILES, HOST_FILES_BUCKET } from "../fixtures/host-files";
import { serviceHeaders, sql, stack } from "./stack";

export const BUCKET = "exports";

export function testEnv(overrides: Record<string, string> = {}): Env {
  return parseEnv({
    SUPABASE_URL: stack.SUPABASE_URL,
    SUPABASE_SERVICE_ROLE_KEY: stack.SUPABASE_SERVICE_ROLE_KEY,
    CRON_SECRET: "integration-test-cron-secret",
    ...overrides,
  });
}

export function ports(options: { timeoutMs?: number } = {}) {
  const client = createServiceClient(stack.SUPABASE_URL, stack.SUPABASE_SERVICE_ROLE_KEY, options);
  return { db: createSqlApi(client), storage: createObjectStorage(client) };
}

/**
 * What the erasure (and a job's code called without the runner) takes, against the stack: `env`, ports (the
 * stack's, or those given), a clock fixed at now, a logger, and no deadline.
 */
export function stackDeps(env: Env = testEnv(), given: ReturnType<typeof ports> = ports()) {
  return { ...given, env, clock: fixedClock(new Date().toISOString()), logger: captureLogger().logger, deadline: Number.POSITIVE_INFINITY };
}

type RunOptions = { clock?: Clock; deadline?: number; timeoutMs?: number; env?: Env; ports?: ReturnType<typeof ports> };

/** Runs a job through the same runner the routes use, against the stack; a skipped run is a test failure. */
export async function runJob<S extends import("zod").ZodType, R extends JobResult>(
  job: JobDefinition<S, R>,
  options: import("zod").input<S>,
  context: RunOptions = {},
): Promise<R> {
  const result = await invokeJob(job, options, context);
  if ("skipped" in result && result.skipped === true) throw new Error(`${job.id} was skipped: another run holds its lease`);
  return result as R;
}

/** The same, letting a skipped run through (for the lease tests). */
export async function invokeJob<S extends import("zod").ZodType, R extends JobResult>(
  job: JobDefinition<S, R>,
  options: import("zod").input<S>,
  context: RunOptions = {},
): Promise<R | SkippedRun> {
  const capture = captureLogger();
  return executeJob(
    job,
    {
      env: context.env ?? testEnv(),
      ports: context.ports ?? ports({ timeoutMs: context.timeoutMs }),
      clock: context.clock ?? systemClock,
      logger: capture.logger,
      trigger: "script",
      deadline: context.deadline,
    },
    job.optionsSchema.parse(options),
  );
}

export interface SeedOptions {
  count: number;
  status?: "queued" | "processing" | "completed" | "failed" | "expired";
  /** Hours since completion (completed rows) or creation. */
  ageHours: number;
  format?: "json" | "jsonl" | "csv" | "markdown";
  /** Upload a file to each path through the Storage API (see addObjects). */
  withFiles?: boolean;
  userId?: string;
  /** Paths to use instead of the canonical `<user>/<export>.<ext>`. */
  paths?: (string | null)[];
}

const EXT = { json: "json", jsonl: "jsonl", csv: "csv", markdown: "md" } as const;

export async function seedExports(options: SeedOptions): Promise<{ export_id: string; user_id: string; file_path: string | null }[]> {
  const format = options.format ?? "jsonl";
  const status = options.status ?? "completed";
  const { rows } = await sql().query(
    `insert into export_logs (export_id, user_id, format, status, conversation_count, file_path, file_size_bytes,
                              created_at, completed_at, expired_at)
     select e.id, u.id, $2, $3, 10, case when $7::text[] is null then u.id || '/' || e.id || '.' || $4 else ($7::text[])[g] end, 1024,
            now() - make_interval(hours => $5) - interval '5 minutes',
            case when $3 in ('completed', 'expired', 'failed') then now() - make_interval(hours => $5) end,
            case when $3 = 'expired' then now() end
     from generate_series(1, $1) g
     cross join lateral (select gen_random_uuid() as id where g > 0) e
     cross join lateral (select coalesce($6::uuid, gen_random_uuid()) as id where g > 0) u
     returning export_id, user_id, file_path`,
    [options.count, format, status, EXT[format], options.ageHours, options.userId ?? null, options.paths ?? null],
  );
  if (options.withFiles) await addObjects(rows.map((r) => r.file_path).filter(Boolean), options.ageHours);
  return rows;
}

const MIME: Record<string, string> = { json: "application/json", jsonl: "application/x-ndjson", csv: "text/csv", md: "text/markdown" };

/**
 * Files, uploaded through the Storage API with bytes (as the host app writes them), then dated `ageHours` back
 * (Supabase lets SQL update storage.objects, only deletes are refused). 32 uploads at a time.
 */
export async function addObjects(names: string[], ageHours = 0, bucket = BUCKET): Promise<void> {
  const storage = ports().storage;
  const queue = [...new Set(names)];
  const upload = async () => {
    for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
      const ext = name.slice(name.lastIndexOf(".") + 1);
      await storage.upload(bucket, name, `export file ${name}\n`, { contentType: MIME[ext] ?? "text/plain", upsert: true });
    }
  };
  await Promise.all(Array.from({ length: 32 }, upload));
  await sql().query(
    "update storage.objects set created_at = now() - make_interval(hours => $3) where bucket_id = $1 and name = any($2::text[])",
    [bucket, names, ageHours],
  );
}

/** The names of the objects in a bucket, the host app's own files aside (test/host-files checks those). */
export async function objectNames(bucket = BUCKET): Promise<Set<string>> {
  const { rows } = await sql().query<{ name: string }>("select name from storage.objects where bucket_id = $1", [bucket]);
  return new Set(rows.map((r) => r.name).filter((name) => !isHostFile(name, bucket)));
}

/**
 * Files of exports export-ops knew whose logs no longer point at them, written `ageHours` ago: the export failed
 * after writing its file (its log says `failed`), or its log is gone and its metric remains. What the orphan
 * sweep takes once past retention. Returns their paths.
 */
export async function seedOrphans(options: {
  count: number;
  ageHours: number;
  knownBy?: "log" | "metric";
  userId?: string;
}): Promise<string[]> {
  if ((options.knownBy ?? "log") === "log") {
    const rows = await seedExports({
      count: options.count,
      status: "failed",
      ageHours: options.ageHours,
      withFiles: true,
      userId: options.userId,
    });
    return rows.map((r) => r.file_path!);
  }
  const { rows } = await sql().query<{ path: string }>(
    `insert into export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms, recorded_at)
     select gen_random_uuid(), coalesce($2::uuid, gen_random_uuid()), 'jsonl', 'completed', 10, 'small', 100, now() - make_interval(hours => $3)
     from generate_series(1, $1)
     returning user_id || '/' || export_id || '.jsonl' as path`,
    [options.count, options.userId ?? null, options.ageHours],
  );
  const names = rows.map((r) => r.path);
  await addObjects(names, options.ageHours);
  return names;
}

/** One of the host app's own files (test/fixtures/host-files.ts), which no test and no job may delete. */
export const isHostFile = (name: string, bucket = BUCKET) => bucket === HOST_FILES_BUCKET && HOST_FILES.some((f) => f.name === name);

/** Moves the install time back, so objects a test dates back were still written after export-ops was installed. */
export async function installedHoursAgo(hours: number): Promise<void> {
  await sql().query("update export_ops_installation set installed_at = now() - make_interval(hours => $1)", [hours]);
}

/** The environment of a deployment that turned the orphan sweep on for the host's own exports bucket. */
export const sweepEnv = (overrides: Record<string, string> = {}) => testEnv({ EXPORT_ORPHAN_SWEEP: "on", ...overrides });

/**
 * Empties the export tables and the buckets (through the Storage API, as Supabase requires), all but the host
 * app's own files, and sets the install time to now.
 */
export async function resetData(): Promise<void> {
  await sql().query(
    "truncate export_logs, export_ops_file_cleanup, export_ops_archive_batches, export_metrics, export_ops_metric_hours, export_ops_metric_rollups, export_ops_runs, export_ops_leases, export_ops_job_totals, export_ops_alerts, export_ops_alert_transitions, export_ops_archive_objects, export_ops_orphan_cursor, export_ops_checkins, export_ops_occurrences",
  );
  await sql().query("update export_ops_installation set installed_at = now()");
  for (const bucket of [BUCKET, "export-archive"]) {
    const names = [...(await objectNames(bucket))];
    for (let i = 0; i < names.length; i += 1000) {
      const res = await fetch(`${stack.SUPABASE_URL}/storage/v1/object/${bucket}`, {
        method: "DELETE",
        headers: { ...serviceHeaders, "content-type": "application/json" },
        body: JSON.stringify({ prefixes: names.slice(i, i + 1000) }),
      });
      if (!res.ok) throw new Error(`reset: delete failed with ${res.status}`);
    }
  }
}

export const newUserId = () => randomUUID();

/**
 * Calls a job's run() directly, outside the runner, so no lease applies: proves the job's SQL alone keeps
 * overlapping runs safe (the lease is a second line of defence, and a dead run's lease does expire).
 */
export function runWithoutLease<S extends import("zod").ZodType, R extends JobResult>(
  job: JobDefinition<S, R>,
  options: import("zod").input<S>,
  context: { clock?: Clock; env?: Env; ports?: ReturnType<typeof ports> } = {},
): Promise<R> {
  return job.run(
    {
      ...(context.ports ?? ports()),
      env: context.env ?? testEnv(),
      clock: context.clock ?? systemClock,
      logger: captureLogger().logger,
      runId: randomUUID(),
      deadline: Number.POSITIVE_INFINITY,
    },
    job.optionsSchema.parse(options),
  );
}
