import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { z } from "zod";
import { ConfigError, NotFoundError } from "./errors";
import { describeIssues, envSchema, getCronSecret, getEnv, getReadToken, parseEnv, SETTING_BOUNDS, withSettings } from "./env";
import { jobs } from "./jobs";

const valid = {
  SUPABASE_URL: "https://abc.supabase.co",
  SUPABASE_SERVICE_ROLE_KEY: "service-role-key-0123456789abcdef",
};

function failure(source: Record<string, string | undefined>): string {
  try {
    parseEnv(source);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected parseEnv to throw");
}

describe("parseEnv", () => {
  it("fills documented defaults", () => {
    expect(parseEnv(valid)).toEqual({
      ...valid,
      EXPORTS_BUCKET: "exports",
      EXPORT_ARCHIVE_BUCKET: undefined,
      EXPORT_ARCHIVE_TARGET: "supabase",
      EXPORT_ARCHIVE_REGION: undefined,
      EXPORT_ARCHIVE_S3_ENDPOINT: undefined,
      EXPORT_ARCHIVE_S3_ACCESS_KEY_ID: undefined,
      EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY: undefined,
      EXPORT_ARCHIVE_S3_STORAGE_CLASS: undefined,
      EXPORT_ORPHAN_SWEEP: "auto",
      EXPORT_FILE_RETENTION_HOURS: 24,
      EXPORT_LOG_RETENTION_DAYS: 30,
      EXPORT_METRICS_RETENTION_DAYS: 90,
      EXPORT_CLEANUP_MAX_ATTEMPTS: 5,
      FAILURE_RATE_THRESHOLD: 0.1,
      FAILURE_RATE_MIN_SAMPLE: 20,
      EXPORT_SILENCE_ALERT_HOURS: 6,
      EXPORT_STUCK_HOURS: 24,
      ALERT_WEBHOOK_URL: undefined,
      VERCEL_AUTOMATION_BYPASS_SECRET: undefined,
      EXPORT_OPS_CHECKIN_URL: undefined,
      EXPORT_OPS_CHECKIN_URL_EXPORT_FILE_CLEANUP: undefined,
      EXPORT_OPS_CHECKIN_URL_EXPORT_LOG_CLEANUP: undefined,
      EXPORT_OPS_CHECKIN_URL_EXPORT_METRICS_AGGREGATE: undefined,
      EXPORT_OPS_CHECKIN_PROVIDER: "auto",
      EXPORT_OPS_SCHEDULE_TIMEZONE: "UTC",
      EXPORT_OPS_TRACING: "off",
      LOG_LEVEL: "info",
    });
  });

  it("reads numbers, buckets and optional values from strings", () => {
    const env = parseEnv({
      ...valid,
      EXPORT_FILE_RETENTION_HOURS: "48",
      FAILURE_RATE_THRESHOLD: "0.25",
      EXPORT_ARCHIVE_BUCKET: "audit-archive",
      ALERT_WEBHOOK_URL: "",
    });
    expect(env).toMatchObject({
      EXPORT_FILE_RETENTION_HOURS: 48,
      FAILURE_RATE_THRESHOLD: 0.25,
      EXPORT_ARCHIVE_BUCKET: "audit-archive",
      ALERT_WEBHOOK_URL: undefined,
    });
  });

  it("treats an empty optional setting as unset (as .env.example leaves them)", () => {
    const env = parseEnv({ ...valid, EXPORT_ARCHIVE_BUCKET: "", ALERT_WEBHOOK_URL: " " });
    expect(env).toMatchObject({ EXPORT_ARCHIVE_BUCKET: undefined, ALERT_WEBHOOK_URL: undefined });
    expect(
      envSchema.safeParse({ ...valid, CRON_SECRET: randomBytes(24).toString("base64url"), METRICS_TOKEN: "" }).data?.METRICS_TOKEN,
    ).toBeUndefined();
  });

  it("takes the archive target from the settings: s3 when set so, or when a region or an endpoint says so", () => {
    const s3 = {
      EXPORT_ARCHIVE_BUCKET: "audit",
      EXPORT_ARCHIVE_S3_ACCESS_KEY_ID: "AKIAEXAMPLEKEYID0001",
      EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY: "s3-secret-0123456789abcdef",
    };
    expect(parseEnv({ ...valid, EXPORT_ARCHIVE_BUCKET: "audit" }).EXPORT_ARCHIVE_TARGET).toBe("supabase");
    expect(parseEnv({ ...valid, ...s3, EXPORT_ARCHIVE_REGION: "us-east-1" }).EXPORT_ARCHIVE_TARGET).toBe("s3");
    expect(
      parseEnv({ ...valid, ...s3, EXPORT_ARCHIVE_REGION: "auto", EXPORT_ARCHIVE_S3_ENDPOINT: "https://acct.r2.cloudflarestorage.com" }),
    ).toMatchObject({
      EXPORT_ARCHIVE_TARGET: "s3",
      EXPORT_ARCHIVE_S3_ENDPOINT: "https://acct.r2.cloudflarestorage.com",
    });
    expect(parseEnv({ ...valid, ...s3, EXPORT_ARCHIVE_TARGET: "supabase", EXPORT_ARCHIVE_REGION: "us-east-1" }).EXPORT_ARCHIVE_TARGET).toBe(
      "supabase",
    );
  });

  it("names each setting the S3 target lacks, and never a value", () => {
    const message = failure({ ...valid, EXPORT_ARCHIVE_TARGET: "s3", EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY: "s3-secret-0123456789abcdef" });
    for (const name of ["EXPORT_ARCHIVE_BUCKET", "EXPORT_ARCHIVE_REGION", "EXPORT_ARCHIVE_S3_ACCESS_KEY_ID"])
      expect(message).toContain(`${name}: is not set`);
    expect(message).not.toContain("EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY");
    expect(message).not.toContain("s3-secret");
    expect(failure({ ...valid, EXPORT_ARCHIVE_TARGET: "gcs" })).toContain("EXPORT_ARCHIVE_TARGET: must be supabase or s3");
    expect(failure({ ...valid, EXPORT_ARCHIVE_S3_STORAGE_CLASS: "cold storage" })).toContain("EXPORT_ARCHIVE_S3_STORAGE_CLASS");
  });

  it("names every missing required variable at once", () => {
    const message = failure({});
    for (const name of ["SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY"]) expect(message).toContain(name);
  });

  it.each([
    ["SUPABASE_URL", "ftp://secret-host.example", "http(s) URL"],
    ["EXPORT_FILE_RETENTION_HOURS", "-5", "EXPORT_FILE_RETENTION_HOURS"],
    ["EXPORT_LOG_RETENTION_DAYS", "thirty", "must be a number"],
    ["FAILURE_RATE_THRESHOLD", "7.5", "at most 1"],
    ["EXPORTS_BUCKET", "Bad Bucket!", "bucket name"],
    ["ALERT_WEBHOOK_URL", "hooks.slack.com/secret-path", "http(s) URL"],
    ["LOG_LEVEL", "verbose", "LOG_LEVEL"],
  ])("rejects a bad %s, naming it and not echoing the value", (name, value, expected) => {
    const message = failure({ ...valid, [name]: value });
    expect(message).toContain(name);
    expect(message).toContain(expected);
    expect(message).not.toContain(value.trim());
  });
});

describe("envSchema (the deployed app, checked at build)", () => {
  it("also requires a CRON_SECRET of at least 32 characters, never echoing it", () => {
    const missing = envSchema.safeParse(valid);
    expect(missing.success).toBe(false);
    expect(missing.error?.issues.map((i) => i.path[0])).toEqual(["CRON_SECRET"]);
    for (const secret of ["short", "undefined", "               ", "0123456789abcdef-secret-0123456"]) {
      const bad = envSchema.safeParse({ ...valid, CRON_SECRET: secret });
      expect(bad.success).toBe(false);
      expect(JSON.stringify(bad.error?.issues.map((i) => i.message))).not.toContain(secret.trim() || "\u0000");
    }
    expect(envSchema.safeParse({ ...valid, CRON_SECRET: "0123456789abcdef-secret-01234567" }).success).toBe(true);
  });
});

describe("the secrets (CRON_SECRET, METRICS_TOKEN, HEALTH_TOKEN, OPS_TOKEN): one rule, a value nobody can guess", () => {
  const secrets = ["CRON_SECRET", "METRICS_TOKEN", "HEALTH_TOKEN", "OPS_TOKEN"] as const;
  const withCron = { ...valid, CRON_SECRET: randomBytes(24).toString("base64url") };
  /** envSchema's messages for one variable (CRON_SECRET is only in envSchema; the tokens are in both). */
  const messages = (name: string, value: string) =>
    (envSchema.safeParse({ ...withCron, [name]: value }).error?.issues ?? [])
      .filter((i) => i.path[0] === name)
      .map((i) => `${name}: ${i.message}`);

  it.each(secrets)(
    "%s takes what a generator gives: base64url of 24 bytes, hex of 16, base64 of 32, and a long passphrase-like value",
    (name) => {
      for (let i = 0; i < 50; i++) {
        for (const value of [randomBytes(24).toString("base64url"), randomBytes(16).toString("hex"), randomBytes(32).toString("base64")]) {
          expect(messages(name, value)).toEqual([]);
        }
      }
      expect(messages(name, "ops-sign-in-test-token-0123456789")).toEqual([]);
    },
  );

  it.each(
    secrets.flatMap(
      (name) =>
        [
          [name, "a 31-character value", randomBytes(24).toString("base64url").slice(0, 31), "must be at least 32 characters"],
          [name, "one character repeated", "x".repeat(40), "is a short pattern repeated"],
          [name, "a short pattern repeated", "ab12".repeat(10), "is a short pattern repeated"],
          [name, "a word repeated, cut short", "changeme-".repeat(4).slice(0, 34), "is a short pattern repeated"],
          [name, "a few characters", "11111111222222223333333344444444", "has fewer than 6 different characters"],
          [name, "mostly one character", `${"x".repeat(30)}-prod!`, "is mostly one character"],
        ] as const,
    ),
  )("%s refuses %s, naming the variable and not echoing the value", (name, _, value, reason) => {
    const found = messages(name, value);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(`${name}: ${reason}`);
    expect(found[0]).toContain("openssl rand -base64 32");
    expect(found[0]).not.toContain(value);
    // at run time a read token is its own endpoint's alone: the rest of the settings read as they are
    if (name !== "CRON_SECRET") expect(parseEnv({ ...valid, [name]: value })).not.toHaveProperty(name);
  });

  const pairs = secrets.flatMap((a, i) => secrets.slice(i + 1).map((b) => [a, b] as const));
  it.each(pairs)("refuses %s and %s being the same, naming both and not the value", (a, b) => {
    const value = randomBytes(24).toString("base64url");
    const parsed = envSchema.safeParse({ ...withCron, [a]: value, [b]: ` ${value} ` });
    expect(parsed.success).toBe(false);
    const text = describeIssues(parsed.error!).join("; ");
    expect(text).toBe(`${b}: must not be the same as ${a} (each secret is its own)`);
    expect(text).not.toContain(value);
    if (a !== "CRON_SECRET") expect(() => parseEnv({ ...valid, [a]: value, [b]: value })).not.toThrow();
  });

  it("takes four different secrets", () => {
    const four = Object.fromEntries(secrets.map((name) => [name, randomBytes(24).toString("base64url")]));
    expect(envSchema.safeParse({ ...valid, ...four }).success).toBe(true);
    expect(parseEnv({ ...valid, ...four })).not.toHaveProperty("OPS_TOKEN");
  });
});

describe("the secrets read on their own (a route's token, the cron secret)", () => {
  afterEach(() => vi.unstubAllEnvs());
  const stubAll = () => {
    const four = Object.fromEntries(
      ["CRON_SECRET", "METRICS_TOKEN", "HEALTH_TOKEN", "OPS_TOKEN"].map((name) => [name, randomBytes(24).toString("base64url")]),
    );
    for (const [name, value] of Object.entries(four)) vi.stubEnv(name, value);
    return four as Record<"CRON_SECRET" | "METRICS_TOKEN" | "HEALTH_TOKEN" | "OPS_TOKEN", string>;
  };

  it("reads each token while it is its own", () => {
    const four = stubAll();
    for (const name of ["METRICS_TOKEN", "HEALTH_TOKEN", "OPS_TOKEN"] as const) expect(getReadToken(name)).toBe(four[name]);
    expect(getCronSecret()).toBe(four.CRON_SECRET);
  });

  it.each([
    ["OPS_TOKEN", "HEALTH_TOKEN"],
    ["OPS_TOKEN", "METRICS_TOKEN"],
    ["OPS_TOKEN", "CRON_SECRET"],
    ["HEALTH_TOKEN", "METRICS_TOKEN"],
    ["HEALTH_TOKEN", "CRON_SECRET"],
    ["METRICS_TOKEN", "CRON_SECRET"],
  ] as const)("turns %s's endpoint off (404) while it equals %s", (name, other) => {
    const four = stubAll();
    vi.stubEnv(other, four[name]);
    expect(() => getReadToken(name)).toThrow(NotFoundError);
  });

  it("turns an endpoint off while its token is guessable", () => {
    stubAll();
    vi.stubEnv("OPS_TOKEN", "ab12".repeat(10));
    expect(() => getReadToken("OPS_TOKEN")).toThrow(NotFoundError);
  });

  it.each(["METRICS_TOKEN", "HEALTH_TOKEN", "OPS_TOKEN"] as const)(
    "refuses to run the cron routes while CRON_SECRET equals %s, naming both",
    (other) => {
      const four = stubAll();
      vi.stubEnv(other, four.CRON_SECRET);
      expect(() => getCronSecret()).toThrow(ConfigError);
      expect(() => getCronSecret()).toThrow(`CRON_SECRET must not be the same as ${other}`);
      try {
        getCronSecret();
      } catch (error) {
        expect((error as Error).message).not.toContain(four.CRON_SECRET);
      }
    },
  );

  it("refuses to run the cron routes while CRON_SECRET is guessable, naming it", () => {
    stubAll();
    vi.stubEnv("CRON_SECRET", "x".repeat(40));
    expect(() => getCronSecret()).toThrow(/^CRON_SECRET is a short pattern repeated/);
  });
});

describe("a read token that cannot be used turns off its own endpoint and nothing else", () => {
  afterEach(() => vi.unstubAllEnvs());
  it.each([
    ["OPS_TOKEN too short", { OPS_TOKEN: "short-ops-token-20ch" }, "OPS_TOKEN"],
    ["METRICS_TOKEN guessable", { METRICS_TOKEN: "x".repeat(40) }, "METRICS_TOKEN"],
    [
      "HEALTH_TOKEN the same as METRICS_TOKEN",
      { HEALTH_TOKEN: "same-token-0123456789-abcdefghijkl", METRICS_TOKEN: "same-token-0123456789-abcdefghijkl" },
      "HEALTH_TOKEN",
    ],
  ] as const)("%s: the jobs' settings and the cron secret still read, that endpoint answers 404", (_name, tokens, off) => {
    for (const [k, v] of Object.entries({ ...valid, CRON_SECRET: randomBytes(24).toString("base64url"), ...tokens })) vi.stubEnv(k, v);
    expect(getEnv().SUPABASE_URL).toBe(valid.SUPABASE_URL);
    expect(getCronSecret()).toBeTruthy();
    expect(() => getReadToken(off)).toThrow(NotFoundError);
  });
});

describe("EXPORT_OPS_SCHEDULE_TIMEZONE", () => {
  it("takes an IANA time zone and refuses anything else, naming the variable", () => {
    expect(parseEnv({ ...valid, EXPORT_OPS_SCHEDULE_TIMEZONE: "Europe/Berlin" }).EXPORT_OPS_SCHEDULE_TIMEZONE).toBe("Europe/Berlin");
    expect(parseEnv(valid).EXPORT_OPS_SCHEDULE_TIMEZONE).toBe("UTC");
    expect(failure({ ...valid, EXPORT_OPS_SCHEDULE_TIMEZONE: "Mars/Olympus" })).toContain(
      "EXPORT_OPS_SCHEDULE_TIMEZONE: must be an IANA time zone",
    );
  });
});

describe("settings from a host app: the starters' URL name, and settings given in code", () => {
  afterEach(() => vi.unstubAllEnvs());
  const secret = () => randomBytes(24).toString("base64url");

  it("takes SUPABASE_URL from NEXT_PUBLIC_SUPABASE_URL when SUPABASE_URL is unset, and SUPABASE_URL over it when both are", () => {
    vi.stubEnv("SUPABASE_URL", "");
    vi.stubEnv("NEXT_PUBLIC_SUPABASE_URL", "https://starter.supabase.co");
    vi.stubEnv("SUPABASE_SERVICE_ROLE_KEY", valid.SUPABASE_SERVICE_ROLE_KEY);
    expect(getEnv().SUPABASE_URL).toBe("https://starter.supabase.co");
    vi.stubEnv("SUPABASE_URL", "https://own.supabase.co");
    expect(getEnv().SUPABASE_URL).toBe("https://own.supabase.co");
  });

  it("applies settings given in code over the environment's inside withSettings, to what the call starts too, and nowhere else", async () => {
    const [fromEnv, fromCode] = [secret(), secret()];
    vi.stubEnv("CRON_SECRET", fromEnv);
    vi.stubEnv("SUPABASE_URL", valid.SUPABASE_URL);
    vi.stubEnv("SUPABASE_SERVICE_ROLE_KEY", valid.SUPABASE_SERVICE_ROLE_KEY);
    const later = await withSettings({ CRON_SECRET: fromCode, EXPORT_FILE_RETENTION_HOURS: "48" }, async () => {
      expect(getCronSecret()).toBe(fromCode);
      expect(getEnv().EXPORT_FILE_RETENTION_HOURS).toBe(48);
      await new Promise((r) => setTimeout(r, 0));
      return getCronSecret();
    });
    expect(later).toBe(fromCode);
    expect(getCronSecret()).toBe(fromEnv);
    expect(getEnv().EXPORT_FILE_RETENTION_HOURS).toBe(24);
  });

  it("checks settings given in code by the same rules, naming the setting", () => {
    vi.stubEnv("CRON_SECRET", "");
    expect(() => withSettings({ CRON_SECRET: "short" }, getCronSecret)).toThrow(/^CRON_SECRET /);
  });
});

describe("the documented settings (docs/CONFIGURATION.md's table, .env.example)", () => {
  const root = path.resolve(__dirname, "..");
  const shape = envSchema.shape as Record<string, z.ZodType>;
  /** What a variable is when unset: required, unset (optional), or its default as the env would spell it. */
  const whenUnset = (name: string) => {
    const parsed = shape[name]!.safeParse(undefined);
    return !parsed.success ? "required" : parsed.data === undefined ? "unset" : String(parsed.data);
  };
  const table = readFileSync(path.join(root, "docs/CONFIGURATION.md"), "utf8");
  const rows = new Map([...table.matchAll(/^\| `([A-Z0-9_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]));
  const example = new Map(
    [...readFileSync(path.join(root, ".env.example"), "utf8").matchAll(/^(?:# )?([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
  );

  it("lists every variable of the schema in the configuration table and .env.example, and nothing else", () => {
    expect([...rows.keys()].sort()).toEqual(Object.keys(shape).sort());
    expect([...example.keys()].sort()).toEqual(Object.keys(shape).sort());
  });

  it.each(Object.keys(envSchema.shape))("gives %s the schema's default in both", (name) => {
    const unset = whenUnset(name);
    if (unset === "required") {
      expect(rows.get(name)).toContain("required");
    } else if (unset === "unset") {
      expect(rows.get(name)).toMatch(/^unset/);
      expect(example.get(name)).toBe("");
    } else {
      expect(rows.get(name)).toBe(`\`${unset}\``);
      expect(example.get(name)).toBe(unset);
    }
  });
});

describe("each whole-number setting has one set of bounds", () => {
  const options = (name: string) => {
    const job = jobs.find((j) => name in (j.optionsSchema as unknown as z.ZodObject).shape)!;
    return (job.optionsSchema as unknown as z.ZodObject).shape[name] as z.ZodType;
  };
  const env = (name: string, value: number) => envSchema.shape[name as keyof typeof SETTING_BOUNDS].safeParse(String(value));

  it.each(Object.entries(SETTING_BOUNDS))(
    "%s: the env var takes exactly its range, and says which end it missed",
    (name, { min, max, unit }) => {
      for (const ok of [min, max]) expect(env(name, ok).success).toBe(true);
      expect(env(name, min - 1).error?.issues[0]?.message).toBe(`must be at least ${min} ${unit}`);
      expect(env(name, max + 1).error?.issues[0]?.message).toBe(`must be at most ${max} ${unit}`);
      expect(env(name, min + 0.5).error?.issues[0]?.message).toBe("must be a whole number");
    },
  );

  const withOption = Object.entries(SETTING_BOUNDS).flatMap(([name, b]) => (b.option ? [[name, { ...b, option: b.option }] as const] : []));
  it.each(withOption)("%s: the job option takes the same range as the env var", (name, { min, max, option }) => {
    const opt = (value: number) => options(option).safeParse(String(value));
    for (const ok of [min, max]) expect([env(name, ok).success, opt(ok).success]).toEqual([true, true]);
    for (const bad of [min - 1, max + 1]) expect([env(name, bad).success, opt(bad).success]).toEqual([false, false]);
    expect(opt(max + 1).error?.issues[0]?.message).toBe(`must be at most ${max}`);
  });

  it("knows which settings have an option", () => {
    expect(withOption.map(([name]) => name).sort()).toEqual([
      "EXPORT_FILE_RETENTION_HOURS",
      "EXPORT_LOG_RETENTION_DAYS",
      "EXPORT_METRICS_RETENTION_DAYS",
    ]);
  });
});

describe("tracingEnabled (instrumentation.ts registers OpenTelemetry only when it is on)", () => {
  it("is off unless EXPORT_OPS_TRACING is on", async () => {
    const { tracingEnabled } = await import("./env");
    const { vi } = await import("vitest");
    vi.stubEnv("EXPORT_OPS_TRACING", "");
    expect(tracingEnabled()).toBe(false);
    vi.stubEnv("EXPORT_OPS_TRACING", "yes");
    expect(tracingEnabled()).toBe(false);
    vi.stubEnv("EXPORT_OPS_TRACING", "on");
    expect(tracingEnabled()).toBe(true);
    vi.unstubAllEnvs();
  });
});
