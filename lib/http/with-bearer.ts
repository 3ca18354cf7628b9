/**
 * The guard every protected route uses: the secret must be configured (else HTTP 500 naming the variable, never
 * its value), the request must carry exactly `Authorization: Bearer <secret>` (else 401, compared in constant
 * time), and any error the handler throws becomes {success: false, error, timestamp} with its status — unknown
 * errors as a generic 500 whose detail goes to the log only. The guard logs each error it answers, once; a handler
 * that answers an error itself (the cron wrapper, for a run that threw) logs that one itself.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { UnauthorizedError, publicError } from "../errors";
import { logger as rootLogger, type Logger } from "../logger";
import type { Clock } from "../ports";

const sha256 = (value: string) => createHash("sha256").update(value).digest();

/** Exact `Bearer <secret>`; hashing both sides first makes the comparison constant-time whatever the length. */
export function isAuthorized(header: string | null, secret: string): boolean {
  return header !== null && timingSafeEqual(sha256(header), sha256(`Bearer ${secret}`));
}

export function respond(status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store", ...headers } });
}

export interface GuardOptions {
  /** Returns the secret, or throws ConfigError when it is not usable. */
  secret: () => string;
  /** For the log lines of refused requests. */
  name: string;
  clock: Clock;
  logger?: Logger;
  /** Extra fields for the log lines of refused requests (e.g. the run id). */
  bindings?: Record<string, unknown>;
}

export async function guarded(request: Request, options: GuardOptions, handler: () => Promise<Response>): Promise<Response> {
  const logger = options.logger ?? rootLogger;
  try {
    if (!isAuthorized(request.headers.get("authorization"), options.secret())) throw new UnauthorizedError();
    return await handler();
  } catch (error) {
    const { status, body } = publicError(error);
    const type =
      status === 401
        ? "request_unauthorized"
        : status === 404
          ? "endpoint_off"
          : status === 400
            ? "request_invalid"
            : body.code === "config_error"
              ? "config_error"
              : "request_failed";
    const detail = status >= 500 && body.code !== "config_error" ? { err: error } : {};
    logger[status >= 500 ? "error" : "warn"](
      { type, route: options.name, ...options.bindings, status, error: body, ...detail },
      `${options.name}: ${body.message}`,
    );
    return errorResponse(error, options.clock);
  }
}

/** The answer to an error: {success: false, error, timestamp} with its status (an unknown error as a generic 500). */
export function errorResponse(error: unknown, clock: Clock): Response {
  const { status, body } = publicError(error);
  return respond(status, { success: false, error: body, timestamp: clock.now().toISOString() });
}
