import { describe, expect, it } from "vitest";
import { judgeJob, scheduleWindow, type JobRunSummary } from "./health";

const hourly = { id: "hourly", schedule: "0 * * * *", graceMinutes: 30 };
const daily = { id: "daily", schedule: "0 2 * * *", graceMinutes: 180 };
const monthly = { id: "monthly", schedule: "0 3 1 * *", graceMinutes: 24 * 60 };
const now = new Date("2026-03-10T12:40:00Z");
const run = (last_success_at: string | null, last_status = "succeeded"): JobRunSummary => ({
  last_status,
  last_started_at: last_success_at,
  last_finished_at: last_success_at,
  last_duration_ms: 1200,
  last_error: null,
  last_success_at,
  running: 0,
  totals: {},
});

describe("scheduleWindow", () => {
  it("expects the latest run whose time plus grace has passed", () => {
    expect(scheduleWindow(hourly, now).expectedSince.toISOString()).toBe("2026-03-10T12:00:00.000Z");
    expect(scheduleWindow(hourly, new Date("2026-03-10T12:20:00Z")).expectedSince.toISOString()).toBe("2026-03-10T11:00:00.000Z");
    expect(scheduleWindow(daily, new Date("2026-03-10T04:00:00Z")).expectedSince.toISOString()).toBe("2026-03-09T02:00:00.000Z");
    expect(scheduleWindow(daily, new Date("2026-03-10T05:30:00Z")).expectedSince.toISOString()).toBe("2026-03-10T02:00:00.000Z");
    expect(scheduleWindow(monthly, now).expectedSince.toISOString()).toBe("2026-03-01T03:00:00.000Z");
  });

  it("allows one period plus grace of staleness", () => {
    expect(scheduleWindow(hourly, now).maxStalenessSeconds).toBe(3600 + 1800);
    expect(scheduleWindow(daily, now).maxStalenessSeconds).toBe(86400 + 3 * 3600);
    expect(scheduleWindow(monthly, now).maxStalenessSeconds).toBe(28 * 86400 + 86400); // February
  });
});

describe("judgeJob", () => {
  it("is ok when the last success is at or after the expected run", () => {
    expect(judgeJob(hourly, run("2026-03-10T12:00:04Z"), now)).toMatchObject({ status: "ok", staleness_seconds: 2396 });
  });

  it("is overdue when the last success is older than the expected run", () => {
    expect(judgeJob(hourly, run("2026-03-10T11:00:03Z"), now)).toMatchObject({ status: "overdue", expected_since: "2026-03-10T12:00:00.000Z" });
    expect(judgeJob(daily, run("2026-03-08T02:00:10Z"), now).status).toBe("overdue");
  });

  it("is failing when on time but the last run failed", () => {
    expect(judgeJob(daily, run("2026-03-10T02:01:00Z", "failed"), now).status).toBe("failing");
  });

  it("says when a job never succeeded", () => {
    expect(judgeJob(monthly, undefined, now)).toMatchObject({ status: "never_succeeded", last_success_at: null, staleness_seconds: null });
  });
});
