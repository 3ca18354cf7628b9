/**
 * The host library (lib/host, the package's main entry) types the SQL API's results by hand, having no zod; lib/sql-contract.ts
 * checks the same results at run time. These must be the same shapes: `tsc` (in `npm test`) fails on this file
 * when one of them changes and the other does not.
 */
import type { FailureAlertPayload, MetricsSummary, RollupSummary, VolumeStats } from "export-ops";
import { describe, expect, it } from "vitest";
import type { AlertPayload } from "./alerting/alert-webhook";
import type { SqlResult } from "./sql-contract";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

const same: [
  Same<MetricsSummary, SqlResult<"export_ops_metrics_summary">>,
  Same<RollupSummary, SqlResult<"export_ops_rollup_summary">>,
  Same<VolumeStats, SqlResult<"export_ops_volume_stats">>,
  FailureAlertPayload extends AlertPayload ? true : false,
] = [true, true, true, true];

describe("the package's result types", () => {
  it("are the SQL API contract's", () => {
    expect(same).toEqual([true, true, true, true]);
  });
});
