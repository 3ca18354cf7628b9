/**
 * Every whole-number setting and its bounds: one definition for the env var (lib/env.ts), the job option where there
 * is one (lib/jobs settingOption) and the SQL API's argument (lib/sql-contract.ts). SQL checks the same bounds itself,
 * in every function that takes a setting, through export_ops_setting (supabase/schemas/01_installation.sql), whose
 * copy of this list test/setting-bounds.integration.test.ts holds equal. A module of its own, so that the contract
 * (and the host library, which carries it) does not carry the app's environment schema.
 */
export const SETTING_BOUNDS = {
  EXPORT_FILE_RETENTION_HOURS: { min: 1, max: 8760, option: "retention_hours", unit: "hours" },
  EXPORT_LOG_RETENTION_DAYS: { min: 1, max: 3650, option: "retention_days", unit: "days" },
  EXPORT_METRICS_RETENTION_DAYS: { min: 1, max: 3650, option: "metrics_retention_days", unit: "days" },
  EXPORT_CLEANUP_MAX_ATTEMPTS: { min: 1, max: 100, option: undefined, unit: "attempts" },
  FAILURE_RATE_MIN_SAMPLE: { min: 1, max: 1_000_000, option: undefined, unit: "exports" },
  EXPORT_SILENCE_ALERT_HOURS: { min: 1, max: 168, option: undefined, unit: "hours" },
  EXPORT_STUCK_HOURS: { min: 1, max: 720, option: undefined, unit: "hours" },
} as const;
export type BoundedSetting = keyof typeof SETTING_BOUNDS;
