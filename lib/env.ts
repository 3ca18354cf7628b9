/**
 * The one place that reads process.env. Every setting export-ops knows is declared here, validated with zod,
 * and described in .env.example. Errors name the variable and what is wrong with it, never its value.
 *
 * A host app may give settings in code instead (`cronRoute(id, { settings })`, lib/next): they apply, over the
 * environment's, to everything a request of that route does (withSettings). SUPABASE_URL may also come as
 * NEXT_PUBLIC_SUPABASE_URL, the name Supabase's starters use.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import * as z from "zod";
import { ConfigError, NotFoundError } from "./errors";
import { SETTING_BOUNDS, type BoundedSetting } from "./setting-bounds";

/** Settings given in code, by their environment names. */
export type Settings = Partial<Record<string, string>>;

const given = new AsyncLocalStorage<Settings>();

/** Runs `fn` (and all it starts) with `settings` over the environment's; without settings, as it is. */
export function withSettings<T>(settings: Settings | undefined, fn: () => T): T {
  return settings ? given.run(settings, fn) : fn();
}

/** The settings in force: the environment, the settings given in code over it, and the starters' URL name. */
function source(): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = { ...process.env, ...given.getStore() };
  return { ...merged, SUPABASE_URL: merged.SUPABASE_URL || merged.NEXT_PUBLIC_SUPABASE_URL };
}

/** The shortest secret taken: 32 characters (`openssl rand -base64 32` gives 44). */
export const SECRET_MIN_LENGTH = 32;
const GENERATE = "generate one with: openssl rand -base64 32";

/**
 * Why a value cannot be one of the secrets (CRON_SECRET, METRICS_TOKEN, HEALTH_TOKEN, OPS_TOKEN), or undefined when
 * it can: shorter than SECRET_MIN_LENGTH, a short pattern repeated (one character included, the last repetition
 * may be cut short), fewer than 6 different characters, or one character making up half of it. A generator's
 * output passes all of these whatever it drew (32 hex characters have fewer than 6 different ones about once in
 * 10^12 draws); a value a person made up to look long often does not. The reason never contains the value.
 */
export function weakSecretReason(value: string): string | undefined {
  const length = [...value].length;
  if (length < SECRET_MIN_LENGTH) return `must be at least ${SECRET_MIN_LENGTH} characters (${GENERATE})`;
  if (shortestPeriod(value) <= length / 2) return `is a short pattern repeated, not a secret (${GENERATE})`;
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  if (counts.size < 6) return `has fewer than 6 different characters, not a secret (${GENERATE})`;
  if (Math.max(...counts.values()) * 2 >= length) return `is mostly one character, not a secret (${GENERATE})`;
  return undefined;
}

/** The length of the shortest p with value[i] = value[i - p] for every i ≥ p (Knuth–Morris–Pratt's failure function). */
function shortestPeriod(value: string): number {
  const chars = [...value];
  const border = new Array<number>(chars.length).fill(0);
  for (let i = 1, k = 0; i < chars.length; i++) {
    while (k > 0 && chars[i] !== chars[k]) k = border[k - 1]!;
    if (chars[i] === chars[k]) k += 1;
    border[i] = k;
  }
  return chars.length - (border[chars.length - 1] ?? 0);
}

const secretText = z.string().superRefine((value, ctx) => {
  const reason = weakSecretReason(value);
  if (reason) ctx.addIssue({ code: "custom", message: reason });
});

/** CRON_SECRET is checked on its own first, so a cron route can refuse to run before anything else is read. */
export const cronSecretSchema = z.string({ error: "is not set" }).trim().pipe(secretText);

/** The four secrets, each its own: a read-only token that equals CRON_SECRET could run the jobs, HEALTH_TOKEN open the ops page. */
export const SECRET_NAMES = ["CRON_SECRET", "METRICS_TOKEN", "HEALTH_TOKEN", "OPS_TOKEN"] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

/** Each pair of the given secrets that are set and equal (after trimming), as [first, second]: never the value. */
export function equalSecrets(
  source: Partial<Record<SecretName, string | undefined>>,
  names: readonly SecretName[] = SECRET_NAMES,
): [SecretName, SecretName][] {
  const pairs: [SecretName, SecretName][] = [];
  names.forEach((a, i) => {
    for (const b of names.slice(i + 1)) {
      const [x, y] = [source[a]?.trim(), source[b]?.trim()];
      if (x && x === y) pairs.push([a, b]);
    }
  });
  return pairs;
}

const sameSecretMessage = (first: SecretName) => `must not be the same as ${first} (each secret is its own)`;

/** An object refinement: one issue per equal pair, on the later variable. */
const distinctSecrets =
  (names: readonly SecretName[]) => (values: Partial<Record<SecretName, string | undefined>>, ctx: z.core.$RefinementCtx) => {
    for (const [a, b] of equalSecrets(values, names)) ctx.addIssue({ code: "custom", path: [b], message: sameSecretMessage(a) });
  };

/** Every whole-number setting and its bounds (./setting-bounds.ts, where the SQL API contract takes them from too). */
export { SETTING_BOUNDS, type BoundedSetting };

const boundedInt = (name: BoundedSetting, fallback: number) => {
  const { min, max, unit } = SETTING_BOUNDS[name];
  return z.coerce
    .number({ error: "must be a number" })
    .int({ error: "must be a whole number" })
    .min(min, { error: `must be at least ${min} ${unit}` })
    .max(max, { error: `must be at most ${max} ${unit}` })
    .default(fallback);
};
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : undefined));
const httpUrl = z.string().pipe(z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }));
const bucketNameSchema = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, { error: "must be a bucket name (a-z, 0-9, '.', '_', '-')" });

/** Every setting the jobs, scripts and routes use. CRON_SECRET is apart: only the cron routes need it. */
const settingsObject = z.object({
  SUPABASE_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
  SUPABASE_SERVICE_ROLE_KEY: z.string({ error: "is not set" }).trim().min(20, { error: "is too short to be a key" }),
  EXPORTS_BUCKET: bucketNameSchema.default("exports"),
  // unset or empty: archival off
  EXPORT_ARCHIVE_BUCKET: optionalText.pipe(bucketNameSchema.optional()),
  // where the archive bucket is: the Supabase project's Storage (the default), or an S3-compatible store (AWS S3,
  // Cloudflare R2, Supabase's own S3 endpoint, MinIO…); unset, it is s3 when EXPORT_ARCHIVE_REGION or
  // EXPORT_ARCHIVE_S3_ENDPOINT is set (as the original description configured archival), else supabase
  EXPORT_ARCHIVE_TARGET: optionalText.pipe(z.enum(["supabase", "s3"], { error: "must be supabase or s3" }).optional()),
  // the S3 target's region (R2: auto), its endpoint for a store that is not AWS (path-style requests there), its
  // access key (both halves secret: never logged, never shown), and the storage class its objects are written with
  EXPORT_ARCHIVE_REGION: optionalText.pipe(
    z
      .string()
      .regex(/^[a-z0-9-]{2,32}$/, { error: "must be a region name such as us-east-1 (R2: auto)" })
      .optional(),
  ),
  EXPORT_ARCHIVE_S3_ENDPOINT: optionalText.pipe(httpUrl.optional()),
  EXPORT_ARCHIVE_S3_ACCESS_KEY_ID: optionalText,
  EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY: optionalText,
  EXPORT_ARCHIVE_S3_STORAGE_CLASS: optionalText.pipe(
    z
      .string()
      .regex(/^[A-Z_]{2,32}$/, { error: "must be an S3 storage class such as STANDARD_IA or GLACIER_IR" })
      .optional(),
  ),
  // the orphan sweep: `auto` sweeps a bucket export-ops created and no other; `on` a bucket that existed before it
  // too (check what a dry run lists first); `off` never
  EXPORT_ORPHAN_SWEEP: z.enum(["auto", "on", "off"], { error: "must be auto, on or off" }).default("auto"),
  EXPORT_FILE_RETENTION_HOURS: boundedInt("EXPORT_FILE_RETENTION_HOURS", 24),
  EXPORT_LOG_RETENTION_DAYS: boundedInt("EXPORT_LOG_RETENTION_DAYS", 30),
  EXPORT_METRICS_RETENTION_DAYS: boundedInt("EXPORT_METRICS_RETENTION_DAYS", 90),
  EXPORT_CLEANUP_MAX_ATTEMPTS: boundedInt("EXPORT_CLEANUP_MAX_ATTEMPTS", 5),
  FAILURE_RATE_THRESHOLD: z.coerce
    .number({ error: "must be a number" })
    .gt(0, { error: "must be above 0" })
    .max(1, { error: "must be at most 1 (a fraction, 0.1 = 10%)" })
    .default(0.1),
  FAILURE_RATE_MIN_SAMPLE: boundedInt("FAILURE_RATE_MIN_SAMPLE", 20),
  EXPORT_SILENCE_ALERT_HOURS: boundedInt("EXPORT_SILENCE_ALERT_HOURS", 6),
  EXPORT_STUCK_HOURS: boundedInt("EXPORT_STUCK_HOURS", 24),
  ALERT_WEBHOOK_URL: optionalText.pipe(z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional()),
  // the read-only bearers and the ops page's secret: each one its own, none guessable (weakSecretReason)
  METRICS_TOKEN: optionalText.pipe(secretText.optional()),
  HEALTH_TOKEN: optionalText.pipe(secretText.optional()),
  // the ops page's sign-in secret (and, derived from it, its cookie-signing key); apart from HEALTH_TOKEN so that
  // an uptime monitor's token cannot open the page
  OPS_TOKEN: optionalText.pipe(secretText.optional()),
  // the deployment's public address, when request.url cannot say (self-hosted behind a TLS proxy, or plain HTTP on
  // a LAN address): continuations call it, and the ops page's cookie is Secure when it is https. Unset on Vercel.
  EXPORT_OPS_BASE_URL: optionalText.pipe(z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional()),
  // check-in targets (lib/checkins): one URL per job, from the template (`{job}` is the job id) or the job's own
  // variable, which wins; the provider is read from the URL's shape unless EXPORT_OPS_CHECKIN_PROVIDER says it
  EXPORT_OPS_CHECKIN_URL: optionalText.pipe(
    httpUrl
      .refine((v) => v.includes("{job}"), { error: "must contain {job} (one check per job), or set EXPORT_OPS_CHECKIN_URL_<JOB> per job" })
      .optional(),
  ),
  EXPORT_OPS_CHECKIN_URL_EXPORT_FILE_CLEANUP: optionalText.pipe(httpUrl.optional()),
  EXPORT_OPS_CHECKIN_URL_EXPORT_LOG_CLEANUP: optionalText.pipe(httpUrl.optional()),
  EXPORT_OPS_CHECKIN_URL_EXPORT_METRICS_AGGREGATE: optionalText.pipe(httpUrl.optional()),
  EXPORT_OPS_CHECKIN_PROVIDER: z
    .enum(["auto", "healthchecks", "cronitor", "sentry", "heartbeat"], {
      error: "must be auto, healthchecks, cronitor, sentry or heartbeat",
    })
    .default("auto"),
  // set by Vercel when "Protection Bypass for Automation" is on: lets a run's continuation through Deployment Protection
  VERCEL_AUTOMATION_BYPASS_SECRET: optionalText,
  // the time zone the schedules fire in (Vercel Schedules' `timezone`; Cron Jobs are UTC): what is overdue and
  // which occurrence a delivery is for are judged in it
  EXPORT_OPS_SCHEDULE_TIMEZONE: z
    .string()
    .trim()
    .default("UTC")
    .refine(isTimeZone, { error: "must be an IANA time zone such as Europe/Berlin, the one the schedules use" }),
  // OpenTelemetry spans per run and per SQL/Storage call (instrumentation.ts); off records nothing
  EXPORT_OPS_TRACING: z.enum(["on", "off"], { error: "must be on or off" }).default("off"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

type ArchiveSettings = Pick<
  z.output<typeof settingsObject>,
  | "EXPORT_ARCHIVE_BUCKET"
  | "EXPORT_ARCHIVE_TARGET"
  | "EXPORT_ARCHIVE_REGION"
  | "EXPORT_ARCHIVE_S3_ENDPOINT"
  | "EXPORT_ARCHIVE_S3_ACCESS_KEY_ID"
  | "EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY"
>;

/** The archive target in force: as set, else s3 when a region or an endpoint says so, else supabase. */
function archiveTargetOf(env: ArchiveSettings): "supabase" | "s3" {
  return env.EXPORT_ARCHIVE_TARGET ?? (env.EXPORT_ARCHIVE_REGION || env.EXPORT_ARCHIVE_S3_ENDPOINT ? "s3" : "supabase");
}

/** The S3 target needs its bucket, region and both halves of its key; one issue per missing setting (never a value). */
function archiveTargetRules(env: ArchiveSettings, ctx: z.core.$RefinementCtx): void {
  if (archiveTargetOf(env) !== "s3") return;
  const needed = [
    "EXPORT_ARCHIVE_BUCKET",
    "EXPORT_ARCHIVE_REGION",
    "EXPORT_ARCHIVE_S3_ACCESS_KEY_ID",
    "EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY",
  ] as const;
  for (const name of needed) {
    if (!env[name])
      ctx.addIssue({ code: "custom", path: [name], message: "is not set: the S3 archive target (EXPORT_ARCHIVE_TARGET=s3) needs it" });
  }
}

/**
 * What a run, a script or a route reads at run time: every setting but the read tokens, each of which its own
 * endpoint reads on its own (getReadToken), so a bad or reused METRICS_TOKEN, HEALTH_TOKEN or OPS_TOKEN turns off
 * that endpoint alone and never stops a job. The build checks them all (envSchema).
 */
export const settingsSchema = settingsObject
  .omit({ METRICS_TOKEN: true, HEALTH_TOKEN: true, OPS_TOKEN: true })
  .superRefine(archiveTargetRules)
  .transform((env) => ({ ...env, EXPORT_ARCHIVE_TARGET: archiveTargetOf(env) }));

/** The deployed app's whole environment: the settings plus the cron secret, the four secrets each its own. */
export const envSchema = settingsObject
  .extend({ CRON_SECRET: cronSecretSchema })
  .superRefine(distinctSecrets(SECRET_NAMES))
  .superRefine(archiveTargetRules);

export type Env = z.infer<typeof settingsSchema>;
export type CheckinProvider = Env["EXPORT_OPS_CHECKIN_PROVIDER"];

/** Turns zod issues into "NAME: what is wrong" lines; zod's messages here never echo the input. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
}

function parseWith<S extends z.ZodType>(schema: S, source: Record<string, string | undefined>): z.output<S> {
  const parsed = schema.safeParse(source);
  if (!parsed.success) throw new ConfigError(`Invalid environment: ${describeIssues(parsed.error).join("; ")}`);
  return parsed.data;
}

/** Parses a given environment (tests pass their own). Throws ConfigError naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  return parseWith(settingsSchema, source);
}

/** The validated process environment (parsing is cheap, so it is read afresh and a changed env is seen). */
export function getEnv(): Env {
  return parseEnv(source());
}

/** The four secrets' values as set, to compare one against the others (never shown). */
const secretsAsSet = (env = source()) =>
  Object.fromEntries(SECRET_NAMES.map((name) => [name, env[name]])) as Record<SecretName, string | undefined>;

/**
 * The cron secret alone; throws ConfigError when it is missing or guessable (weakSecretReason), or the same as a
 * read-only token (whose holder could then run the jobs), naming the variables, never the value.
 */
export function getCronSecret(): string {
  const env = source();
  const parsed = cronSecretSchema.safeParse(env.CRON_SECRET);
  if (!parsed.success) {
    throw new ConfigError(`CRON_SECRET ${parsed.error.issues[0]?.message ?? "is invalid"}: cron routes refuse to run`);
  }
  const same = equalSecrets(secretsAsSet(env)).find((pair) => pair[0] === "CRON_SECRET");
  if (same) throw new ConfigError(`CRON_SECRET must not be the same as ${same[1]}: cron routes refuse to run`);
  return parsed.data;
}

/**
 * The read-only bearer of /api/metrics (METRICS_TOKEN) or /api/health/detailed (HEALTH_TOKEN), or the ops page's
 * sign-in secret (OPS_TOKEN), read on its own so that nothing else about the environment is looked at before a
 * caller is authenticated. Throws NotFoundError while the token is unset or unusable — guessable, or the same as
 * another of the four secrets (the health bearer must not open the ops page, nor any token run a job): the
 * endpoint is off and answers as if it did not exist.
 */
export function getReadToken(name: "METRICS_TOKEN" | "HEALTH_TOKEN" | "OPS_TOKEN"): string {
  const env = source();
  const parsed = settingsObject.shape[name].safeParse(env[name]);
  if (!parsed.success || !parsed.data) throw new NotFoundError();
  if (equalSecrets(secretsAsSet(env)).some((pair) => pair.includes(name))) throw new NotFoundError();
  return parsed.data;
}

/** The schedules' time zone (EXPORT_OPS_SCHEDULE_TIMEZONE), read on its own; UTC while it is unset or not one. */
export function scheduleTimezone(): string {
  return settingsObject.shape.EXPORT_OPS_SCHEDULE_TIMEZONE.safeParse(source().EXPORT_OPS_SCHEDULE_TIMEZONE || undefined).data ?? "UTC";
}

/** Whether instrumentation.ts registers OpenTelemetry, read on its own (at server start, before anything else). */
export function tracingEnabled(): boolean {
  return settingsObject.shape.EXPORT_OPS_TRACING.safeParse(source().EXPORT_OPS_TRACING || undefined).data === "on";
}

/** The log level, read without validating the rest of the environment (the logger must work when it is bad). */
export function getLogLevel(): string {
  const parsed = settingsObject.shape.LOG_LEVEL.safeParse(source().LOG_LEVEL || undefined);
  return parsed.success ? parsed.data : "info";
}

/**
 * Where this deployment runs, read on its own (sign-in needs it before anything else is validated):
 * EXPORT_OPS_BASE_URL (ConfigError when it is bad), and Vercel's system variables `VERCEL` and `VERCEL_URL`
 * (the deployment's generated domain, without a scheme).
 */
export function getDeploymentEnv(): { baseUrl: URL | undefined; onVercel: boolean; vercelUrl: string | undefined } {
  const env = source();
  const parsed = settingsObject.shape.EXPORT_OPS_BASE_URL.safeParse(env.EXPORT_OPS_BASE_URL);
  if (!parsed.success)
    throw new ConfigError(`Invalid environment: EXPORT_OPS_BASE_URL: ${parsed.error.issues[0]?.message ?? "is invalid"}`);
  const onVercel = env.VERCEL === "1";
  return {
    baseUrl: parsed.data ? new URL(parsed.data) : undefined,
    onVercel,
    vercelUrl: (onVercel && env.VERCEL_URL?.trim()) || undefined,
  };
}

/** Build-time check used by next.config.ts: a deployment with a bad environment fails its build. */
export function assertBuildEnv(): void {
  const env = source();
  if (env.SKIP_ENV_VALIDATION === "1") return;
  parseWith(envSchema, env);
}

const secretNames = [
  "CRON_SECRET",
  "SUPABASE_SERVICE_ROLE_KEY",
  "METRICS_TOKEN",
  "HEALTH_TOKEN",
  "OPS_TOKEN",
  "ALERT_WEBHOOK_URL",
  "VERCEL_AUTOMATION_BYPASS_SECRET",
  // the S3 archive target's key: the id too, which names the account and is half the credential
  "EXPORT_ARCHIVE_S3_ACCESS_KEY_ID",
  "EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY",
  // a check-in URL's path is its secret (a ping key, a DSN key)
  "EXPORT_OPS_CHECKIN_URL_EXPORT_FILE_CLEANUP",
  "EXPORT_OPS_CHECKIN_URL_EXPORT_LOG_CLEANUP",
  "EXPORT_OPS_CHECKIN_URL_EXPORT_METRICS_AGGREGATE",
] as const;

/** Current values of the secret variables, for the logger's last-line scrub (short values are ignored). */
export function secretValues(): string[] {
  const env = source();
  const template = env.EXPORT_OPS_CHECKIN_URL?.trim().split("{job}") ?? [];
  return [...secretNames.map((name) => env[name]?.trim() ?? ""), ...template].filter((v) => v.length >= 8);
}
