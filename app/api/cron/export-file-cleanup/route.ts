// Deletes export files past retention from Storage, marks their logs `expired`, sweeps orphaned files.
// Schedule: daily at 02:00 UTC (vercel.json, from lib/jobs). Query: dry_run, retention_hours, batch_size, concurrency, nice_ratio, sweep_orphans (and the orphan sweep's).
// GET /api/cron/export-file-cleanup with Authorization: Bearer $CRON_SECRET
import { withCron } from "@/lib/http/with-cron";
import { exportFileCleanup } from "@/lib/jobs";

export const dynamic = "force-dynamic";
export const maxDuration = 300;

export const GET = withCron(exportFileCleanup);
