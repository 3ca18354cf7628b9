// The Alerts panel: each alert's state and its recent transitions.
import type { PanelRead } from "../../ops/page-data";
import type { SqlResult } from "../../sql-contract";
import { html, type SafeHtml } from "../html";
import { empty, figure, head, panel, status, time } from "../parts";

type Alerts = SqlResult<"export_ops_page_alerts">;

export function alertsPanel(read: PanelRead<Alerts>): SafeHtml {
  return panel(
    "alerts",
    "Alerts",
    read,
    ({ alerts, transitions }) => html`${states(alerts)}<h3>Recent transitions</h3>${recent(transitions)}`,
  );
}

function states(alerts: Alerts["alerts"]): SafeHtml {
  const entries = Object.entries(alerts);
  if (entries.length === 0)
    return empty("No alert evaluated yet — the hourly export-metrics-aggregate job judges the failure rate and whether exports stopped.");
  const rows = entries.map(
    ([name, alert]) => html`<tr data-alert="${name}">
<th scope="row"><code>${name}</code></th>
<td class="${status(alert.state)}">${figure("alert_state", alert.state)}</td>
<td>${time(alert.changed_at)}</td>
<td>${alert.evaluated_at ? time(alert.evaluated_at) : "never"}</td>
</tr>`,
  );
  return html`<table>${head(["Alert", "State", "Since", "Last evaluated"])}<tbody>${rows}</tbody></table>`;
}

function recent(transitions: Alerts["transitions"]): SafeHtml {
  if (transitions.length === 0) return empty("No alert has fired yet.");
  const rows = transitions.map(
    (t) => html`<tr data-transition="${t.alert}">
<td>${time(t.at)}</td>
<td><code>${t.alert}</code></td>
<td class="${status(t.state)}">${t.state}</td>
<td>${t.message ?? ""}</td>
</tr>`,
  );
  return html`<table>${head(["When", "Alert", "Became", "Message"])}<tbody>${rows}</tbody></table>`;
}
