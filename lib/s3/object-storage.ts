/**
 * The ObjectStorage port over an S3-compatible store (AWS S3, Cloudflare R2, Supabase's S3 endpoint, MinIO…),
 * through the AWS SDK's S3 client, for the log archive (EXPORT_ARCHIVE_TARGET=s3). The SDK is imported on the
 * first call, so a deployment that archives to a Supabase bucket never loads it.
 *
 * Where S3 differs from Supabase Storage: a bulk delete (DeleteObjects) reports a name that did not exist as
 * deleted, so `remove` resolves to every name it was given; an object's old versions are listed with
 * ListObjectVersions and deleted by VersionId, and a store that cannot list them (it answers 405 or 501) makes
 * the deletion stop with an error saying so, deleting nothing. Requests carry checksums only where S3 requires
 * them (DeleteObjects), which every S3-compatible store takes.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { StorageError } from "../errors";
import {
  MAX_NAMES_PER_DELETE,
  REQUEST_TIMEOUT_MS,
  type BucketProbe,
  type BucketVersioning,
  type ObjectStorage,
  type ObjectVersion,
  type StoredObject,
} from "../ports";
import { inSpan } from "../tracing";
import { s3Code, s3Failure, s3Status } from "./s3-errors";

/** How to reach the store: the settings EXPORT_ARCHIVE_REGION, EXPORT_ARCHIVE_S3_* (lib/env.ts) hold. */
export interface S3StoreSettings {
  region: string;
  /** A store that is not AWS; requests are then path-style (`<endpoint>/<bucket>/<key>`), which they all take. */
  endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The storage class archive objects are written with (STANDARD_IA, GLACIER_IR…); the store's default when unset. */
  storageClass?: string;
  /** Per request (REQUEST_TIMEOUT_MS unless a test says otherwise). */
  timeoutMs?: number;
  /** Attempts per request, the SDK's retries of 5xx and throttling included (3, the SDK's default). */
  maxAttempts?: number;
}

type Sdk = typeof import("@aws-sdk/client-s3");

/** One S3 call, in its own span (bucket and operation only), its failure turned into a typed error. */
function s3Call<T>(operation: string, bucket: string, call: () => Promise<T>): Promise<T> {
  return inSpan(
    `storage ${operation}`,
    { "export_ops.storage.operation": operation, "export_ops.storage.bucket": `s3://${bucket}` },
    async () => {
      try {
        return await call();
      } catch (error) {
        throw s3Failure(operation, `s3://${bucket}`, error);
      }
    },
  );
}

/**
 * The SDK and a client, made on first use. Each call is aborted after the timeout, retries included (as a Storage
 * call is): the SDK's own request timeout only counts a socket's idle time.
 */
function lazyClient(settings: S3StoreSettings): () => Promise<{ sdk: Sdk; client: Pick<S3Client, "send"> }> {
  let made: Promise<{ sdk: Sdk; client: Pick<S3Client, "send"> }> | undefined;
  return () =>
    (made ??= import("@aws-sdk/client-s3").then((sdk) => {
      const timeout = settings.timeoutMs ?? REQUEST_TIMEOUT_MS;
      const raw = new sdk.S3Client({
        region: settings.region,
        ...(settings.endpoint ? { endpoint: settings.endpoint, forcePathStyle: true } : {}),
        credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
        maxAttempts: settings.maxAttempts ?? 3,
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
        requestHandler: { requestTimeout: timeout, connectionTimeout: timeout },
      });
      const send = ((command: Parameters<S3Client["send"]>[0]) =>
        raw.send(command, { abortSignal: AbortSignal.timeout(timeout) })) as S3Client["send"];
      return { sdk, client: { send } };
    }));
}

const NO_VERSION_LISTING = new Set([405, 501]);

/** Deletes exact keys (or versions), MAX_NAMES_PER_DELETE per request; resolves to what the store reports deleted. */
async function deleteObjects(
  s3: ReturnType<typeof lazyClient>,
  bucket: string,
  objects: { Key: string; VersionId?: string }[],
  operation: string,
): Promise<string[]> {
  const { sdk, client } = await s3();
  const deleted: string[] = [];
  for (let i = 0; i < objects.length; i += MAX_NAMES_PER_DELETE) {
    const chunk = objects.slice(i, i + MAX_NAMES_PER_DELETE);
    const out = await s3Call(operation, bucket, () =>
      client.send(new sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: chunk } })),
    );
    const failed = out.Errors ?? [];
    if (failed.length > 0) {
      throw new StorageError(
        `s3 ${operation} failed in bucket s3://${bucket}: ${failed.length} of ${chunk.length} not deleted (${failed[0]!.Key}: ${failed[0]!.Code})`,
      );
    }
    deleted.push(...(out.Deleted ?? []).map((d) => d.Key ?? ""));
  }
  return deleted;
}

/** Every version of one exact key, delete markers included, current first. */
async function listVersions(s3: ReturnType<typeof lazyClient>, bucket: string, path: string): Promise<ObjectVersion[]> {
  const { sdk, client } = await s3();
  const found: ObjectVersion[] = [];
  let marker: { KeyMarker?: string; VersionIdMarker?: string } = {};
  for (;;) {
    const page = await s3Call("list versions", bucket, () =>
      client.send(new sdk.ListObjectVersionsCommand({ Bucket: bucket, Prefix: path, ...marker })).catch((error: unknown) => {
        if (!NO_VERSION_LISTING.has(s3Status(error) ?? 0)) throw error;
        throw new StorageError(
          `s3 list versions failed: the store holding bucket s3://${bucket} cannot list object versions (ListObjectVersions: ${s3Code(error)}), ` +
            `so the old versions of ${path} cannot be deleted; nothing was deleted`,
        );
      }),
    );
    const entries = [
      ...(page.Versions ?? []).map((v) => ({ ...v, marker: false })),
      ...(page.DeleteMarkers ?? []).map((d) => ({ ...d, marker: true })),
    ];
    for (const entry of entries.filter((e) => e.Key === path)) {
      found.push({ path, versionId: entry.VersionId ?? "null", current: entry.IsLatest === true, deleteMarker: entry.marker });
    }
    if (!page.IsTruncated) return found.sort((a, b) => Number(b.current) - Number(a.current));
    marker = { KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker };
  }
}

/** The bucket's versioning status and, when it keeps versions, the soonest noncurrent expiry of its enabled rules. */
async function readVersioning(s3: ReturnType<typeof lazyClient>, bucket: string): Promise<BucketVersioning> {
  const { sdk, client } = await s3();
  const out = await s3Call("get bucket versioning", bucket, () => client.send(new sdk.GetBucketVersioningCommand({ Bucket: bucket })));
  const status = out.Status === "Enabled" ? "ENABLED" : out.Status === "Suspended" ? "SUSPENDED" : "DISABLED";
  if (status === "DISABLED") return { status, noncurrent_expiry_days: null };
  // no lifecycle configuration (or none readable): no rule expires noncurrent versions
  const rules = await client.send(new sdk.GetBucketLifecycleConfigurationCommand({ Bucket: bucket })).then(
    (r) => r.Rules ?? [],
    () => [],
  );
  const days = rules
    .filter((r) => r.Status === "Enabled")
    .flatMap((r) => (r.NoncurrentVersionExpiration?.NoncurrentDays ? [r.NoncurrentVersionExpiration.NoncurrentDays] : []));
  return { status, noncurrent_expiry_days: days.length > 0 ? Math.min(...days) : null };
}

/** HeadBucket says whether it is there (a 403 is refused credentials); its policy status, where the store has one, whether it is public. */
async function probeBucket(s3: ReturnType<typeof lazyClient>, bucket: string): Promise<BucketProbe> {
  const { sdk, client } = await s3();
  try {
    await s3Call("head bucket", bucket, () => client.send(new sdk.HeadBucketCommand({ Bucket: bucket })));
  } catch (error) {
    if (error instanceof StorageError && error.storageStatus === 404) return { exists: false, public: false };
    throw error;
  }
  // AWS answers; R2 and most other stores have no bucket policies (501) and no public buckets by policy
  const policy = await client.send(new sdk.GetBucketPolicyStatusCommand({ Bucket: bucket })).catch(() => undefined);
  return { exists: true, public: policy?.PolicyStatus?.IsPublic === true };
}

/**
 * One folder level, as Supabase Storage lists it: names relative to the folder, sub-folders with `id: null`. Read
 * from a flat listing of the keys under the folder (not with a delimiter, which not every S3-compatible server
 * honours), stopping once the page is full.
 */
async function listFolder(
  s3: ReturnType<typeof lazyClient>,
  bucket: string,
  prefix: string,
  page: { limit: number; offset: number },
): Promise<StoredObject[]> {
  const { sdk, client } = await s3();
  const folder = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
  const entries = new Map<string, StoredObject>();
  let token: string | undefined;
  do {
    const out = await s3Call("list", bucket, () =>
      client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: folder, ContinuationToken: token })),
    );
    for (const o of out.Contents ?? []) {
      const rest = o.Key!.slice(folder.length);
      const slash = rest.indexOf("/");
      const modified = o.LastModified?.toISOString() ?? null;
      if (slash >= 0)
        entries.set(rest.slice(0, slash), { name: rest.slice(0, slash), id: null, created_at: null, updated_at: null, metadata: null });
      else
        entries.set(rest, {
          name: rest,
          id: o.ETag ?? o.Key!,
          created_at: modified,
          updated_at: modified,
          metadata: { size: o.Size ?? null },
        });
    }
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token && entries.size <= page.offset + page.limit);
  return [...entries.values()]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(page.offset, page.offset + page.limit);
}

/** The ObjectStorage port over an S3-compatible store; `bucket` is the store's own bucket name. */
export function createS3ObjectStorage(settings: S3StoreSettings): ObjectStorage {
  const s3 = lazyClient(settings);
  return {
    remove: (bucket, paths) =>
      deleteObjects(
        s3,
        bucket,
        paths.map((Key) => ({ Key })),
        "remove",
      ),
    versioning: (bucket) => readVersioning(s3, bucket),
    versions: (bucket, path) => listVersions(s3, bucket, path),
    removeVersions: async (bucket, versions) =>
      (
        await deleteObjects(
          s3,
          bucket,
          versions.map((v) => ({ Key: v.path, VersionId: v.versionId })),
          "remove versions",
        )
      ).length,
    list: (bucket, prefix, page) => listFolder(s3, bucket, prefix, page),
    async upload(bucket, path, body, options) {
      const { sdk, client } = await s3();
      const bytes = typeof body === "string" ? Buffer.from(body) : body;
      await s3Call("upload", bucket, () =>
        client.send(
          new sdk.PutObjectCommand({
            Bucket: bucket,
            Key: path,
            Body: bytes,
            ContentLength: bytes.length,
            ContentType: options.contentType,
            ...(settings.storageClass ? { StorageClass: settings.storageClass as never } : {}),
            // upsert off: a name that exists is refused, as Storage refuses it
            ...(options.upsert ? {} : { IfNoneMatch: "*" }),
          }),
        ),
      );
    },
    async download(bucket, path) {
      const { sdk, client } = await s3();
      return s3Call("download", bucket, async () =>
        (await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: path }))).Body!.transformToByteArray(),
      );
    },
    probe: (bucket) => probeBucket(s3, bucket),
  };
}
