import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { DatabaseError } from "../errors";
import { baseOptionsSchema, defineJob } from "../jobs/job";
import { captureLogger, fixedClock } from "../../test/doubles";
import { cronJobsHeaders, SCHEDULE_ID, schedulesHeaders } from "../../test/fixtures/schedule-deliveries";
import { deliveryOf, triggerOf, withCron } from "./with-cron";

const SECRET = "s3cret-value-for-tests-0123456789";
const SERVICE_KEY = "service-role-key-for-tests-abcdefghij";
const validEnv = {
  SUPABASE_URL: "http://127.0.0.1:54321",
  SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
  CRON_SECRET: SECRET,
};

function setup(run = vi.fn(async (_deps: unknown, _options: unknown) => ({ has_more: false, dry_run: false, deleted_count: 3 }))) {
  const job = defineJob({
    id: "test-job",
    description: "a job for tests",
    schedule: "0 * * * *",
    maxDurationSeconds: 60,
    callsAfterDeadline: 1,
    overlap: "parallel" as const,
    optionsSchema: baseOptionsSchema.extend({ batch_size: z.coerce.number().int().min(1).max(1000).default(100) }),
    run,
    progress: () => 1,
  });
  const capture = captureLogger({ secrets: [SECRET, SERVICE_KEY] });
  // run history: every start is granted; the rest of the SQL API is not reached by these tests' jobs
  const db = {
    call: vi.fn(async (fn: string, _args?: Record<string, unknown>) => (fn === "export_ops_start_run" ? { started: true } : null)),
  };
  const handed: Promise<unknown>[] = [];
  const handler = withCron(job, {
    clock: fixedClock("2026-01-01T02:00:00.000Z"),
    logger: capture.logger,
    makePorts: () => ({ db: db as never, storage: {} as never }),
    waitUntil: (p) => void handed.push(p),
  });
  const call = (headers: Record<string, string> = {}, query = "") =>
    handler(new Request(`http://localhost/api/cron/test-job${query}`, { headers }));
  return { run, call, capture, db, handed };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeEach(() => {
  for (const [k, v] of Object.entries(validEnv)) vi.stubEnv(k, v);
});
afterEach(() => vi.unstubAllEnvs());

describe("withCron authorization", () => {
  const refused: [string, Record<string, string>][] = [
    ["no header", {}],
    ["a wrong bearer", bearer("not-the-secret-at-all-000")],
    ["an empty token", { authorization: "Bearer " }],
    ["lowercase bearer", { authorization: `bearer ${SECRET}` }],
    ["the secret without a scheme", { authorization: SECRET }],
    ["a 10 kB header", bearer(`${SECRET}${"x".repeat(10_000)}`)],
    ["the secret as a prefix only", bearer(SECRET.slice(0, -1))],
  ];

  it.each(refused)("answers 401 to %s and does not run the job", async (_, headers) => {
    const { run, call, capture } = setup();
    const res = await call(headers);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      success: false,
      error: { code: "unauthorized", message: "Missing or invalid bearer token" },
      timestamp: "2026-01-01T02:00:00.000Z",
    });
    expect(run).not.toHaveBeenCalled();
    expect(capture.lines()).toContainEqual(expect.objectContaining({ type: "request_unauthorized", level: "warn", job: "test-job" }));
  });

  it.each([
    ["unset, even for a request sending `Bearer undefined`", undefined, bearer("undefined")],
    ["shorter than 16 characters", "short-secret", bearer("short-secret")],
    ["the literal string undefined", "undefined", bearer("undefined")],
  ])("refuses to run with a CRON_SECRET %s (500, names the variable, not the value)", async (_, secret, headers) => {
    vi.stubEnv("CRON_SECRET", secret);
    const { run, call, capture } = setup();
    const res = await call(headers);
    expect(res.status).toBe(500);
    const body = (await res.json()) as { success: boolean; error: { code: string; message: string } };
    expect(body.success).toBe(false);
    expect(body.error.code).toBe("config_error");
    expect(body.error.message).toMatch(/^CRON_SECRET .*cron routes refuse to run$/);
    if (secret) expect(JSON.stringify(body)).not.toContain(secret);
    expect(run).not.toHaveBeenCalled();
    expect(capture.lines()).toContainEqual(expect.objectContaining({ type: "config_error", level: "error" }));
  });

  it("runs the job with the exact bearer and answers {success, result, continuation, timestamp}", async () => {
    const { run, call, capture } = setup();
    const res = await call(bearer(SECRET));
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({
      success: true,
      result: { has_more: false, dry_run: false, deleted_count: 3 },
      continuation: null,
      timestamp: "2026-01-01T02:00:00.000Z",
    });
    expect(run).toHaveBeenCalledOnce();
    const summary = capture.lines().find((l) => l.type === "job_completed");
    expect(summary).toMatchObject({
      level: "info",
      job: "test-job",
      run_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      result: { deleted_count: 3 },
    });
  });

  it("answers a continuation 202 at once and runs the job after the response, recorded as a continuation", async () => {
    let finish!: () => void;
    const held = new Promise<void>((resolve) => (finish = resolve));
    const { run, call, db, handed } = setup(
      vi.fn(async () => {
        await held; // the job is still running when the caller has its answer
        return { has_more: false, dry_run: false, deleted_count: 1 };
      }),
    );
    const res = await call(bearer(SECRET), "?continuation=true&batch_size=5");
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      success: true,
      accepted: true,
      run_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      timestamp: "2026-01-01T02:00:00.000Z",
    });
    expect(handed).toHaveLength(1);
    finish();
    await handed[0];
    expect(run).toHaveBeenCalledOnce();
    expect(run.mock.calls[0]?.[1]).toEqual({ dry_run: false, batch_size: 5 });
    expect(db.call.mock.calls.find(([fn]) => fn === "export_ops_start_run")?.[1]).toMatchObject({ p_trigger: "continuation" });
  });

  it("never writes the secret or the service key into a log line", async () => {
    const { call, capture } = setup(
      vi.fn(async () => {
        throw new Error(`boom with ${SECRET} and ${SERVICE_KEY} inside`);
      }),
    );
    for (const headers of [bearer(SECRET), bearer("wrong-secret-wrong-secret"), {}]) await call(headers);
    expect(capture.raw.length).toBeGreaterThan(0);
    for (const line of capture.raw) {
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain(SERVICE_KEY);
    }
  });
});

describe("withCron options", () => {
  it("passes parsed options with defaults to the job", async () => {
    const { run, call } = setup();
    await call(bearer(SECRET), "?dry_run=true&batch_size=50");
    expect(run.mock.calls[0]?.[1]).toEqual({ dry_run: true, batch_size: 50 });
    await call(bearer(SECRET));
    expect(run.mock.calls[1]?.[1]).toEqual({ dry_run: false, batch_size: 100 });
  });

  it.each([
    ["?dry_run=yes", "dry_run"],
    ["?batch_size=0", "batch_size"],
    ["?batch_size=abc", "batch_size"],
    ["?dryrun=true", "dryrun"],
    ["?dry_run=true&dry_run=false", "dry_run"],
    ["?continuation=maybe", "continuation"],
    ["?continuation=true&continuation=true", "continuation"],
  ])("answers 400 naming the parameter for %s, and does not run the job", async (query, parameter) => {
    const { run, call } = setup();
    const res = await call(bearer(SECRET), query);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string; details: { parameter: string } } };
    expect(body.error.code).toBe("bad_request");
    expect(body.error.details.parameter).toBe(parameter);
    expect(body.error.message).toContain(parameter);
    expect(run).not.toHaveBeenCalled();
  });

  it.each(["constructor", "toString", "__proto__", "hasOwnProperty"])(
    "answers ?%s=1 as an unknown option, not a repeated one",
    async (key) => {
      const { run, call } = setup();
      const res = await call(bearer(SECRET), `?${key}=1`);
      expect(res.status).toBe(400);
      expect((await res.json()).error).toMatchObject({ message: `Unknown query parameter: ${key}`, details: { parameter: key } });
      expect(run).not.toHaveBeenCalled();
    },
  );

  it("checks the bearer before the parameters", async () => {
    const { call } = setup();
    expect((await call({}, "?dry_run=nope")).status).toBe(401);
  });

  it("records a call refused for an unusable CRON_SECRET by what it is, never as a continuation", async () => {
    vi.stubEnv("CRON_SECRET", undefined);
    const { call, db } = setup();
    expect((await call({}, "?continuation=true")).status).toBe(500);
    const refused = db.call.mock.calls.filter(([fn]) => fn === "export_ops_record_refused_run");
    expect(refused).toHaveLength(1);
    expect(refused[0]![1]).toMatchObject({ p_job: "test-job", p_trigger: "manual" });
  });
});

describe("withCron errors", () => {
  it("hides an unknown error's message behind a generic 500 and logs the detail", async () => {
    const { call, capture } = setup(
      vi.fn(async () => {
        throw new TypeError("cannot read properties of undefined (reading 'x')");
      }),
    );
    const res = await call(bearer(SECRET));
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body.error).toEqual({ code: "internal_error", message: "Internal error; see the server log for details" });
    expect(JSON.stringify(body)).not.toContain("reading 'x'");
    const line = capture.lines().find((l) => l.type === "job_failed");
    expect(JSON.stringify(line)).toContain("reading 'x'");
  });

  it("logs a run that threw once, as job_failed with the run's facts, and never a secret's value", async () => {
    const { call, capture, db } = setup(
      vi.fn(async () => {
        throw new Error(`upstream refused the key ${SERVICE_KEY} (bearer ${SECRET})`);
      }),
    );
    const res = await call(bearer(SECRET), "?batch_size=5");
    expect(res.status).toBe(500);
    const errors = capture.lines().filter((l) => l.level === "error");
    expect(errors).toHaveLength(1);
    const runId = db.call.mock.calls.find(([fn]) => fn === "export_ops_start_run")?.[1]?.p_run_id;
    expect(errors[0]).toMatchObject({
      type: "job_failed",
      job: "test-job",
      run_id: runId,
      trigger: "manual",
      error: { code: "internal_error" },
      err: { type: "Error" },
    });
    expect(String((errors[0]!.err as { message: string }).message)).toContain("upstream refused the key [Redacted]");
    expect(capture.raw.join("\n")).not.toContain(SERVICE_KEY);
    expect(capture.raw.join("\n")).not.toContain(SECRET);
    // the run history has the same public face
    expect(db.call.mock.calls.find(([fn]) => fn === "export_ops_finish_run")?.[1]).toMatchObject({
      p_status: "failed",
      p_error: { code: "internal_error" },
    });
  });

  it("logs a continuation's run that threw after its 202 once, as job_failed", async () => {
    const { call, capture, handed } = setup(
      vi.fn(async () => {
        throw new DatabaseError("export_ops_x failed: deadlock");
      }),
    );
    expect((await call(bearer(SECRET), "?continuation=true")).status).toBe(202);
    await handed[0];
    const errors = capture.lines().filter((l) => l.level === "error");
    expect(errors).toEqual([
      expect.objectContaining({
        type: "job_failed",
        trigger: "continuation",
        error: { code: "database_error", message: "export_ops_x failed: deadlock" },
      }),
    ]);
  });

  it("logs a failure before the run starts once, as request_failed, and runs nothing", async () => {
    const { run, call, capture, db } = setup();
    db.call.mockRejectedValueOnce(new DatabaseError("export_ops_start_run failed: connection refused"));
    const res = await call(bearer(SECRET));
    expect(res.status).toBe(502);
    expect(run).not.toHaveBeenCalled();
    const errors = capture.lines().filter((l) => l.level === "error");
    expect(errors).toEqual([
      expect.objectContaining({
        type: "request_failed",
        job: "test-job",
        status: 502,
        error: { code: "database_error", message: "export_ops_start_run failed: connection refused" },
      }),
    ]);
  });

  it("maps a typed error to its status and code", async () => {
    const { call } = setup(
      vi.fn(async () => {
        throw new DatabaseError("claim_expired_exports failed: connection refused");
      }),
    );
    const res = await call(bearer(SECRET));
    expect(res.status).toBe(502);
    expect((await res.json()).error).toEqual({ code: "database_error", message: "claim_expired_exports failed: connection refused" });
  });

  it("answers 500 naming the bad variables when the rest of the environment is invalid", async () => {
    vi.stubEnv("SUPABASE_URL", "not a url");
    vi.stubEnv("SUPABASE_SERVICE_ROLE_KEY", undefined);
    const { run, call } = setup();
    const res = await call(bearer(SECRET));
    expect(res.status).toBe(500);
    const message = (await res.json()).error.message as string;
    expect(message).toContain("SUPABASE_URL");
    expect(message).toContain("SUPABASE_SERVICE_ROLE_KEY");
    expect(message).not.toContain("not a url");
    expect(run).not.toHaveBeenCalled();
  });
});

describe("deliveryOf: which scheduled run a delivery is for", () => {
  const at = new Date("2026-12-01T03:00:01.250Z");
  const scheduled = new Date("2026-12-01T03:00:00.000Z");
  const request = (headers: Record<string, string>) => new Request("http://app.test/api/cron/x", { headers });

  it("keys a Vercel Schedules delivery on its execution ID, with the time it was scheduled for", () => {
    const r = request(schedulesHeaders("s", "0 3 * * *", "export-log-cleanup", scheduled));
    expect(triggerOf(r)).toBe("vercel_cron");
    expect(deliveryOf(r, "vercel_cron", "0 3 1 * *", at)).toEqual({
      occurrence: `execution:${SCHEDULE_ID}:${scheduled.getTime()}`,
      executionId: `${SCHEDULE_ID}:${scheduled.getTime()}`,
      scheduledAt: scheduled,
    });
  });

  it("takes the scheduled time from ce-time where ce-vssscheduledat is missing", () => {
    const fired = new Date("2026-12-01T03:00:02.000Z");
    const r = request(schedulesHeaders("s", "0 3 * * *", "x", scheduled, { withScheduledAt: false, firedAt: fired }));
    expect(deliveryOf(r, "vercel_cron", "0 3 * * *", at)?.scheduledAt).toEqual(fired);
  });

  it("counts a Schedules delivery without the cron schedule header as Vercel's, by its CloudEvent type", () => {
    const { "x-vercel-cron-schedule": _gone, ...headers } = schedulesHeaders("s", "0 3 * * *", "x", scheduled);
    expect(triggerOf(request(headers))).toBe("vercel_cron");
    expect(triggerOf(request({ "user-agent": "vercel-cron/1.0" }))).toBe("manual");
  });

  it("keys a Cron Jobs delivery on the schedule's latest fire time, as before", () => {
    expect(deliveryOf(request(cronJobsHeaders("s", "0 3 * * *")), "vercel_cron", "0 2 * * *", at)).toEqual({
      occurrence: "0 3 * * *@2026-12-01T03:00:00.000Z",
      scheduledAt: scheduled,
    });
  });

  it("ignores an execution ID it cannot key on, and anything a person or a continuation sends", () => {
    const odd = { ...schedulesHeaders("s", "0 3 * * *", "x", scheduled), "ce-id": "x".repeat(181) };
    expect(deliveryOf(request(odd), "vercel_cron", "0 3 * * *", at)?.executionId).toBeUndefined();
    expect(deliveryOf(request(schedulesHeaders("s", "0 3 * * *", "x", scheduled)), "manual", "0 3 * * *", at)).toBeUndefined();
  });
});
