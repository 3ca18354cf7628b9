// The Jobs panel: each job's schedule, health as detailed health judges it, last run, next run and backlog.
import type { OpsJob, PanelRead } from "../../ops/page-data";
import { capped, duration } from "../format";
import { html, type SafeHtml } from "../html";
import { figure, head, panel, status, time } from "../parts";

const statusText: Record<OpsJob["health"]["status"], string> = {
  ok: "ok",
  failing: "failing",
  awaiting_first_run: "awaiting first run",
  overdue: "overdue",
};

const COLUMNS = ["Job", "Schedule", "Status", "Last run", "Last success", "Staleness / limit", "Next run", "Backlog", "Check-ins"];

export function jobsPanel(read: PanelRead<OpsJob[]>, countCap: number, base: string): SafeHtml {
  return panel(
    "jobs",
    "Jobs",
    read,
    (jobs) => html`<table>${head(COLUMNS)}<tbody>${jobs.map((job) => jobRow(job, countCap, base))}</tbody></table>`,
  );
}

function jobRow(job: OpsJob, countCap: number, base: string): SafeHtml {
  const { health } = job;
  const staleness = health.staleness_seconds === null ? "—" : duration(health.staleness_seconds * 1000);
  return html`<tr data-job="${job.id}">
<th scope="row"><code>${job.id}</code></th>
<td>${job.scheduleInWords}<br><code>${job.schedule}</code></td>
<td class="${status(health.status)}">${figure("status", health.status, statusText[health.status])}${health.consecutive_failures > 0 ? html`<div>${health.consecutive_failures} failed in a row</div>` : null}</td>
<td>${lastRun(job, base)}</td>
<td>${health.last_success_at ? time(health.last_success_at) : "never"}</td>
<td>${staleness} / ${duration(health.max_staleness_seconds * 1000)}</td>
<td>${time(job.nextRunAt)}</td>
<td>${figure("backlog", job.backlog, capped(job.backlog, countCap))}${job.hasMore ? html`<div>last run left work (has_more)</div>` : null}${job.running > 0 ? html`<div>${job.running} running now</div>` : null}</td>
<td>${checkinTarget(job.checkinTarget)}</td>
</tr>`;
}

function lastRun(job: OpsJob, base: string): SafeHtml {
  const { health } = job;
  if (!health.last_started_at)
    return html`<span class="empty">no runs yet — is the cron registered? See docs/ADOPTING.md, “Deploying on Vercel”.</span>`;
  const details = job.lastRunId ? html`<div><a href="${base}/runs/${job.lastRunId}">details</a> (${job.lastTrigger})</div>` : null;
  return html`${figure("last_status", health.last_status)} ${time(health.last_started_at)}${details}`;
}

/** The job's check-in target and its latest check-in, or how to set one up. */
function checkinTarget(target: OpsJob["checkinTarget"]): SafeHtml {
  if (!target) return html`<span class="empty">no check-in target — see docs/MONITORING.md, “Getting told when crons stop”</span>`;
  const last = target.last;
  const checkin = last
    ? html`<span${last.delivered ? null : html` class="${status("failing")}"`}>${figure("last_checkin", last.delivered ? "delivered" : "failed", `${last.event} ${last.delivered ? "delivered" : `not delivered (${last.error ?? "?"})`}`)} ${time(last.at)}</span>`
    : "no check-in yet";
  return html`${figure("checkin_target", target.provider)} <code>${target.host}</code><div>${checkin}</div>`;
}
