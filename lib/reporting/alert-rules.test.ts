/**
 * Every rule in monitoring/prometheus/alerts.yml has promtool tests (monitoring/prometheus/alerts.test.yml, run by
 * `npm run smoke` and CI) that show it firing and staying quiet, and a runbook section its `runbook_url` points at;
 * every gauge that can go wrong is in some rule's expression.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const rulesText = readFileSync("monitoring/prometheus/alerts.yml", "utf8");
const tests = readFileSync("monitoring/prometheus/alerts.test.yml", "utf8");
const runbook = readFileSync("docs/RUNBOOK.md", "utf8");

/** Each rule as written: its name, its expression (comments are not part of it) and its runbook link. */
const rules = rulesText
  .split(/^\s*- alert: /m)
  .slice(1)
  .map((block) => ({
    name: block.slice(0, block.indexOf("\n")).trim(),
    expr: /^\s*expr: (.+)$/m.exec(block)?.[1] ?? "",
    runbook: /^\s*runbook_url: (\S+)$/m.exec(block)?.[1] ?? "",
  }));

/** Each `alertname: X` check in the tests, and whether it expects the alert (firing) or none (quiet). */
const checks = [...tests.matchAll(/alertname: (\w+)\n\s*exp_alerts:( \[\])?/g)].map((m) => ({ name: m[1]!, quiet: m[2] !== undefined }));

/** The runbook's alert sections: `### Name` headings in CamelCase. */
const runbookAlerts = [...runbook.matchAll(/^### ([A-Z][A-Za-z]+)$/gm)].map((m) => m[1]!);

describe("alert rules", () => {
  it("are the runbook's alerts, one for one, each linking to its own section", () => {
    expect(rules.map((r) => r.name).sort()).toEqual([...runbookAlerts].sort());
    for (const rule of rules) expect(rule.runbook).toMatch(new RegExp(`/docs/RUNBOOK\\.md#${rule.name.toLowerCase()}$`));
  });

  it.each(rules.map((r) => r.name))("%s has a promtool test that fires it and one that keeps it quiet", (name) => {
    expect(checks.filter((c) => c.name === name && !c.quiet).length).toBeGreaterThan(0);
    expect(checks.filter((c) => c.name === name && c.quiet).length).toBeGreaterThan(0);
  });

  it.each([
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
    'up{job="export-ops"}',
  ])("the gauge %s is in some rule's expression", (metric) => {
    expect(rules.some((r) => r.expr.includes(metric))).toBe(true);
  });
});
