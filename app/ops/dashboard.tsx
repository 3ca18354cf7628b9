// Not a route: what scripts/bench/ops-page.tsx renders to time the ops page, until it calls dashboardView
// (lib/ops-page/dashboard.ts) itself. The page is plain HTML from app/ops/[[...path]]/route.ts.
import type { OpsPanels } from "@/lib/ops/page-data";
import { dashboardView } from "@/lib/ops-page/dashboard";

export function Dashboard({ panels }: { panels: OpsPanels }) {
  return <div dangerouslySetInnerHTML={{ __html: dashboardView(panels).value }} />;
}
