// /ops/runs/<run_id>: one run's full record (its whole result), behind the ops page's sign-in.
import { notFound, redirect } from "next/navigation";
import { loadOpsRun } from "@/lib/ops/page-data";
import { duration } from "../../format";
import { Time } from "../../local-time";
import { opsGate, opsRead } from "../../access";
import { OpsShell, ReadFailed } from "../../shell";

export const dynamic = "force-dynamic";
export const metadata = { title: "export-ops · run", robots: { index: false } };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export default async function RunPage({ params }: { params: Promise<{ id: string }> }) {
  if ((await opsGate()) === "signed_out") redirect("/ops");
  const { id } = await params;
  if (!UUID.test(id)) notFound(); // ../../../../proxy.ts answers these first; this is the page's own guard
  const read = await opsRead((db) => loadOpsRun(db, id));
  if (!read.ok) return <OpsShell><ReadFailed message={read.message} /></OpsShell>;
  const run = read.value;
  if (run === null) notFound(); // unknown, or pruned (the monthly log cleanup keeps 90 days of run history)
  return (
    <OpsShell>
      <p>
        <a href="/ops#runs">← recent runs</a>
      </p>
      <section aria-labelledby="run">
        <h2 id="run">
          <code>{run.job}</code> run
        </h2>
        <table className="facts">
          <tbody>
            <tr><th scope="row">Run id</th><td><code data-field="run_id">{run.run_id}</code></td></tr>
            <tr><th scope="row">Trigger</th><td>{run.trigger}</td></tr>
            <tr><th scope="row">Outcome</th><td className={`status-${run.status}`}><data value={run.status} data-field="run_status">{run.status}</data>{run.dry_run ? " (dry run)" : ""}</td></tr>
            <tr><th scope="row">Started</th><td><Time iso={run.started_at} /></td></tr>
            <tr><th scope="row">Finished</th><td>{run.finished_at ? <Time iso={run.finished_at} /> : "not finished"}</td></tr>
            <tr><th scope="row">Duration</th><td>{duration(run.duration_ms)}</td></tr>
            <tr><th scope="row">Deadline</th><td><Time iso={run.deadline_at} /></td></tr>
          </tbody>
        </table>
        {run.error ? (
          <>
            <h3>Error</h3>
            <pre>{JSON.stringify(run.error, null, 2)}</pre>
          </>
        ) : null}
        <h3>Result</h3>
        <pre data-field="result">{run.result === null ? "none recorded" : JSON.stringify(run.result, null, 2)}</pre>
      </section>
    </OpsShell>
  );
}
