/**
 * What every alert's evaluation carries, each alert adding its own figures: stored with the alert's state
 * (lib/sql-contract.ts), judged by lib/host/failure-rate.ts and lib/alerting, sent by the webhook. Below all of
 * them, so the contract needs nothing of the alerting.
 */
export interface AlertPayload {
  type: string;
  severity: "info" | "high" | "critical";
  /** The condition holds now. */
  alert: boolean;
  /** false when there was too little to judge by: the state is then kept. */
  judged: boolean;
  message: string;
  /** The figures behind the judgement, in words ("3 of 25 exports failed"). */
  figures: string;
  window_start: string;
  window_end: string;
}
