/** The registry, the routes and vercel.json must agree: every job has a route and a cron with its schedule. */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { jobs } from "./index";

const root = path.resolve(__dirname, "../..");
const vercel = JSON.parse(readFileSync(path.join(root, "vercel.json"), "utf8")) as { crons: { path: string; schedule: string }[] };

describe("job registry", () => {
  it("lists each id once, in kebab-case", () => {
    const ids = jobs.map((j) => j.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z]+(-[a-z]+)*$/);
  });

  it("has exactly one vercel.json cron per job, with the registry's schedule", () => {
    expect(vercel.crons.map((c) => c.path).sort()).toEqual(jobs.map((j) => `/api/cron/${j.id}`).sort());
    for (const job of jobs) expect(vercel.crons.find((c) => c.path === `/api/cron/${job.id}`)?.schedule).toBe(job.schedule);
  });

  it.each(jobs.map((j) => [j.id, j] as const))("%s has a thin route using withCron with the job's maxDuration", (id, job) => {
    const file = path.join(root, "app/api/cron", id, "route.ts");
    expect(existsSync(file)).toBe(true);
    const source = readFileSync(file, "utf8");
    expect(source).toMatch(/export const GET = withCron\(\w+\);/);
    expect(source).toContain(`export const maxDuration = ${job.maxDurationSeconds};`);
    expect(source).toContain('export const dynamic = "force-dynamic";');
  });

  it.each(jobs.map((j) => [j.id, j] as const))("the route of %s runs that job and no other", async (id, job) => {
    const route = (await import(path.join(root, "app/api/cron", id, "route.ts"))) as { GET: { job?: unknown } };
    expect(route.GET.job).toBe(job);
  });
});
