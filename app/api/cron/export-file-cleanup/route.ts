// export-ops, export-file-cleanup (0 2 * * * UTC, in vercel.json): Deletes export files past retention from Storage and marks their logs expired; sweeps orphaned files.
// Written by `npx export-ops init`; `npx export-ops remove` deletes it while it is unchanged.
import { cronRoute } from "export-ops/next";

export const dynamic = "force-dynamic";
export const maxDuration = 300;

export const { GET } = cronRoute("export-file-cleanup");
