/**
 * The job registry: the single source of truth for each job's id, schedule and options. Routes, vercel.json
 * (kept in step by a test), the run-job script and health all read from here.
 */
import { exportFileCleanup } from "./export-file-cleanup";
import type { JobDefinition } from "./job";

export const jobs = [exportFileCleanup] as const satisfies readonly JobDefinition[];

export type JobId = (typeof jobs)[number]["id"];

export function findJob(id: string): (typeof jobs)[number] | undefined {
  return jobs.find((job) => job.id === id);
}

export { exportFileCleanup };
