// export-ops: Prometheus metrics behind METRICS_TOKEN (GET /api/metrics).
// Written by `npx export-ops init`; `npx export-ops remove` deletes it while it is unchanged.
import { metricsRoute } from "export-ops/next";

export const dynamic = "force-dynamic";
export const maxDuration = 30;

export const { GET } = metricsRoute();
