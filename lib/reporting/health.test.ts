import { describe, expect, it } from "vitest";
import { graceMinutesFor } from "../jobs/schedule";
import { judgeJob, scheduleWindow, type JobRunSummary, type RunStatus } from "./health";

const hourly = { id: "hourly", schedule: "0 * * * *" };
const daily = { id: "daily", schedule: "0 2 * * *" };
const monthly = { id: "monthly", schedule: "0 3 1 * *" };
const now = new Date("2026-03-10T12:40:00Z");
const INSTALLED = "2026-01-01T00:00:00Z";
const run = (last_success_at: string | null, last_status: RunStatus | null = "succeeded", installed_at = INSTALLED): JobRunSummary => ({
  last_status,
  last_started_at: last_success_at,
  last_finished_at: last_success_at,
  last_duration_ms: 1200,
  last_error: null,
  last_success_at,
  consecutive_failures: last_status === "failed" || last_status === "abandoned" ? 1 : 0,
  running: 0,
  installed_at,
  totals: {},
});

describe("graceMinutesFor", () => {
  it("is half the period, between 5 minutes and 3 hours: a daily job is not overdue within its own scheduled hour", () => {
    expect(graceMinutesFor(hourly.schedule, now)).toBe(30);
    expect(graceMinutesFor("*/5 * * * *", now)).toBe(5);
    expect(graceMinutesFor(daily.schedule, now)).toBe(180);
    expect(graceMinutesFor(monthly.schedule, now)).toBe(180);
  });

  it("keeps a once-a-day aggregation that Hobby fires late in its hour on time", () => {
    const hobbyDaily = { id: "agg", schedule: "0 5 * * *" };
    // fired at 05:59 (Vercel Hobby: any time in the scheduled hour), judged at 06:30 the same day
    expect(judgeJob(hobbyDaily, run("2026-03-10T05:59:30Z"), new Date("2026-03-10T06:30:00Z")).status).toBe("ok");
    // and the day before's run is still enough at 07:59: today's is not due before 08:00
    expect(judgeJob(hobbyDaily, run("2026-03-09T05:59:30Z"), new Date("2026-03-10T07:59:00Z")).status).toBe("ok");
    expect(judgeJob(hobbyDaily, run("2026-03-09T05:59:30Z"), new Date("2026-03-10T08:01:00Z")).status).toBe("overdue");
  });
});

describe("scheduleWindow", () => {
  it("expects the latest run whose time plus grace has passed", () => {
    expect(scheduleWindow(hourly, now).expectedSince.toISOString()).toBe("2026-03-10T12:00:00.000Z");
    expect(scheduleWindow(hourly, new Date("2026-03-10T12:20:00Z")).expectedSince.toISOString()).toBe("2026-03-10T11:00:00.000Z");
    expect(scheduleWindow(daily, new Date("2026-03-10T04:00:00Z")).expectedSince.toISOString()).toBe("2026-03-09T02:00:00.000Z");
    expect(scheduleWindow(daily, new Date("2026-03-10T05:30:00Z")).expectedSince.toISOString()).toBe("2026-03-10T02:00:00.000Z");
    expect(scheduleWindow(monthly, now).expectedSince.toISOString()).toBe("2026-03-01T03:00:00.000Z");
    // Vercel Schedules in a time zone: 02:00 in New York is 06:00 UTC in daylight saving time, 07:00 before it
    expect(scheduleWindow(daily, new Date("2026-03-10T12:00:00Z"), "America/New_York").expectedSince.toISOString()).toBe(
      "2026-03-10T06:00:00.000Z",
    );
    expect(scheduleWindow(daily, new Date("2026-03-06T12:00:00Z"), "America/New_York").expectedSince.toISOString()).toBe(
      "2026-03-06T07:00:00.000Z",
    );
  });

  it("allows one period plus grace of staleness", () => {
    expect(scheduleWindow(hourly, now).maxStalenessSeconds).toBe(3600 + 1800);
    expect(scheduleWindow(daily, now).maxStalenessSeconds).toBe(86400 + 3 * 3600);
    expect(scheduleWindow(monthly, now).maxStalenessSeconds).toBe(28 * 86400 + 3 * 3600); // February
  });
});

describe("judgeJob", () => {
  it("is ok when the last success is at or after the expected run", () => {
    expect(judgeJob(hourly, run("2026-03-10T12:00:04Z"), now)).toMatchObject({ status: "ok", staleness_seconds: 2396 });
  });

  it("is overdue when the last success is older than the expected run", () => {
    expect(judgeJob(hourly, run("2026-03-10T11:00:03Z"), now)).toMatchObject({
      status: "overdue",
      expected_since: "2026-03-10T12:00:00.000Z",
    });
    expect(judgeJob(daily, run("2026-03-08T02:00:10Z"), now).status).toBe("overdue");
  });

  it("is failing when on time but the last real run failed or was abandoned", () => {
    expect(judgeJob(daily, run("2026-03-10T02:01:00Z", "failed"), now)).toMatchObject({ status: "failing", consecutive_failures: 1 });
    expect(judgeJob(daily, run("2026-03-10T02:01:00Z", "abandoned"), now).status).toBe("failing");
    expect(judgeJob(daily, run("2026-03-10T02:01:00Z", "partial"), now).status).toBe("ok");
  });

  it("counts a job that never succeeded from the install: awaiting its first run, then overdue", () => {
    // installed after the latest expected monthly run: nothing is due yet, and staleness counts from the install
    expect(judgeJob(monthly, run(null, null, "2026-03-05T00:00:00Z"), now)).toMatchObject({
      status: "awaiting_first_run",
      last_success_at: null,
      staleness_seconds: (now.getTime() - Date.parse("2026-03-05T00:00:00Z")) / 1000,
    });
    // installed before it: the cron never fired (or never succeeded), so the job is overdue
    expect(judgeJob(monthly, run(null, null, "2026-02-20T00:00:00Z"), now)).toMatchObject({
      status: "overdue",
      staleness_seconds: 18 * 86400 + 12 * 3600 + 40 * 60,
    });
    expect(judgeJob(daily, run(null, "failed", "2026-03-01T00:00:00Z"), now).status).toBe("overdue");
  });
});
