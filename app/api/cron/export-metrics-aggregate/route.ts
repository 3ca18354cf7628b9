// Rolls raw export metrics up per hour (catching up missed hours) and evaluates the alerts (failure rate, exports stopped).
// Schedule: hourly at :00 UTC (vercel.json, from lib/jobs); daily on Vercel Hobby. Query: dry_run, max_hours.
// GET /api/cron/export-metrics-aggregate with Authorization: Bearer $CRON_SECRET
import { withCron } from "@/lib/http/with-cron";
import { exportMetricsAggregate } from "@/lib/jobs";

export const dynamic = "force-dynamic";
export const maxDuration = 300;

export const GET = withCron(exportMetricsAggregate);
