// A run's detail view (<base>/runs/<run_id>): its full record, its whole result included.
import type { SqlResult } from "../sql-contract";
import { duration } from "./format";
import { html, type SafeHtml } from "./html";
import { cell, status, time } from "./parts";

type Run = NonNullable<SqlResult<"export_ops_page_run">>;

const fact = (heading: string, content: SafeHtml | string, cellClass?: string) =>
  html`<tr><th scope="row">${heading}</th>${cell(content, cellClass)}</tr>`;

/** The scheduled delivery the run claimed: Vercel Schedules' execution ID, or a Cron Jobs occurrence. */
function delivery(run: Run): SafeHtml | null {
  const d = run.delivery;
  if (!d) return null;
  const execution = d.occurrence.startsWith("execution:") ? d.occurrence.slice("execution:".length) : null;
  const copies = d.deliveries > 1 ? ` (delivered ${d.deliveries} times; the others were skipped)` : "";
  return html`${execution ? fact("Execution ID", html`<code data-field="execution_id">${execution}</code>${copies}`) : fact("Occurrence", html`<code data-field="occurrence">${d.occurrence}</code>${copies}`)}
${d.scheduled_at ? fact("Scheduled for", time(d.scheduled_at)) : null}`;
}

export function runView(run: Run, base: string): SafeHtml {
  const error = run.error ? html`<h3>Error</h3><pre>${JSON.stringify(run.error, null, 2)}</pre>` : null;
  return html`<p><a href="${base}#runs">← recent runs</a></p>
<section aria-labelledby="run">
<h2 id="run"><code>${run.job}</code> run</h2>
<table class="facts"><tbody>
${fact("Run id", html`<code data-field="run_id">${run.run_id}</code>`)}
${fact("Trigger", run.trigger)}
${delivery(run)}
${fact("Outcome", html`<data value="${run.status}" data-field="run_status">${run.status}</data>${run.dry_run ? " (dry run)" : ""}`, status(run.status))}
${fact("Started", time(run.started_at))}
${fact("Finished", run.finished_at ? time(run.finished_at) : "not finished")}
${fact("Duration", duration(run.duration_ms))}
${fact("Deadline", time(run.deadline_at))}
</tbody></table>
${error}
<h3>Result</h3>
<pre data-field="result">${run.result === null ? "none recorded" : JSON.stringify(run.result, null, 2)}</pre>
</section>`;
}

/** A run id that is a UUID but names no run: unknown, or pruned. */
export function noSuchRun(base: string): SafeHtml {
  return html`<p><a href="${base}#runs">← recent runs</a></p>
<p role="alert" class="error">There is no such run. The monthly log cleanup keeps 90 days of run history.</p>`;
}
