// The ops page's panels, in the order a person reads them. Each panel is its own file (./panels/) and gets only its
// own read: a failed read shows that panel's error, and the others are unaffected.
import type { OpsPanels } from "@/lib/ops/page-data";
import { Time } from "./local-time";
import { AlertsPanel } from "./panels/alerts";
import { CleanupPanel } from "./panels/cleanup";
import { ExportsPanel } from "./panels/exports";
import { JobsPanel } from "./panels/jobs";
import { RunsPanel } from "./panels/runs";

export function Dashboard({ panels }: { panels: OpsPanels }) {
  return (
    <>
      <p className="meta">
        Read at <Time iso={panels.generatedAt} />. Times are UTC; hover one for your local time. docs/MONITORING.md says what each figure means.
      </p>
      <JobsPanel read={panels.jobs} countCap={panels.countCap} />
      <AlertsPanel read={panels.alerts} />
      <ExportsPanel read={panels.exports} />
      <CleanupPanel read={panels.cleanup} countCap={panels.countCap} />
      <RunsPanel read={panels.runs} />
    </>
  );
}
