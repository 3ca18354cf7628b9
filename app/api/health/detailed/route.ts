// export-ops: detailed health behind HEALTH_TOKEN (GET /api/health/detailed).
// Written by `npx export-ops init`; `npx export-ops remove` deletes it while it is unchanged.
import { detailedHealthRoute } from "export-ops/next";

export const dynamic = "force-dynamic";
export const maxDuration = 30;

export const { GET } = detailedHealthRoute();
