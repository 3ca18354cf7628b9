/**
 * The job registry: the single source of truth for each job's id, schedule and options. Routes, vercel.json
 * (kept in step by a test), the run-job script and health all read from here.
 */
import { exportFileCleanup } from "./export-file-cleanup";
import { exportLogCleanup } from "./export-log-cleanup";
import { exportMetricsAggregate } from "./export-metrics-aggregate";
import type { JobDefinition } from "./job";

export const jobs = [exportFileCleanup, exportLogCleanup, exportMetricsAggregate] as const satisfies readonly JobDefinition[];

/** A job by id, with its types erased (for callers that pick a job at run time). */
export function findJob(id: string): JobDefinition | undefined {
  return jobs.find((job) => job.id === id);
}

export { exportFileCleanup, exportLogCleanup, exportMetricsAggregate };
