// export-ops: the ops page behind OPS_TOKEN (/ops, sign-in, sign-out, a run's detail).
// Written by `npx export-ops init`; `npx export-ops remove` deletes it while it is unchanged.
import { opsPageRoute } from "export-ops/next";

export const dynamic = "force-dynamic";
export const maxDuration = 30;

export const { GET, POST } = opsPageRoute();
