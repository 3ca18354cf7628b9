/** Test doubles for the ports, shared by unit and integration tests: a fixed clock and a logger that keeps its JSON lines. */
import { Writable } from "node:stream";
import { vi } from "vitest";
import { createLogger } from "../lib/logger";
import type { Clock } from "../lib/ports";

export function fixedClock(iso: string): Clock & { advance(ms: number): void } {
  let now = new Date(iso).getTime();
  return { now: () => new Date(now), sqlNow: () => new Date(now), advance: (ms) => void (now += ms) };
}

/** A clock that moves `stepMs` forward at every reading: cuts a run short after a known number of readings. */
export function tickingClock(stepMs: number): Clock & { start: number } {
  const clock = fixedClock(new Date().toISOString());
  return { start: clock.now().getTime(), now: () => (clock.advance(stepMs), clock.now()) };
}

/**
 * Time for a pacer (lib/batches/pacing.ts PacerTime) that moves only when told: `advance` is a batch's work, and a
 * rest moves it by the rest's length at once; `sleeps` lists the rests taken.
 */
export function manualTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => void (sleeps.push(ms), (now += ms)),
    advance: (ms: number) => void (now += ms),
    sleeps,
  };
}

/** A load signal (lib/batches/load.ts LoadSignal) that judges each batch by the next of `factors` (then the last again). */
export function scriptedSignal(...factors: (number | undefined)[]) {
  let i = 0;
  return { judge: () => factors[Math.min(i++, factors.length - 1)] };
}

/**
 * Under vitest's fake timers: runs them until `work` has settled (each timer in the order of its fake time, the
 * promises it resolves in between), and gives `work`'s value or throws its error.
 */
export async function settleWithFakeTimers<T>(work: Promise<T>): Promise<T> {
  const outcome = work.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  await vi.runAllTimersAsync();
  const result = await outcome;
  if (!result.ok) throw result.error;
  return result.value;
}

/** A real pino logger (same redaction and scrubbing as production) writing into an array of parsed lines. */
export function captureLogger(options: { secrets?: string[]; level?: string } = {}) {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      raw.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ destination, level: options.level ?? "debug", secrets: options.secrets });
  return {
    logger,
    raw,
    lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
