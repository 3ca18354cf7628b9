/**
 * The error vocabulary: one base class, a code → HTTP status map, and a guard. Anything that is not an
 * AppError is unknown and is answered as a generic 500 (its detail goes to the log only).
 */
export const errorStatus = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  payload_too_large: 413,
  config_error: 500,
  database_error: 502,
  storage_error: 502,
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra, secret-free facts safe to show a caller (e.g. which parameter was bad). */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, { cause: options?.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = errorStatus[code];
    this.details = options?.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export class ConfigError extends AppError {
  constructor(message: string) {
    super("config_error", message);
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super("bad_request", message, { details });
  }
}

/** An endpoint that is off (its token is not configured): answered like a path that does not exist. */
export class NotFoundError extends AppError {
  constructor(message = "Not found") {
    super("not_found", message);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = "Missing or invalid bearer token") {
    super("unauthorized", message);
  }
}

/** A request refused whoever sends it (a cross-site form post). */
export class ForbiddenError extends AppError {
  constructor(message: string) {
    super("forbidden", message);
  }
}

/** A request body over the route's limit, refused before it is read whole. */
export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number) {
    super("payload_too_large", `The request body is over ${limitBytes} bytes`, { details: { limit_bytes: limitBytes } });
  }
}

/**
 * A failed call of the SQL API (or of PostgREST on export-ops' tables): refused, failed, or answered with a result the
 * contract (lib/sql-contract.ts) does not take, the message naming the function and, for a malformed result, the
 * field. PostgREST's or Postgres' code (e.g. PGRST202, P0001, 23503) is kept in `dbCode`. Part of the package's
 * public API (`export-ops`): named in so many words, so that it survives a host's minifier.
 */
export class DatabaseError extends AppError {
  readonly dbCode?: string;
  constructor(message: string, options?: { cause?: unknown; dbCode?: string }) {
    super("database_error", message, { cause: options?.cause });
    this.name = "DatabaseError";
    this.dbCode = options?.dbCode;
  }
}

/** A Storage API failure; `storageStatus` is the real status (Storage sends every 4xx as HTTP 400). */
export class StorageError extends AppError {
  readonly storageStatus?: number;
  constructor(message: string, options?: { cause?: unknown; storageStatus?: number }) {
    super("storage_error", message, { cause: options?.cause });
    this.storageStatus = options?.storageStatus;
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** The public face of any error: AppErrors as they are, everything else as a generic internal error. */
export function publicError(error: unknown): { status: number; body: ReturnType<AppError["toJSON"]> } {
  if (isAppError(error)) return { status: error.status, body: error.toJSON() };
  return { status: 500, body: { code: "internal_error", message: "Internal error; see the server log for details" } };
}
