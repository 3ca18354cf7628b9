// The Recent runs panel: the latest runs of every job, each linking to its full record.
import type { PanelRead } from "@/lib/ops/page-data";
import type { SqlResult } from "@/lib/sql-contract";
import { duration, int } from "../format";
import { Time } from "../local-time";
import { Empty, Figure, Head, Panel } from "./parts";

export function RunsPanel({ read }: { read: PanelRead<SqlResult<"export_ops_page_runs">> }) {
  return (
    <Panel id="runs" title="Recent runs" read={read}>
      {(runs) => (
        <>
          {runs.length === 0 ? (
            <Empty>
              No runs yet — is the cron registered? Vercel runs crons on production deployments only; see docs/ADOPTING.md, “Deploying on Vercel”, or run a
              job by hand (docs/JOBS.md, “Calling a job by hand”).
            </Empty>
          ) : (
            <table>
              <caption>The latest {runs.length} runs of every job</caption>
              <Head cols={["Started", "Job", "Trigger", "Outcome", "Duration", "Counts", "Error"]} />
              <tbody>
                {runs.map((run) => (
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
        </>
      )}
    </Panel>
  );
}
