// The ops page's panels: plain semantic tables (they read without JavaScript) and a chart above the long ones.
// Figures are wrapped in <data value> with a data-field name, so the browser test compares them with the SQL API.
import type { ReactNode } from "react";
import type { OpsJob, OpsPageData } from "@/lib/ops/page-data";
import { StackedBars, type Series } from "./charts";
import { bytes, capped, duration, int, percent } from "./format";
import { Time } from "./local-time";

function Figure({ field, value, children }: { field: string; value: number | string | null; children?: ReactNode }) {
  return (
    <data value={value ?? ""} data-field={field}>
      {children ?? (typeof value === "number" ? int(value) : (value ?? "—"))}
    </data>
  );
}

const exportSeries: Series[] = [
  { key: "completed", name: "completed", color: "#2f855a" },
  { key: "failed", name: "failed", color: "#c53030" },
];
const deletedSeries: Series[] = [
  { key: "files", name: "expired files", color: "#2b6cb0" },
  { key: "orphans", name: "orphans", color: "#805ad5" },
];

function Head({ cols }: { cols: string[] }) {
  return (
    <thead>
      <tr>
        {cols.map((col) => (
          <th key={col} scope="col">
            {col}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** A chart's figures as a table, folded under it: it reads without JavaScript. */
function DetailsTable({ cols, children }: { cols: string[]; children: ReactNode }) {
  return (
    <details>
      <summary>Table</summary>
      <table>
        <Head cols={cols} />
        <tbody>{children}</tbody>
      </table>
    </details>
  );
}

function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

const statusText: Record<OpsJob["health"]["status"], string> = {
  ok: "ok",
  failing: "failing",
  awaiting_first_run: "awaiting first run",
  overdue: "overdue",
};

function Jobs({ data }: { data: OpsPageData }) {
  return (
    <section aria-labelledby="jobs">
      <h2 id="jobs">Jobs</h2>
      <table>
        <Head cols={["Job", "Schedule", "Status", "Last run", "Last success", "Staleness / limit", "Next run", "Backlog"]} />
        <tbody>
          {data.jobs.map((job) => (
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
                  <span className="empty">no runs yet — is the cron registered? See the README, “Deploying on Vercel”.</span>
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
                  {capped(job.backlog, data.countCap)}
                </Figure>
                {job.hasMore ? <div>last run left work (has_more)</div> : null}
                {job.running > 0 ? <div>{job.running} running now</div> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Runs({ data }: { data: OpsPageData }) {
  return (
    <section aria-labelledby="runs">
      <h2 id="runs">Recent runs</h2>
      {data.runs.length === 0 ? (
        <Empty>
          No runs yet — is the cron registered? Vercel runs crons on production deployments only; see the README, “Deploying on Vercel”, or run a
          job by hand (“Calling a job by hand”).
        </Empty>
      ) : (
        <table>
          <caption>The latest {data.runs.length} runs of every job</caption>
          <Head cols={["Started", "Job", "Trigger", "Outcome", "Duration", "Counts", "Error"]} />
          <tbody>
            {data.runs.map((run) => (
              <tr key={run.run_id} data-run={run.run_id}>
                <td>
                  <a href={`/ops/runs/${run.run_id}`}>
                    <Time iso={run.started_at} />
                  </a>
                </td>
                <td>
                  <code>{run.job}</code>
                </td>
                <td>{run.trigger}</td>
                <td className={`status-${run.status}`}>
                  <Figure field="run_status" value={run.status} />
                  {run.dry_run ? " (dry run)" : ""}
                  {run.has_more ? ", has_more" : ""}
                </td>
                <td>{duration(run.duration_ms)}</td>
                <td className="counts">
                  {Object.entries(run.counts)
                    .filter(([, n]) => n !== 0)
                    .map(([key, n]) => `${key} ${int(n)}`)
                    .join(", ") || "—"}
                </td>
                <td>{run.error ? `${run.error.code ?? "error"}: ${run.error.message ?? ""}` : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Exports({ data }: { data: OpsPageData }) {
  const { exports } = data;
  const rolledUp = exports.per_hour.some((h) => h.completed !== null);
  return (
    <section aria-labelledby="exports">
      <h2 id="exports">Exports</h2>
      <p>
        Success rate: <Figure field="success_rate_24h" value={exports.success_rate_24h}>{percent(exports.success_rate_24h)}</Figure> of{" "}
        <Figure field="total_24h" value={exports.total_24h} /> in the last 24 hours,{" "}
        <Figure field="success_rate_30d" value={exports.success_rate_30d}>{percent(exports.success_rate_30d)}</Figure> of{" "}
        <Figure field="total_30d" value={exports.total_30d} /> in 30 days (from the hourly rollups).
      </p>
      {rolledUp ? null : (
        <Empty>
          No exports rolled up in the last 48 hours. The host app records one metric per export with ExportMetricsService (README, “Recording metrics
          from your export endpoint”); the hourly export-metrics-aggregate job rolls them up.
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
    </section>
  );
}

function Alerts({ data }: { data: OpsPageData }) {
  const alerts = Object.entries(data.alerts.alerts);
  return (
    <section aria-labelledby="alerts">
      <h2 id="alerts">Alerts</h2>
      {alerts.length === 0 ? (
        <Empty>No alert evaluated yet — the hourly export-metrics-aggregate job judges the failure rate and whether exports stopped.</Empty>
      ) : (
        <table>
          <Head cols={["Alert", "State", "Since", "Last evaluated"]} />
          <tbody>
            {alerts.map(([name, alert]) => (
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
      {data.alerts.transitions.length === 0 ? (
        <Empty>No alert has fired yet.</Empty>
      ) : (
        <table>
          <Head cols={["When", "Alert", "Became", "Message"]} />
          <tbody>
            {data.alerts.transitions.map((t) => (
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
    </section>
  );
}

function Cleanup({ data }: { data: OpsPageData }) {
  const { cleanup } = data;
  const deletedTotal = cleanup.files_deleted_per_day.reduce((sum, d) => sum + d.files + d.orphans, 0);
  return (
    <section aria-labelledby="cleanup">
      <h2 id="cleanup">Cleanup</h2>
      <table className="facts">
        <tbody>
          {data.buckets.map((b) => (
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
              <Figure field="orphan_sweep" value={data.orphanSweep.enabled ? "on" : "off"} />: {data.orphanSweep.reason}
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
              {cleanup.quarantined > 0 ? " — an operator must look: npm run job -- export-file-cleanup --quarantined (README, runbook)" : ""}
            </td>
          </tr>
          <tr>
            <th scope="row">Log cleanup backlog</th>
            <td>
              <Figure field="log_backlog" value={cleanup.log_backlog}>{capped(cleanup.log_backlog, data.countCap)}</Figure> logs past retention
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
    </section>
  );
}

export function Dashboard({ data }: { data: OpsPageData }) {
  return (
    <>
      <p className="meta">
        Read at <Time iso={data.generatedAt} />. Times are UTC; hover one for your local time. The README says what each figure means.
      </p>
      <Jobs data={data} />
      <Alerts data={data} />
      <Exports data={data} />
      <Cleanup data={data} />
      <Runs data={data} />
    </>
  );
}
