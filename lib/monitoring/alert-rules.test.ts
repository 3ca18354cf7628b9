/**
 * Every rule in ops/prometheus/alerts.yml has promtool tests (ops/prometheus/alerts.test.yml, run by
 * `npm run smoke` and CI) that show it firing and staying quiet; every gauge that can go wrong has a rule.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const rules = readFileSync("ops/prometheus/alerts.yml", "utf8");
const tests = readFileSync("ops/prometheus/alerts.test.yml", "utf8");
const ruleNames = [...rules.matchAll(/^\s*- alert: (\w+)$/gm)].map((m) => m[1]!);

/** Each `alertname: X` check in the tests, and whether it expects the alert (firing) or none (quiet). */
const checks = [...tests.matchAll(/alertname: (\w+)\n\s*exp_alerts:( \[\])?/g)].map((m) => ({ name: m[1]!, quiet: m[2] !== undefined }));

describe("alert rules", () => {
  it("are all there", () => {
    expect(ruleNames.length).toBeGreaterThanOrEqual(12);
  });

  it.each(ruleNames)("%s has a promtool test that fires it and one that keeps it quiet", (name) => {
    expect(checks.filter((c) => c.name === name && !c.quiet).length).toBeGreaterThan(0);
    expect(checks.filter((c) => c.name === name && c.quiet).length).toBeGreaterThan(0);
  });

  it("cover every gauge that says something is wrong", () => {
    for (const metric of [
      "export_ops_export_failure_rate_last_hour",
      "export_ops_job_staleness_seconds",
      "export_ops_job_last_run_failed",
      "export_ops_file_cleanup_backlog",
      "export_ops_file_cleanup_failing",
      "export_ops_file_cleanup_quarantined",
      "export_ops_log_cleanup_backlog_age_seconds",
      "export_ops_rollup_backlog",
      "export_ops_exports_stuck",
      "export_ops_export_duration_p95_seconds",
      'export_ops_alert_firing{alert="exports_stopped"}',
    ]) {
      expect(rules).toContain(metric);
    }
  });
});
