// export-ops: liveness, without the database or any secret (GET /api/health).
// Written by `npx export-ops init`; `npx export-ops remove` deletes it while it is unchanged.
import { healthRoute } from "export-ops/next";

export const dynamic = "force-dynamic";
export const maxDuration = 10;

export const { GET } = healthRoute();
