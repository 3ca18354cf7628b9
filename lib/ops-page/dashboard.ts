// The ops page's panels, in the order a person reads them. Each panel is its own file (./panels/) and gets only its
// own read: a failed read shows that panel's error, and the others are unaffected.
import type { OpsPanels } from "../ops/page-data";
import { html, type SafeHtml } from "./html";
import { alertsPanel } from "./panels/alerts";
import { cleanupPanel } from "./panels/cleanup";
import { exportsPanel } from "./panels/exports";
import { jobsPanel } from "./panels/jobs";
import { runsPanel } from "./panels/runs";
import { time } from "./parts";

/** The panels, without the page around them (also what `npm run bench` renders). */
export function dashboardView(panels: OpsPanels, base = "/ops"): SafeHtml {
  return html`<p class="meta">Read at ${time(panels.generatedAt)}. Times are UTC; hover one for your local time. docs/MONITORING.md says what each figure means.</p>
${jobsPanel(panels.jobs, panels.countCap, base)}
${alertsPanel(panels.alerts)}
${exportsPanel(panels.exports)}
${cleanupPanel(panels.cleanup, panels.countCap)}
${runsPanel(panels.runs, base)}`;
}
