// The Cleanup panel: the buckets and the orphan sweep, Storage now, files deleted, quarantine, the log backlog,
// archive objects.
import type { OpsCleanup, PanelRead } from "@/lib/ops/page-data";
import { StackedBars, type Series } from "../charts";
import { bytes, capped, duration, int } from "../format";
import { DetailsTable, Figure, Panel } from "./parts";

const deletedSeries: Series[] = [
  { key: "files", name: "expired files", color: "#2b6cb0" },
  { key: "orphans", name: "orphans", color: "#805ad5" },
];

export function CleanupPanel({ read, countCap }: { read: PanelRead<OpsCleanup>; countCap: number }) {
  return (
    <Panel id="cleanup" title="Cleanup" read={read}>
      {({ cleanup, buckets, orphanSweep }) => {
        const deletedTotal = cleanup.files_deleted_per_day.reduce((sum, d) => sum + d.files + d.orphans, 0);
        return (
        <>
          <table className="facts">
            <tbody>
              {buckets.map((b) => (
                <tr key={b.purpose} data-bucket={b.bucket}>
                  <th scope="row">{b.purpose === "exports" ? "Exports bucket" : "Archive bucket"}</th>
                  <td className={b.problem ? "status-failing" : undefined}>
                    <code>{b.bucket}</code>: {b.problem ?? `private, ${b.created_by_export_ops ? "created by export-ops" : "existed before export-ops was installed"}`}
                  </td>
                </tr>
              ))}
              <tr>
                <th scope="row">Orphan sweep</th>
                <td>
                  <Figure field="orphan_sweep" value={orphanSweep.enabled ? "on" : "off"} />: {orphanSweep.reason}
                </td>
              </tr>
              <tr>
                <th scope="row">Exports bucket now</th>
                <td>
                  <Figure field="storage_objects" value={cleanup.storage_objects} /> objects,{" "}
                  <Figure field="storage_bytes" value={cleanup.storage_bytes}>{bytes(cleanup.storage_bytes)}</Figure>
                </td>
              </tr>
              <tr>
                <th scope="row">Files deleted, 30 days</th>
                <td>
                  <Figure field="files_deleted_30d" value={deletedTotal} />
                </td>
              </tr>
              <tr>
                <th scope="row">Quarantined exports</th>
                <td>
                  <Figure field="quarantined" value={cleanup.quarantined} />
                  {cleanup.quarantined > 0 ? " — an operator must look: npm run job -- export-file-cleanup --quarantined (docs/OPERATIONS.md)" : ""}
                </td>
              </tr>
              <tr>
                <th scope="row">Log cleanup backlog</th>
                <td>
                  <Figure field="log_backlog" value={cleanup.log_backlog}>{capped(cleanup.log_backlog, countCap)}</Figure> logs past retention
                  {cleanup.log_backlog > 0 ? `, the oldest ${duration(cleanup.log_backlog_age_seconds * 1000)} past it` : ""}
                </td>
              </tr>
              <tr>
                <th scope="row">Archive objects written</th>
                <td>
                  <Figure field="archive_objects_30d" value={cleanup.archive_objects_30d} /> in 30 days ({int(cleanup.archived_rows_30d)} logs),{" "}
                  <Figure field="archive_objects_total" value={cleanup.archive_objects_total} /> in all
                </td>
              </tr>
            </tbody>
          </table>
          <h3>Files deleted per day, last 30 days</h3>
          <StackedBars title="Files deleted per day" series={deletedSeries} height={160} points={cleanup.files_deleted_per_day.map((d) => ({ label: d.day.slice(5), files: d.files, orphans: d.orphans }))} />
          <DetailsTable cols={["Day (UTC)", "Expired files", "Orphans"]}>
            {cleanup.files_deleted_per_day.map((d) => (
              <tr key={d.day}>
                <td>{d.day}</td>
                <td>{int(d.files)}</td>
                <td>{int(d.orphans)}</td>
              </tr>
            ))}
          </DetailsTable>
        </>
        );
      }}
    </Panel>
  );
}
