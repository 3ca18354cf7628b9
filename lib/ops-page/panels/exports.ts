// The Exports panel: success rates, exports per hour and per day, p95 duration by format, failures by type.
import type { PanelRead } from "../../ops/page-data";
import type { SqlResult } from "../../sql-contract";
import { stackedBars, type Series } from "../chart";
import { duration, int, percent } from "../format";
import { html, type SafeHtml } from "../html";
import { detailsTable, empty, figure, head, panel, time } from "../parts";

type Exports = SqlResult<"export_ops_page_exports">;

const exportSeries: Series[] = [
  { key: "completed", name: "completed", color: "#2f855a" },
  { key: "failed", name: "failed", color: "#c53030" },
];

const NOTHING_ROLLED_UP =
  "No exports rolled up in the last 48 hours. The host app records one metric per export with ExportMetricsService (docs/ADOPTING.md, “Recording metrics from your export endpoint”); the hourly export-metrics-aggregate job rolls them up.";

export function exportsPanel(read: PanelRead<Exports>): SafeHtml {
  return panel("exports", "Exports", read, (exports) => {
    const rolledUp = exports.per_hour.some((h) => h.completed !== null);
    return html`<p>Success rate: ${figure("success_rate_24h", exports.success_rate_24h, percent(exports.success_rate_24h))} of ${figure("total_24h", exports.total_24h)} in the last 24 hours, ${figure("success_rate_30d", exports.success_rate_30d, percent(exports.success_rate_30d))} of ${figure("total_30d", exports.total_30d)} in 30 days (from the hourly rollups).</p>
${rolledUp ? null : empty(NOTHING_ROLLED_UP)}
${perHour(exports)}
${perDay(exports)}
<div class="pair">${p95Table(exports)}${failuresTable(exports)}</div>`;
  });
}

function perHour(exports: Exports): SafeHtml {
  const points = exports.per_hour.map((h) => ({
    label: h.hour.slice(11, 16),
    title: `${h.hour.slice(0, 10)} ${h.hour.slice(11, 16)} UTC`,
    values: { completed: h.completed ?? 0, failed: h.failed ?? 0 },
  }));
  const rows = exports.per_hour.map(
    (h) =>
      html`<tr><td>${time(h.hour)}</td>${h.completed === null ? html`<td colspan="2">not rolled up yet</td>` : html`<td>${int(h.completed)}</td><td>${int(h.failed ?? 0)}</td>`}</tr>`,
  );
  return html`<h3>Per hour, last 48 hours</h3>${stackedBars({ title: "Exports per hour", series: exportSeries, points })}${detailsTable(["Hour", "Completed", "Failed"], rows)}`;
}

function perDay(exports: Exports): SafeHtml {
  const points = exports.per_day.map((d) => ({
    label: d.day.slice(5),
    title: d.day,
    values: { completed: d.completed, failed: d.failed },
  }));
  const rows = exports.per_day.map(
    (d) => html`<tr><td>${d.day}</td><td>${int(d.completed)}</td><td>${int(d.failed)}</td><td>${d.hours}</td></tr>`,
  );
  return html`<h3>Per day, last 30 days</h3>${stackedBars({ title: "Exports per day", series: exportSeries, points })}${detailsTable(["Day (UTC)", "Completed", "Failed", "Hours rolled up"], rows)}`;
}

function p95Table(exports: Exports): SafeHtml {
  const rows =
    exports.p95_by_format.length === 0
      ? html`<tr><td colspan="3">no completed exports rolled up</td></tr>`
      : exports.p95_by_format.map(
          (f) =>
            html`<tr data-format="${f.format}"><th scope="row">${f.format}</th><td>${int(f.completed)}</td><td>${figure("p95_ms", f.p95_ms, duration(f.p95_ms))}</td></tr>`,
        );
  return html`<table><caption>p95 duration by format, 30 days</caption>${head(["Format", "Completed", "p95"])}<tbody>${rows}</tbody></table>`;
}

function failuresTable(exports: Exports): SafeHtml {
  const rows =
    exports.failures_by_error_type.length === 0
      ? html`<tr><td colspan="2">no failures</td></tr>`
      : exports.failures_by_error_type.map(
          (f) =>
            html`<tr data-error-type="${f.error_type}"><th scope="row">${f.error_type}</th><td>${figure("failures", f.count)}</td></tr>`,
        );
  return html`<table><caption>Failures by error type, 30 days</caption>${head(["Error type", "Failures"])}<tbody>${rows}</tbody></table>`;
}
