/**
 * The registry, the routes, vercel.json and the README's Vercel Schedules form must agree: every job has a route, a
 * cron and a schedule with its expression.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { routeFiles } from "../cli/route-files";
import { addSchedules } from "../cli/vercel-json";
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

  it("is deployed by this repository's app as a host's would be: its route files are the ones `export-ops init` writes", () => {
    for (const file of routeFiles()) expect(readFileSync(path.join(root, "app", file.path), "utf8"), file.path).toBe(file.content);
  });

  it("has vercel.json's crons as `export-ops init` writes them", () => {
    const source = readFileSync(path.join(root, "vercel.json"), "utf8");
    const { crons: _ours, ...rest } = JSON.parse(source) as Record<string, unknown>;
    expect(addSchedules(`${JSON.stringify(rest, null, 2)}\n`, "crons")).toEqual({ kind: "changed", content: source });
  });

  it("has the README's Vercel Schedules form (path targets) list every job once, with the registry's schedule and route", () => {
    const readme = readFileSync(path.join(root, "README.md"), "utf8");
    const block = /```json\n(\{\n  "schedules"[\s\S]*?)\n```/.exec(readme)?.[1];
    expect(block, "README has a ```json block with the schedules form").toBeDefined();
    const { schedules } = JSON.parse(block!) as { schedules: Record<string, { schedule: string; path: string; requestMethod: string }> };
    expect(Object.keys(schedules).sort()).toEqual(jobs.map((j) => j.id).sort());
    for (const job of jobs)
      expect(schedules[job.id]).toEqual({ schedule: job.schedule, path: `/api/cron/${job.id}`, requestMethod: "GET" });
  });

  it.each(jobs.map((j) => [j.id, j] as const))(
    "the route of %s runs that job and no other, with its maxDuration, never cached",
    async (id, job) => {
      const route = (await import(path.join(root, "app/api/cron", id, "route.ts"))) as Record<string, unknown> & { GET: { job?: unknown } };
      expect(Object.keys(route).sort()).toEqual(["GET", "dynamic", "maxDuration"]);
      expect(route.GET.job).toBe(job);
      expect(route.maxDuration).toBe(job.maxDurationSeconds);
      expect(route.dynamic).toBe("force-dynamic");
    },
  );
});
