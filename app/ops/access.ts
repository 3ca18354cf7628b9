// The ops views' gate: 404 while OPS_TOKEN is unset, the sign-in form without a live session, and the database
// port once signed in.
import { cookies } from "next/headers";
import { notFound } from "next/navigation";
import { getEnv, type Env } from "@/lib/env";
import { publicError } from "@/lib/errors";
import { logger } from "@/lib/logger";
import { opsAccess } from "@/lib/http/ops-session";
import { SESSION_COOKIE } from "@/lib/ops/session";
import type { OpsPanels } from "@/lib/ops/page-data";
import type { SqlApi } from "@/lib/ports";
import { createSupabasePorts } from "@/lib/supabase";

export async function opsGate(): Promise<"signed_out" | "signed_in"> {
  const access = await opsAccess((await cookies()).get(SESSION_COOKIE)?.value);
  if (access === "off") notFound();
  return access;
}

/** Runs a read with the deployment's env and database; a failure becomes a message safe to show. */
export async function opsRead<T>(read: (db: SqlApi, env: Env) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; message: string }> {
  try {
    const env = getEnv();
    return { ok: true, value: await read(createSupabasePorts(env).db, env) };
  } catch (error) {
    const { body } = publicError(error);
    logger.error({ type: "ops_page_failed", error: body, err: error }, `ops page: ${body.message}`);
    return { ok: false, message: body.message };
  }
}

/** A panel whose read failed shows its message; the detail goes to the log, once per panel. */
export function logPanelFailures(panels: OpsPanels): void {
  for (const panel of ["jobs", "alerts", "exports", "cleanup", "runs"] as const) {
    const read = panels[panel];
    if (!read.ok) {
      logger.error({ type: "ops_page_failed", panel, error: publicError(read.error).body, err: read.error }, `ops page: the ${panel} panel could not be read: ${read.message}`);
    }
  }
}
