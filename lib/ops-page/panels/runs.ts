// The Recent runs panel: the latest runs of every job, each linking to its full record.
import type { PanelRead } from "../../ops/page-data";
import type { SqlResult } from "../../sql-contract";
import { duration, int } from "../format";
import { html, type SafeHtml } from "../html";
import { empty, figure, head, panel, status, time } from "../parts";

type Run = SqlResult<"export_ops_page_runs">[number];

const NO_RUNS =
  "No runs yet — is the cron registered? Vercel runs crons on production deployments only; see docs/ADOPTING.md, “Deploying on Vercel”, or run a job by hand (docs/JOBS.md, “Calling a job by hand”).";

export function runsPanel(read: PanelRead<SqlResult<"export_ops_page_runs">>, base: string): SafeHtml {
  return panel("runs", "Recent runs", read, (runs) =>
    runs.length === 0
      ? empty(NO_RUNS)
      : html`<table><caption>The latest ${runs.length} runs of every job</caption>${head(["Started", "Job", "Trigger", "Outcome", "Duration", "Counts", "Error"])}<tbody>${runs.map((run) => runRow(run, base))}</tbody></table>`,
  );
}

function runRow(run: Run, base: string): SafeHtml {
  const counts =
    Object.entries(run.counts)
      .filter(([, n]) => n !== 0)
      .map(([key, n]) => `${key} ${int(n)}`)
      .join(", ") || "—";
  return html`<tr data-run="${run.run_id}">
<td><a href="${base}/runs/${run.run_id}">${time(run.started_at)}</a></td>
<td><code>${run.job}</code></td>
<td>${run.trigger}</td>
<td class="${status(run.status)}">${figure("run_status", run.status)}${run.dry_run ? " (dry run)" : ""}${run.has_more ? ", has_more" : ""}</td>
<td>${duration(run.duration_ms)}</td>
<td class="counts">${counts}</td>
<td>${run.error ? `${run.error.code ?? "error"}: ${run.error.message ?? ""}` : ""}</td>
</tr>`;
}
