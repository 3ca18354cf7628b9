/**
 * An S3 store's refusals, in export-ops' error vocabulary. The SDK's error is never kept as the cause, nor its
 * response: only its name, HTTP status and message (the store's own words, which hold no credential) go on, so no
 * log line, response or span can carry what the request was signed with.
 */
import { ConfigError, StorageError } from "../errors";

/** What an SDK error (or a network failure) says about itself. */
interface SdkFailure {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const CREDENTIAL_REFUSALS = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "InvalidToken",
  "ExpiredToken",
  "Forbidden",
]);

export const CREDENTIAL_SETTINGS = "EXPORT_ARCHIVE_S3_ACCESS_KEY_ID and EXPORT_ARCHIVE_S3_SECRET_ACCESS_KEY";

/** The HTTP status an S3 call failed with, when the store answered. */
export function s3Status(error: unknown): number | undefined {
  return (error as SdkFailure | null)?.$metadata?.httpStatusCode;
}

/** The S3 error's code (NoSuchKey, AccessDenied…), or the kind of failure (TimeoutError) when there was no answer. */
export function s3Code(error: unknown): string {
  return (error as SdkFailure | null)?.name ?? "Error";
}

/**
 * An S3 call's failure as a typed error: refused credentials are a ConfigError naming the settings (a wrong key
 * is a configuration to fix, not a store to retry), everything else a StorageError with the store's status.
 */
export function s3Failure(operation: string, bucket: string, error: unknown): ConfigError | StorageError {
  const status = s3Status(error);
  const code = s3Code(error);
  if (CREDENTIAL_REFUSALS.has(code) || status === 403) {
    return new ConfigError(
      `the S3 store refused the archive credentials for bucket ${bucket} (${operation}: ${code}, ${status ?? "no status"}): ` +
        `check ${CREDENTIAL_SETTINGS}, and that the key may read, write, list and delete in the bucket`,
    );
  }
  const message = (error as SdkFailure | null)?.message;
  // the SDK says "UnknownError" for an answer without a body (a HEAD's 404, a proxy's 500)
  const detail = message && message !== "UnknownError" && message !== code ? `: ${message.slice(0, 300)}` : "";
  return new StorageError(`s3 ${operation} failed in bucket ${bucket}: ${code}${status ? ` (${status})` : ""}${detail}`, {
    storageStatus: status,
  });
}
