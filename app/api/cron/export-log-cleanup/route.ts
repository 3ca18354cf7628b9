// export-ops, export-log-cleanup (0 3 1 * * UTC, in vercel.json): Deletes export logs past retention (archiving them first when an archive bucket is set) and prunes old raw metrics.
// Written by `npx export-ops init`; `npx export-ops remove` deletes it while it is unchanged.
import { cronRoute } from "export-ops/next";

export const dynamic = "force-dynamic";
export const maxDuration = 300;

export const { GET } = cronRoute("export-log-cleanup");
