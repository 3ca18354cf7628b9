// The Alerts panel: each alert's state and its recent transitions.
import type { PanelRead } from "@/lib/ops/page-data";
import type { SqlResult } from "@/lib/sql-contract";
import { Time } from "../local-time";
import { Empty, Figure, Head, Panel } from "./parts";

export function AlertsPanel({ read }: { read: PanelRead<SqlResult<"export_ops_page_alerts">> }) {
  return (
    <Panel id="alerts" title="Alerts" read={read}>
      {({ alerts: states, transitions }) => (
        <>
          {Object.keys(states).length === 0 ? (
            <Empty>No alert evaluated yet — the hourly export-metrics-aggregate job judges the failure rate and whether exports stopped.</Empty>
          ) : (
            <table>
              <Head cols={["Alert", "State", "Since", "Last evaluated"]} />
              <tbody>
                {Object.entries(states).map(([name, alert]) => (
                  <tr key={name} data-alert={name}>
                    <th scope="row">
                      <code>{name}</code>
                    </th>
                    <td className={`status-${alert.state}`}>
                      <Figure field="alert_state" value={alert.state} />
                    </td>
                    <td>
                      <Time iso={alert.changed_at} />
                    </td>
                    <td>{alert.evaluated_at ? <Time iso={alert.evaluated_at} /> : "never"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>Recent transitions</h3>
          {transitions.length === 0 ? (
            <Empty>No alert has fired yet.</Empty>
          ) : (
            <table>
              <Head cols={["When", "Alert", "Became", "Message"]} />
              <tbody>
                {transitions.map((t) => (
                  <tr key={`${t.alert}-${t.at}-${t.state}`} data-transition={t.alert}>
                    <td>
                      <Time iso={t.at} />
                    </td>
                    <td>
                      <code>{t.alert}</code>
                    </td>
                    <td className={`status-${t.state}`}>{t.state}</td>
                    <td>{t.message ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </Panel>
  );
}
