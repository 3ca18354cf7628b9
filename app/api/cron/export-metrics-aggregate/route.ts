// export-ops, export-metrics-aggregate (0 * * * * UTC, in vercel.json): Rolls raw export metrics up per hour (catching up missed hours) and evaluates the alerts (failure rate, exports stopped).
// Written by `npx export-ops init`; `npx export-ops remove` deletes it while it is unchanged.
import { cronRoute } from "export-ops/next";

export const dynamic = "force-dynamic";
export const maxDuration = 300;

export const { GET } = cronRoute("export-metrics-aggregate");
