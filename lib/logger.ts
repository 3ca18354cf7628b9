/**
 * The pino root logger: one JSON object per line on stdout, `level` as a word, ISO `time`. Domain events carry
 * a `type` field (see docs/LOGGING.md). Secrets are removed twice: known secret-bearing keys are redacted, and
 * the values of the secret env variables are scrubbed from every line before it is written.
 */
import pino, { type DestinationStream } from "pino";
import { getLogLevel, secretValues } from "./env";

/** The narrow logger the jobs depend on; pino satisfies it, and so can a test fake. */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

const REDACTED = "[Redacted]";

export const redactPaths = [
  "authorization",
  "apikey",
  "password",
  "secret",
  "token",
  "cookie",
  "*.authorization",
  "*.Authorization",
  "*.apikey",
  "*.password",
  "*.secret",
  "*.token",
  "*.cookie",
  "*.headers.authorization",
  "*.headers.apikey",
  "*.headers.cookie",
  "*.CRON_SECRET",
  "*.SUPABASE_SERVICE_ROLE_KEY",
  "*.serviceRoleKey",
  "*.EXPORT_ARCHIVE_S3_ACCESS_KEY_ID",
  "*.EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY",
  "*.accessKeyId",
  "*.secretAccessKey",
  "*.credentials",
];

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Builds a logger. `destination` defaults to stdout; tests pass a stream to read the lines back. */
export function createLogger(options: { destination?: DestinationStream; level?: string; secrets?: string[] } = {}): Logger {
  const secrets = (options.secrets ?? secretValues()).filter(Boolean);
  const scrub = secrets.length ? new RegExp(secrets.map(escapeRegExp).join("|"), "g") : undefined;
  return pino(
    {
      level: options.level ?? getLogLevel(),
      base: { service: "export-ops" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths, censor: REDACTED },
      ...(scrub ? { hooks: { streamWrite: (line: string) => line.replace(scrub, REDACTED) } } : {}),
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** The process-wide root logger. */
export const logger: Logger = createLogger();
