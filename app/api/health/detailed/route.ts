// Detailed health: database reachability and latency, and each job's last success and whether it is overdue.
// 200 healthy/degraded, 503 unhealthy. Not scheduled; for uptime checks and people.
// GET /api/health/detailed with Authorization: Bearer $HEALTH_TOKEN (404 while HEALTH_TOKEN is unset)
import { healthDetailed } from "@/lib/http/ops-routes";

export const dynamic = "force-dynamic";
export const maxDuration = 30;

export const GET = healthDetailed();
