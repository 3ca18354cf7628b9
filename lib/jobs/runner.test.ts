/** The runner's paths with an in-memory run history: success, a throw, a history that cannot be written, a lease held. */
import { describe, expect, it } from "vitest";
import { captureLogger, fixedClock } from "../../test/doubles";
import { parseEnv } from "../env";
import { DatabaseError } from "../errors";
import type { SqlApi } from "../ports";
import { baseOptionsSchema, defineJob } from "./job";
import { attemptJob, executeJob } from "./runner";

const env = parseEnv({ SUPABASE_URL: "http://localhost:54321", SUPABASE_SERVICE_ROLE_KEY: "k".repeat(40) });

function history(options: { leaseHeld?: boolean; finishFails?: boolean } = {}) {
  const calls: { fn: string; args: Record<string, unknown> }[] = [];
  const db: SqlApi = {
    async call<T>(fn: string, args: Record<string, unknown> = {}): Promise<T> {
      calls.push({ fn, args });
      if (fn === "export_ops_start_run")
        return (
          options.leaseHeld ? { started: false, held_by: "other-run", lease_expires_at: "2026-06-01T03:00:00Z" } : { started: true }
        ) as T;
      if (fn === "export_ops_finish_run" && options.finishFails) throw new DatabaseError("export_ops_finish_run failed: connection reset");
      return null as T;
    },
  };
  return { db, calls, finished: () => calls.find((c) => c.fn === "export_ops_finish_run")?.args };
}

const job = (run: () => Promise<{ has_more: boolean; dry_run: boolean; deleted: number; failed_count?: number }>) =>
  defineJob({
    id: "probe-job",
    description: "a job for the runner's tests",
    schedule: "0 * * * *",
    maxDurationSeconds: 120,
    callsAfterDeadline: 1,
    overlap: "skip",
    optionsSchema: baseOptionsSchema,
    progress: (r) => r.deleted,
    run,
  });

const context = (db: SqlApi) => {
  const capture = captureLogger();
  return {
    capture,
    ctx: {
      env,
      ports: { db, storage: {} as never },
      clock: fixedClock("2026-06-01T02:00:00Z"),
      logger: capture.logger,
      trigger: "script" as const,
    },
  };
};

describe("executeJob", () => {
  it("records the outcome the result means, with the job's lease and deadline", async () => {
    const h = history();
    const { ctx, capture } = context(h.db);
    await executeJob(
      job(async () => ({ has_more: false, dry_run: false, deleted: 0, failed_count: 3 })),
      ctx,
      { dry_run: false },
    );
    expect(h.calls[0]).toMatchObject({
      fn: "export_ops_start_run",
      args: { p_job: "probe-job", p_max_seconds: 120, p_lease_seconds: 240, p_dry_run: false },
    });
    expect(h.finished()).toMatchObject({ p_status: "failed", p_error: null });
    expect(capture.lines().find((l) => l.type === "job_failed")).toMatchObject({ status: "failed" });
  });

  it("records a run that threw as failed with the error's public body, logs it once, and rethrows it", async () => {
    const h = history();
    const { ctx, capture } = context(h.db);
    const boom = new DatabaseError("export_ops_x failed: deadlock");
    await expect(
      executeJob(
        job(async () => Promise.reject(boom)),
        ctx,
        { dry_run: false },
      ),
    ).rejects.toBe(boom);
    expect(h.finished()).toMatchObject({ p_status: "failed", p_result: null, p_error: { code: "database_error" } });
    const errors = capture.lines().filter((l) => l.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      type: "job_failed",
      job: "probe-job",
      trigger: "script",
      error: { code: "database_error", message: "export_ops_x failed: deadlock" },
      err: { type: "DatabaseError", message: "export_ops_x failed: deadlock" },
    });
    expect(errors[0]!.run_id).toBe(h.calls[0]!.args.p_run_id);
  });

  it("hands a run that threw back to the caller that answers for it, recorded and not logged", async () => {
    const h = history();
    const { ctx, capture } = context(h.db);
    const boom = new Error("storage down");
    const attempt = await attemptJob(
      job(async () => Promise.reject(boom)),
      { ...ctx, runId: "run-1" },
      { dry_run: false },
    );
    expect(attempt).toEqual({ ok: false, failed: { job: "probe-job", runId: "run-1", trigger: "script", durationMs: 0, error: boom } });
    expect(h.finished()).toMatchObject({ p_status: "failed", p_error: { code: "internal_error" } });
    expect(capture.lines().filter((l) => l.level === "error")).toEqual([]);
  });

  it("throws what fails before the run starts, with nothing recorded or logged", async () => {
    const refused = new DatabaseError("export_ops_start_run failed: connection refused");
    const db: SqlApi = { call: async () => Promise.reject(refused) };
    const { ctx, capture } = context(db);
    await expect(
      attemptJob(
        job(async () => ({ has_more: false, dry_run: false, deleted: 1 })),
        ctx,
        { dry_run: false },
      ),
    ).rejects.toBe(refused);
    expect(capture.lines()).toEqual([]);
  });

  it("still rethrows the job's own error when its failure cannot be recorded, and says so in the log", async () => {
    const h = history({ finishFails: true });
    const { ctx, capture } = context(h.db);
    const boom = new Error("storage down");
    await expect(
      executeJob(
        job(async () => Promise.reject(boom)),
        ctx,
        { dry_run: false },
      ),
    ).rejects.toBe(boom);
    expect(capture.lines().map((l) => l.type)).toEqual(expect.arrayContaining(["job_failed", "run_history_write_failed"]));
  });

  it("answers skipped, and runs nothing, while another run holds the lease", async () => {
    const h = history({ leaseHeld: true });
    const { ctx } = context(h.db);
    let ran = false;
    const result = await executeJob(
      job(async () => ((ran = true), { has_more: false, dry_run: false, deleted: 1 })),
      ctx,
      { dry_run: false },
    );
    expect(result).toMatchObject({ skipped: true, held_by: "other-run" });
    expect(ran).toBe(false);
    expect(h.finished()).toBeUndefined();
  });
});
