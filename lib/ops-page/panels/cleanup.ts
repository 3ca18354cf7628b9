// The Cleanup panel: the buckets and the orphan sweep, Storage now, files deleted, quarantine, the log backlog,
// archive objects.
import type { OpsCleanup, PanelRead } from "../../ops/page-data";
import { stackedBars, type Series } from "../chart";
import { bytes, capped, duration, int } from "../format";
import { html, type SafeHtml } from "../html";
import { cell, detailsTable, figure, panel, status } from "../parts";

const deletedSeries: Series[] = [
  { key: "files", name: "expired files", color: "#2b6cb0" },
  { key: "orphans", name: "orphans", color: "#805ad5" },
];

const QUARANTINE_HINT = " — an operator must look: npm run job -- export-file-cleanup --quarantined (docs/RUNBOOK.md)";

export function cleanupPanel(read: PanelRead<OpsCleanup>, countCap: number): SafeHtml {
  return panel(
    "cleanup",
    "Cleanup",
    read,
    (value) => html`<table class="facts"><tbody>${facts(value, countCap)}</tbody></table>${deletedPerDay(value.cleanup)}`,
  );
}

const row = (heading: string, content: SafeHtml) => html`<tr><th scope="row">${heading}</th>${cell(content)}</tr>`;

function facts({ cleanup, buckets, orphanSweep }: OpsCleanup, countCap: number): SafeHtml[] {
  const deletedTotal = cleanup.files_deleted_per_day.reduce((sum, d) => sum + d.files + d.orphans, 0);
  const bucketRows = buckets.map((b) => {
    const text = b.problem ?? `private, ${b.created_by_export_ops ? "created by export-ops" : "existed before export-ops was installed"}`;
    const versioning = b.versioning ? html`; ${figure("versioning", b.versioning.status)}` : "";
    const note = b.versioning_note ? html`<br>${b.versioning_note}` : "";
    const heading = b.purpose === "exports" ? "Exports bucket" : "Archive bucket";
    return html`<tr data-bucket="${b.bucket}"><th scope="row">${heading}</th>${cell(html`<code>${b.bucket}</code>: ${text}${versioning}${note}`, b.problem ? status("failing") : undefined)}</tr>`;
  });
  const backlogAge = cleanup.log_backlog > 0 ? `, the oldest ${duration(cleanup.log_backlog_age_seconds * 1000)} past it` : "";
  return [
    ...bucketRows,
    row("Orphan sweep", html`${figure("orphan_sweep", orphanSweep.enabled ? "on" : "off")}: ${orphanSweep.reason}`),
    row(
      "Exports bucket now",
      html`${figure("storage_objects", cleanup.storage_objects)} objects, ${figure("storage_bytes", cleanup.storage_bytes, bytes(cleanup.storage_bytes))}`,
    ),
    row("Files deleted, 30 days", figure("files_deleted_30d", deletedTotal)),
    row("Quarantined exports", html`${figure("quarantined", cleanup.quarantined)}${cleanup.quarantined > 0 ? QUARANTINE_HINT : ""}`),
    row(
      "Log cleanup backlog",
      html`${figure("log_backlog", cleanup.log_backlog, capped(cleanup.log_backlog, countCap))} logs past retention${backlogAge}`,
    ),
    row(
      "Archive objects written",
      html`${figure("archive_objects_30d", cleanup.archive_objects_30d)} in 30 days (${int(cleanup.archived_rows_30d)} logs), ${figure("archive_objects_total", cleanup.archive_objects_total)} in all`,
    ),
  ];
}

function deletedPerDay(cleanup: OpsCleanup["cleanup"]): SafeHtml {
  const days = cleanup.files_deleted_per_day;
  const points = days.map((d) => ({ label: d.day.slice(5), title: d.day, values: { files: d.files, orphans: d.orphans } }));
  const rows = days.map((d) => html`<tr><td>${d.day}</td><td>${int(d.files)}</td><td>${int(d.orphans)}</td></tr>`);
  return html`<h3>Files deleted per day, last 30 days</h3>${stackedBars({ title: "Files deleted per day", series: deletedSeries, height: 160, points })}${detailsTable(["Day (UTC)", "Expired files", "Orphans"], rows)}`;
}
