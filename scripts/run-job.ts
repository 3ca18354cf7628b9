/**
 * Runs one job against the configured Supabase project (env from the shell or .env.local) and prints its
 * result as JSON on stdout; log lines go to stderr.
 *
 *   npm run job -- export-file-cleanup --dry-run --retention-hours 48
 *
 * Flags are the job's query options in kebab-case (`--dry-run` = `?dry_run=true`), validated by the same
 * schema as the route. The file cleanup's quarantine is looked at and released here too:
 *
 *   npm run job -- export-file-cleanup --quarantined          # list quarantined exports, with their reasons
 *   npm run job -- export-file-cleanup --release <export_id>  # let the next run try it again
 */
import pino from "pino";
import { getEnv } from "../lib/env";
import { isAppError } from "../lib/errors";
import { parseQuery } from "../lib/http/with-cron";
import { findJob, jobs } from "../lib/jobs";
import { executeJob } from "../lib/jobs/runner";
import { createLogger } from "../lib/logger";
import { systemClock } from "../lib/ports";
import { createSupabasePorts } from "../lib/supabase";
import type { z } from "zod";
import { argsToQuery } from "./cli-args";

async function main(argv: string[]): Promise<number> {
  const [id, ...flags] = argv;
  const job = id ? findJob(id) : undefined;
  if (!job) {
    process.stderr.write(`usage: npm run job -- <job> [--dry-run] [--option value]\njobs: ${jobs.map((j) => j.id).join(", ")}\n`);
    return 2;
  }
  const logger = createLogger({ destination: pino.destination({ dest: 2, sync: true }) });
  try {
    const quarantineFlags: Record<string, { type: "boolean" | "string" }> =
      job.id === "export-file-cleanup" ? { quarantined: { type: "boolean" }, release: { type: "string" } } : {};
    const { query, extra } = argsToQuery(job.optionsSchema as z.ZodObject, flags, quarantineFlags);
    if (extra.quarantined || extra.release !== undefined)
      return await quarantine(extra as { quarantined?: boolean; release?: string }, query);
    const options = parseQuery(job.optionsSchema, query);
    const env = getEnv();
    const result = await executeJob(job, { env, ports: createSupabasePorts(env), clock: systemClock, logger, trigger: "script" }, options);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`${job.id}: ${isAppError(error) || error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

/** The file cleanup's quarantine: list it, or release one export from it. */
async function quarantine(flags: { quarantined?: boolean; release?: string }, rest: URLSearchParams): Promise<number> {
  if ((flags.quarantined && flags.release !== undefined) || [...rest.keys()].length > 0) {
    process.stderr.write("usage: npm run job -- export-file-cleanup --quarantined | --release <export_id>\n");
    return 2;
  }
  const { db } = createSupabasePorts(getEnv());
  if (flags.quarantined) {
    const list = await db.call("export_ops_file_cleanup_quarantined", { p_limit: 100 });
    process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return 0;
  }
  const id = flags.release!;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
    process.stderr.write(`--release takes an export id (a UUID), got ${JSON.stringify(id.slice(0, 60))}\n`);
    return 2;
  }
  const released = await db.call("export_ops_file_cleanup_release", { p_export_id: id });
  process.stdout.write(released ? `released ${id}: the next run tries it again\n` : `${id} is not quarantined\n`);
  return released ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
