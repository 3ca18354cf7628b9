import { describe, expect, it } from "vitest";
import { occurrenceOf } from "./schedule";

describe("occurrenceOf", () => {
  it("is the same for every delivery within one period, and the next for the next period", () => {
    const at = (iso: string) => occurrenceOf("0 2 * * *", new Date(iso));
    expect(at("2026-12-01T02:00:05Z")).toBe("0 2 * * *@2026-12-01T02:00:00.000Z");
    expect(at("2026-12-01T02:59:00Z")).toBe("0 2 * * *@2026-12-01T02:00:00.000Z"); // Hobby: any time in the hour
    expect(at("2026-12-02T01:00:00Z")).toBe("0 2 * * *@2026-12-01T02:00:00.000Z");
    expect(at("2026-12-02T02:00:01Z")).toBe("0 2 * * *@2026-12-02T02:00:00.000Z");
  });

  it("counts a delivery a little before its time (clock skew) for that time, not the one before", () => {
    expect(occurrenceOf("0 * * * *", new Date("2026-12-01T02:59:30Z"))).toBe("0 * * * *@2026-12-01T03:00:00.000Z");
    expect(occurrenceOf("0 * * * *", new Date("2026-12-01T02:57:30Z"))).toBe("0 * * * *@2026-12-01T02:00:00.000Z");
  });

  it("reads the schedule in its time zone when one is given (Vercel Schedules' timezone)", () => {
    expect(occurrenceOf("0 2 * * *", new Date("2026-12-01T08:00:00Z"), "Europe/Berlin")).toBe("0 2 * * *@2026-12-01T01:00:00.000Z");
  });
});
