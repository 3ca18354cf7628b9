// The Jobs panel: each job's schedule, health as detailed health judges it, last run, next run and backlog.
import type { OpsJob, PanelRead } from "@/lib/ops/page-data";
import { capped, duration } from "../format";
import { Time } from "../local-time";
import { Figure, Head, Panel } from "./parts";

const statusText: Record<OpsJob["health"]["status"], string> = {
  ok: "ok",
  failing: "failing",
  awaiting_first_run: "awaiting first run",
  overdue: "overdue",
};

export function JobsPanel({ read, countCap }: { read: PanelRead<OpsJob[]>; countCap: number }) {
  return (
    <Panel id="jobs" title="Jobs" read={read}>
      {(jobs) => (
        <>
          <table>
            <Head cols={["Job", "Schedule", "Status", "Last run", "Last success", "Staleness / limit", "Next run", "Backlog", "Watched by"]} />
            <tbody>
              {jobs.map((job) => (
                <tr key={job.id} data-job={job.id}>
                  <th scope="row">
                    <code>{job.id}</code>
                  </th>
                  <td>
                    {job.scheduleInWords}
                    <br />
                    <code>{job.schedule}</code>
                  </td>
                  <td className={`status-${job.health.status}`}>
                    <Figure field="status" value={job.health.status}>
                      {statusText[job.health.status]}
                    </Figure>
                    {job.health.consecutive_failures > 0 ? <div>{job.health.consecutive_failures} failed in a row</div> : null}
                  </td>
                  <td>
                    {job.health.last_started_at ? (
                      <>
                        <Figure field="last_status" value={job.health.last_status} /> <Time iso={job.health.last_started_at} />
                        {job.lastRunId ? (
                          <div>
                            <a href={`/ops/runs/${job.lastRunId}`}>details</a> ({job.lastTrigger})
                          </div>
                        ) : null}
                      </>
                    ) : (
                      <span className="empty">no runs yet — is the cron registered? See docs/ADOPTING.md, “Deploying on Vercel”.</span>
                    )}
                  </td>
                  <td>{job.health.last_success_at ? <Time iso={job.health.last_success_at} /> : "never"}</td>
                  <td>
                    {job.health.staleness_seconds === null ? "—" : duration(job.health.staleness_seconds * 1000)} / {duration(job.health.max_staleness_seconds * 1000)}
                  </td>
                  <td>
                    <Time iso={job.nextRunAt} />
                  </td>
                  <td>
                    <Figure field="backlog" value={job.backlog}>
                      {capped(job.backlog, countCap)}
                    </Figure>
                    {job.hasMore ? <div>last run left work (has_more)</div> : null}
                    {job.running > 0 ? <div>{job.running} running now</div> : null}
                  </td>
                  <td>
                    <Watcher watcher={job.watcher} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Panel>
  );
}

/** The job's outside watcher and its latest check-in, or how to set one up. */
function Watcher({ watcher }: { watcher: OpsJob["watcher"] }) {
  if (!watcher) return <span className="empty">nothing outside — see docs/MONITORING.md, “Getting told when crons stop”</span>;
  const last = watcher.last;
  return (
    <>
      <Figure field="watcher" value={watcher.provider} /> <code>{watcher.host}</code>
      <div>
        {last ? (
          <span className={last.delivered ? undefined : "status-failing"}>
            <Figure field="last_checkin" value={last.delivered ? "delivered" : "failed"}>
              {last.event} {last.delivered ? "delivered" : `not delivered (${last.error ?? "?"})`}
            </Figure>{" "}
            <Time iso={last.at} />
          </span>
        ) : (
          "no check-in yet"
        )}
      </div>
    </>
  );
}
