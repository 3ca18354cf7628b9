// Prometheus exposition computed from the database on each scrape (jobs, exports, alert, backlogs).
// Not scheduled; scraped by Prometheus (ops/prometheus/scrape-config.example.yml).
// GET /api/metrics with Authorization: Bearer $METRICS_TOKEN (404 while METRICS_TOKEN is unset)
import { prometheusMetrics } from "@/lib/http/ops-routes";

export const dynamic = "force-dynamic";
export const maxDuration = 30;

export const GET = prometheusMetrics();
