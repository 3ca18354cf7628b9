// /ops: export health at a glance (jobs, alerts, exports, cleanup, recent runs), server-rendered from the SQL API
// behind OPS_TOKEN. Not scheduled; for people.
import { describeWatchers } from "@/lib/checkins/checkins";
import { jobs } from "@/lib/jobs";
import { readOpsPanels } from "@/lib/ops/page-data";
import { systemClock } from "@/lib/ports";
import { logPanelFailures, opsGate, opsRead } from "./access";
import { Dashboard } from "./dashboard";
import { OpsShell, ReadFailed, SignIn } from "./shell";

export const dynamic = "force-dynamic";
export const maxDuration = 30;
export const metadata = { title: "export-ops · ops", robots: { index: false } };

export default async function OpsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  if ((await opsGate()) === "signed_out") return <SignIn refused={(await searchParams).sign_in === "refused"} />;
  const read = await opsRead((db, env) =>
    readOpsPanels(
      db,
      jobs,
      {
        exportsBucket: env.EXPORTS_BUCKET,
        archiveBucket: env.EXPORT_ARCHIVE_BUCKET,
        orphanSweep: env.EXPORT_ORPHAN_SWEEP,
        fileRetentionHours: env.EXPORT_FILE_RETENTION_HOURS,
        logRetentionDays: env.EXPORT_LOG_RETENTION_DAYS,
        watchers: describeWatchers(env, jobs.map((j) => j.id)),
      },
      systemClock,
    ),
  );
  if (!read.ok) return <OpsShell><ReadFailed message={read.message} /></OpsShell>;
  logPanelFailures(read.value);
  return <OpsShell><Dashboard panels={read.value} /></OpsShell>;
}
