/**
 * How long a batch claim lasts: the file cleanup's claimed exports (export_ops_file_cleanup_batch) and a log batch
 * being archived by the log cleanup or the erasure (export_ops_claim_log_batch). Longer than any run may last, so
 * only a dead run's claims ever expire and are taken back by another run.
 */
export const LEASE_SECONDS = 900;
