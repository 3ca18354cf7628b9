// The ops page behind OPS_TOKEN: /ops, its sign-in and sign-out, and a run's detail — plain HTML from one handler
// (lib/ops-page/route.ts), the file a host app mounts too (`import { opsPageRoute } from "export-ops/next"`).
import { opsPageRoute } from "@/lib/ops-page/route";

export const dynamic = "force-dynamic";
export const maxDuration = 30;

export const { GET, POST } = opsPageRoute();
