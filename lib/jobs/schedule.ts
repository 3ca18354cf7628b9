/**
 * Schedule arithmetic on the registry's cron expressions, in the schedules' time zone (EXPORT_OPS_SCHEDULE_TIMEZONE:
 * UTC for Cron Jobs, Vercel Schedules' `timezone` otherwise): a schedule's grace, and the occurrence a scheduled
 * delivery is for.
 */
import { CronExpressionParser } from "cron-parser";

const MINUTE = 60_000;

/** The schedule's period (the gap between its two latest runs before `at`), in ms. */
export function periodOf(schedule: string, at: Date, tz = "UTC"): number {
  const it = CronExpressionParser.parse(schedule, { currentDate: at, tz });
  return it.prev().toDate().getTime() - it.prev().toDate().getTime();
}

/**
 * How late a run may be: half the schedule's period, between 5 minutes and 3 hours. A daily or monthly job gets
 * 3 hours, so it is not overdue during its own scheduled hour (Vercel Hobby fires any time in that hour); an
 * hourly one 30 minutes.
 */
export function graceMinutesFor(schedule: string, at: Date = new Date(), tz = "UTC"): number {
  return Math.min(180, Math.max(5, Math.round(periodOf(schedule, at, tz) / MINUTE / 2)));
}

/** How far before its scheduled time a delivery may arrive and still count for it (clocks differ a little). */
export const OCCURRENCE_EARLY_MS = 2 * MINUTE;

/**
 * A delivery of a scheduled run: the key that tells its redeliveries apart from the next occurrence, the
 * platform's execution ID when it sent one (Vercel Schedules), and the time the run was scheduled for.
 */
export interface Delivery {
  occurrence: string;
  executionId?: string;
  scheduledAt?: Date;
}

/** The latest time `schedule` fired at or before `at` (plus OCCURRENCE_EARLY_MS: clocks differ a little). */
export function firedAt(schedule: string, at: Date, tz = "UTC"): Date {
  return CronExpressionParser.parse(schedule, { currentDate: new Date(at.getTime() + OCCURRENCE_EARLY_MS + 1), tz })
    .prev()
    .toDate();
}

/**
 * The occurrence a scheduled delivery is for: its schedule and the latest time the schedule fired (firedAt). Every
 * delivery of one occurrence gives the same value, however late in its period it arrives (jitter, Hobby's "any
 * time in the hour", a redelivery), so it identifies the occurrence when the platform's own execution ID is not at
 * hand (Cron Jobs send none).
 */
export function occurrenceOf(schedule: string, at: Date, tz = "UTC"): string {
  return `${schedule}@${firedAt(schedule, at, tz).toISOString()}`;
}

/** A Vercel Schedules execution's occurrence: its ID (`ce-id`), which every delivery of that execution carries. */
export const executionOccurrence = (executionId: string) => `execution:${executionId}`;
