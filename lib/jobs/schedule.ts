/**
 * Schedule arithmetic on the registry's cron expressions (UTC): a schedule's grace, and the occurrence a scheduled
 * delivery is for.
 */
import { CronExpressionParser } from "cron-parser";

const MINUTE = 60_000;

/** The schedule's period (the gap between its two latest runs before `at`), in ms. */
export function periodOf(schedule: string, at: Date): number {
  const it = CronExpressionParser.parse(schedule, { currentDate: at, tz: "UTC" });
  return it.prev().toDate().getTime() - it.prev().toDate().getTime();
}

/**
 * How late a run may be: half the schedule's period, between 5 minutes and 3 hours. A daily or monthly job gets
 * 3 hours, so it is not overdue during its own scheduled hour (Vercel Hobby fires any time in that hour); an
 * hourly one 30 minutes.
 */
export function graceMinutesFor(schedule: string, at: Date = new Date()): number {
  return Math.min(180, Math.max(5, Math.round(periodOf(schedule, at) / MINUTE / 2)));
}

/** How far before its scheduled time a delivery may arrive and still count for it (clocks differ a little). */
export const OCCURRENCE_EARLY_MS = 2 * MINUTE;

/**
 * The occurrence a scheduled delivery is for: its schedule and the latest time the schedule fired at or before
 * `at` (plus OCCURRENCE_EARLY_MS). Every delivery of one occurrence gives the same value, however late in its period
 * it arrives (jitter, Hobby's "any time in the hour", a redelivery), so it identifies the occurrence when the
 * platform's own execution id is not at hand.
 */
export function occurrenceOf(schedule: string, at: Date): string {
  const it = CronExpressionParser.parse(schedule, { currentDate: new Date(at.getTime() + OCCURRENCE_EARLY_MS + 1), tz: "UTC" });
  return `${schedule}@${it.prev().toDate().toISOString()}`;
}
