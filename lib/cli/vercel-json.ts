/**
 * export-ops' schedules in a host's `vercel.json`: Cron Jobs (`crons`, the default) or Vercel Schedules
 * (`schedules`, with `--schedules`), derived from the job registry. The host's own entries are kept, the file's
 * indentation too; an entry of export-ops' path with another schedule is the host's choice and is kept as it is.
 * A file that would not read back the same after a rewrite (comments, odd spacing) is not edited: init prints the
 * entries to add instead.
 */
import { jobs } from "../jobs";

export type ScheduleForm = "crons" | "schedules";

interface CronEntry {
  path: string;
  schedule: string;
}
interface ScheduleEntry extends CronEntry {
  requestMethod: "GET";
}

type VercelJson = Record<string, unknown> & { crons?: CronEntry[]; schedules?: Record<string, ScheduleEntry> };

export const cronPath = (jobId: string) => `/api/cron/${jobId}`;

/** The entries init adds, one per job. */
export function scheduleEntries(form: ScheduleForm): Record<string, unknown> {
  if (form === "crons") return { crons: jobs.map((j) => ({ path: cronPath(j.id), schedule: j.schedule })) };
  return { schedules: Object.fromEntries(jobs.map((j) => [j.id, { schedule: j.schedule, path: cronPath(j.id), requestMethod: "GET" }])) };
}

export type JsonEdit = { kind: "changed"; content: string | null } | { kind: "unchanged" } | { kind: "manual"; reason: string };

/** The host's vercel.json (or none) with export-ops' schedules added. */
export function addSchedules(source: string | null, form: ScheduleForm): JsonEdit {
  if (source !== null && hasEveryEntry(source, form)) return { kind: "unchanged" };
  const read = readJson(source);
  if ("reason" in read) return { kind: "manual", reason: read.reason };
  const config = read.value;
  const added = form === "crons" ? addCrons(config) : addScheduleEntries(config);
  if (!added) return { kind: "unchanged" };
  return { kind: "changed", content: write(config, read.format) };
}

/** The host's vercel.json without export-ops' schedules; `null` content when init created the file. */
export function removeSchedules(source: string, form: ScheduleForm): JsonEdit {
  const read = readJson(source);
  if ("reason" in read) return { kind: "manual", reason: read.reason };
  const config = read.value;
  const ours = new Set(jobs.map((j) => cronPath(j.id)));
  const mine = (e: CronEntry, j = jobs.find((x) => cronPath(x.id) === e.path)) => j !== undefined && e.schedule === j.schedule;
  let removed = false;
  if (form === "crons" && Array.isArray(config.crons)) {
    const kept = config.crons.filter((e) => !(ours.has(e.path) && mine(e)));
    removed = kept.length !== config.crons.length;
    if (kept.length === 0) delete config.crons;
    else config.crons = kept;
  }
  if (form === "schedules" && config.schedules) {
    for (const job of jobs) {
      const entry = config.schedules[job.id];
      if (entry && mine(entry)) {
        delete config.schedules[job.id];
        removed = true;
      }
    }
    if (Object.keys(config.schedules).length === 0) delete config.schedules;
  }
  if (!removed) return { kind: "unchanged" };
  return { kind: "changed", content: Object.keys(config).length === 0 ? null : write(config, read.format) };
}

/** Whether the file, however it is laid out, already schedules every job's path. */
function hasEveryEntry(source: string, form: ScheduleForm): boolean {
  try {
    const config = JSON.parse(source) as VercelJson;
    const paths =
      form === "crons"
        ? (Array.isArray(config.crons) ? config.crons : []).map((e) => e.path)
        : Object.values(config.schedules ?? {}).map((e) => e.path);
    return jobs.every((j) => paths.includes(cronPath(j.id)));
  } catch {
    return false;
  }
}

function addCrons(config: VercelJson): boolean {
  const crons = (config.crons ??= []);
  const missing = jobs.filter((j) => !crons.some((e) => e.path === cronPath(j.id)));
  crons.push(...missing.map((j) => ({ path: cronPath(j.id), schedule: j.schedule })));
  return missing.length > 0;
}

function addScheduleEntries(config: VercelJson): boolean {
  const schedules = (config.schedules ??= {});
  const missing = jobs.filter((j) => !schedules[j.id] && !Object.values(schedules).some((e) => e.path === cronPath(j.id)));
  for (const j of missing) schedules[j.id] = { schedule: j.schedule, path: cronPath(j.id), requestMethod: "GET" };
  return missing.length > 0;
}

interface Format {
  indent: string | number;
  newline: boolean;
}

function readJson(source: string | null): { value: VercelJson; format: Format } | { reason: string } {
  if (source === null) return { value: {}, format: { indent: 2, newline: true } };
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    return { reason: `it is not plain JSON (${(error as Error).message})` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { reason: "it is not a JSON object" };
  const format = { indent: /^\{\r?\n([ \t]+)"/.exec(source)?.[1] ?? 2, newline: source.endsWith("\n") };
  const config = value as VercelJson;
  if (write(structuredClone(config), format) !== source)
    return { reason: "rewriting it would change more than export-ops' entries (its spacing)" };
  if (config.crons !== undefined && !Array.isArray(config.crons)) return { reason: "its `crons` is not a list" };
  return { value: config, format };
}

const write = (config: VercelJson, format: Format) => `${JSON.stringify(config, null, format.indent)}${format.newline ? "\n" : ""}`;
