// The Exports panel: success rates, exports per hour and per day, p95 duration by format, failures by type.
import type { PanelRead } from "@/lib/ops/page-data";
import type { SqlResult } from "@/lib/sql-contract";
import { StackedBars, type Series } from "../charts";
import { duration, int, percent } from "../format";
import { Time } from "../local-time";
import { DetailsTable, Empty, Figure, Head, Panel } from "./parts";

const exportSeries: Series[] = [
  { key: "completed", name: "completed", color: "#2f855a" },
  { key: "failed", name: "failed", color: "#c53030" },
];

export function ExportsPanel({ read }: { read: PanelRead<SqlResult<"export_ops_page_exports">> }) {
  return (
    <Panel id="exports" title="Exports" read={read}>
      {(exports) => {
        const rolledUp = exports.per_hour.some((h) => h.completed !== null);
        return (
        <>
          <p>
            Success rate: <Figure field="success_rate_24h" value={exports.success_rate_24h}>{percent(exports.success_rate_24h)}</Figure> of{" "}
            <Figure field="total_24h" value={exports.total_24h} /> in the last 24 hours,{" "}
            <Figure field="success_rate_30d" value={exports.success_rate_30d}>{percent(exports.success_rate_30d)}</Figure> of{" "}
            <Figure field="total_30d" value={exports.total_30d} /> in 30 days (from the hourly rollups).
          </p>
          {rolledUp ? null : (
            <Empty>
              No exports rolled up in the last 48 hours. The host app records one metric per export with ExportMetricsService (docs/ADOPTING.md, “Recording
              metrics from your export endpoint”); the hourly export-metrics-aggregate job rolls them up.
            </Empty>
          )}
          <h3>Per hour, last 48 hours</h3>
          <StackedBars title="Exports per hour" series={exportSeries} points={exports.per_hour.map((h) => ({ label: h.hour.slice(11, 16), completed: h.completed ?? 0, failed: h.failed ?? 0 }))} />
          <DetailsTable cols={["Hour", "Completed", "Failed"]}>
            {exports.per_hour.map((h) => (
              <tr key={h.hour}>
                <td>
                  <Time iso={h.hour} />
                </td>
                {h.completed === null ? (
                  <td colSpan={2}>not rolled up yet</td>
                ) : (
                  <>
                    <td>{int(h.completed)}</td>
                    <td>{int(h.failed ?? 0)}</td>
                  </>
                )}
              </tr>
            ))}
          </DetailsTable>
          <h3>Per day, last 30 days</h3>
          <StackedBars title="Exports per day" series={exportSeries} points={exports.per_day.map((d) => ({ label: d.day.slice(5), completed: d.completed, failed: d.failed }))} />
          <DetailsTable cols={["Day (UTC)", "Completed", "Failed", "Hours rolled up"]}>
            {exports.per_day.map((d) => (
              <tr key={d.day}>
                <td>{d.day}</td>
                <td>{int(d.completed)}</td>
                <td>{int(d.failed)}</td>
                <td>{d.hours}</td>
              </tr>
            ))}
          </DetailsTable>
          <div className="pair">
            <table>
              <caption>p95 duration by format, 30 days</caption>
              <Head cols={["Format", "Completed", "p95"]} />
              <tbody>
                {exports.p95_by_format.length === 0 ? (
                  <tr>
                    <td colSpan={3}>no completed exports rolled up</td>
                  </tr>
                ) : (
                  exports.p95_by_format.map((f) => (
                    <tr key={f.format} data-format={f.format}>
                      <th scope="row">{f.format}</th>
                      <td>{int(f.completed)}</td>
                      <td>
                        <Figure field="p95_ms" value={f.p95_ms}>{duration(f.p95_ms)}</Figure>
                      </td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
            <table>
              <caption>Failures by error type, 30 days</caption>
              <Head cols={["Error type", "Failures"]} />
              <tbody>
                {exports.failures_by_error_type.length === 0 ? (
                  <tr>
                    <td colSpan={2}>no failures</td>
                  </tr>
                ) : (
                  exports.failures_by_error_type.map((f) => (
                    <tr key={f.error_type} data-error-type={f.error_type}>
                      <th scope="row">{f.error_type}</th>
                      <td>
                        <Figure field="failures" value={f.count} />
                      </td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
        </>
        );
      }}
    </Panel>
  );
}
