import { describe, expect, it } from "vitest";
import { judgeDemo, type DemoOutcome } from "./demo-outcome";

const worked: DemoOutcome = {
  files: { dueBefore: 170, dueAfter: 0, expiredBefore: 2226, expiredAfter: 2396 },
  logs: { pastRetentionBefore: 900, pastRetentionAfter: 0, deleted: 900, archived: 900 },
  notifications: [
    { alert: "export_failure_rate", state: "firing" },
    { alert: "export_failure_rate", state: "ok" },
  ],
  rollupHours: 960,
  health: { httpStatus: 200, status: "healthy" },
};
const failed = (o: DemoOutcome) =>
  judgeDemo(o)
    .filter((c) => !c.ok)
    .map((c) => c.text);

describe("judgeDemo", () => {
  it("passes a demo whose jobs did their work", () => {
    expect(failed(worked)).toEqual([]);
  });

  it("fails the demo where every real run was skipped: nothing changed, nothing received, health unhealthy", () => {
    const nothing: DemoOutcome = {
      files: { dueBefore: 170, dueAfter: 170, expiredBefore: 2226, expiredAfter: 2226 },
      logs: { pastRetentionBefore: 900, pastRetentionAfter: 900, deleted: 0, archived: 0 },
      notifications: [],
      rollupHours: 0,
      health: { httpStatus: 503, status: "unhealthy" },
    };
    expect(failed(nothing)).toHaveLength(judgeDemo(nothing).length);
  });

  it.each([
    ["a file left in Storage", { files: { ...worked.files, dueAfter: 1 } }, /files past retention/],
    ["a log deleted without its archive", { logs: { ...worked.logs, archived: 899 } }, /in the archive/],
    ["a log past retention left", { logs: { ...worked.logs, pastRetentionAfter: 1 } }, /logs past retention/],
    ["an alert that never resolved", { notifications: [{ alert: "export_failure_rate", state: "firing" }] }, /alert/],
    [
      "an alert sent twice",
      {
        notifications: [
          ...worked.notifications,
          { alert: "export_failure_rate", state: "firing" },
          { alert: "export_failure_rate", state: "ok" },
        ],
      },
      /alert/,
    ],
    ["a resolution with no firing", { notifications: [{ alert: "export_failure_rate", state: "ok" }] }, /alert/],
    [
      "another alert only",
      {
        notifications: [
          { alert: "exports_stopped", state: "firing" },
          { alert: "exports_stopped", state: "ok" },
        ],
      },
      /alert/,
    ],
    ["no rollups", { rollupHours: 0 }, /rollups/],
    ["an unhealthy end", { health: { httpStatus: 503, status: "unhealthy" } }, /health/],
    ["nothing to do in the first place", { files: { dueBefore: 0, dueAfter: 0, expiredBefore: 5, expiredAfter: 5 } }, /file cleanup/],
  ] as [string, Partial<DemoOutcome>, RegExp][])("fails on %s", (_name, change, named) => {
    const result = failed({ ...worked, ...change });
    expect(result.length).toBeGreaterThan(0);
    expect(result.every((t) => named.test(t))).toBe(true);
  });
});
