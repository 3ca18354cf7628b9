// Deletes export logs past retention, archiving them first when EXPORT_ARCHIVE_BUCKET is set; prunes old raw metrics.
// Schedule: monthly, 1st at 03:00 UTC (vercel.json, from lib/jobs). Query: dry_run, retention_days, metrics_retention_days, batch_size, prune_metrics, nice_ratio.
// GET /api/cron/export-log-cleanup with Authorization: Bearer $CRON_SECRET
import { withCron } from "@/lib/http/with-cron";
import { exportLogCleanup } from "@/lib/jobs";

export const dynamic = "force-dynamic";
export const maxDuration = 300;

export const GET = withCron(exportLogCleanup);
