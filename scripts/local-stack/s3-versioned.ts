/**
 * An S3-protocol server that keeps object versions, in memory, for the tests of the S3 archive in a versioned bucket:
 * no S3 server on the npm registry or in Debian's archive keeps versions (s3rver answers every versioning call as a
 * bucket that never had any). It speaks the path-style REST API the AWS SDK sends, and models versioning as Amazon
 * S3's user guide states it ("Working with objects in a versioning-enabled bucket"):
 *
 * - A bucket is unversioned until versioning is put `Enabled`; after that only `Enabled` or `Suspended`.
 * - Enabled: each PUT adds a version with a new id, the one before becomes noncurrent; a DELETE by key adds a delete
 *   marker (a version of its own) and keeps every byte. Suspended or unversioned: a PUT or a marker takes the
 *   version id `null`, replacing the `null` version.
 * - A DELETE with a version id removes that version for good; when it was the latest, the one before becomes latest.
 * - GET without a version id reads the latest; behind a delete marker that is 404 NoSuchKey. ListObjectsV2 lists
 *   latest versions that are not markers; ListObjectVersions lists every version and marker, key by key, newest first,
 *   a page at a time (`max-keys`, then `key-marker` and `version-id-marker`).
 * - DeleteObjects answers each entry as a DELETE would: `Deleted` with `DeleteMarker` and `DeleteMarkerVersionId`
 *   when it added a marker; a key that does not exist is reported deleted.
 *
 * Every request's Signature Version 4 is checked against the one key it takes (`S3_KEY`, as s3rver's): an unknown
 * key id is 403 InvalidAccessKeyId, a wrong secret 403 SignatureDoesNotMatch.
 *
 * Not modelled: lifecycle rules (GetBucketLifecycleConfiguration answers none), multipart uploads, conditional
 * requests, object lock, presigned URLs.
 */
import { createHash, createHmac, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

interface Version {
  id: string;
  body: Buffer | null; // null: a delete marker
  modified: Date;
}
interface Bucket {
  status: "" | "Enabled" | "Suspended";
  /** Per key, newest first. */
  keys: Map<string, Version[]>;
}

const XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const tag = (name: string, value: string | number | boolean) => `<${name}>${typeof value === "string" ? escape(value) : value}</${name}>`;
const etag = (v: Version) => `"${v.id.replace(/-/g, "").slice(0, 32).padEnd(32, "0")}"`;

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(code);
  }
}

/** What a request asks for: its bucket, key and query. */
interface Call {
  method: string;
  bucket: string;
  key: string;
  query: URLSearchParams;
  body: Buffer;
}
type Answer = { status: number; headers?: Record<string, string>; body?: string | Buffer };

/** The buckets' versions, and the operations on them. */
export function createVersionedStore(bucketNames: string[]) {
  const buckets = new Map<string, Bucket>(bucketNames.map((name) => [name, { status: "", keys: new Map() }]));
  const bucketOf = (name: string) => {
    const bucket = buckets.get(name);
    if (!bucket) throw new S3Error(404, "NoSuchBucket");
    return bucket;
  };
  /** A new version (or marker) of `key`: a new id when Enabled, else the `null` version, replacing the one before. */
  const add = (bucket: Bucket, key: string, body: Buffer | null): Version => {
    const versions = bucket.keys.get(key) ?? [];
    const version = { id: bucket.status === "Enabled" ? randomUUID() : "null", body, modified: new Date() };
    bucket.keys.set(key, [version, ...versions.filter((v) => v.id !== version.id)]);
    return version;
  };
  /** A DELETE: for good with a version id; else a marker (versioned) or the object itself (never versioned). */
  const remove = (bucket: Bucket, key: string, versionId: string | null) => {
    const versions = bucket.keys.get(key) ?? [];
    if (versionId !== null) {
      const gone = versions.find((v) => v.id === versionId);
      const left = versions.filter((v) => v !== gone);
      if (left.length > 0) bucket.keys.set(key, left);
      else bucket.keys.delete(key);
      return { versionId, marker: gone?.body === null };
    }
    if (bucket.status === "") {
      bucket.keys.delete(key);
      return { versionId: null, marker: false };
    }
    return { versionId: null, marker: true, markerId: add(bucket, key, null).id };
  };
  return { buckets, bucketOf, add, remove };
}
type Store = ReturnType<typeof createVersionedStore>;

function listVersions(store: Store, call: Call): Answer {
  const bucket = store.bucketOf(call.bucket);
  const prefix = call.query.get("prefix") ?? "";
  const max = Number(call.query.get("max-keys") ?? 1000);
  const [keyMarker, idMarker] = [call.query.get("key-marker") ?? "", call.query.get("version-id-marker") ?? ""];
  const all = [...bucket.keys.entries()]
    .filter(([key]) => key.startsWith(prefix))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([key, versions]) => versions.map((v, i) => ({ key, v, latest: i === 0 })));
  // after the markers: past key-marker's versions, or past version-id-marker within key-marker
  const markerAt = all.findIndex((e) => e.key === keyMarker && e.v.id === idMarker);
  const rest = all.filter((e, i) => (idMarker && markerAt >= 0 ? i > markerAt : e.key > keyMarker));
  const page = rest.slice(0, max);
  const truncated = rest.length > page.length;
  const last = page[page.length - 1];
  const entries = page.map(({ key, v, latest }) =>
    v.body === null
      ? `<DeleteMarker>${tag("Key", key)}${tag("VersionId", v.id)}${tag("IsLatest", latest)}${tag("LastModified", v.modified.toISOString())}</DeleteMarker>`
      : `<Version>${tag("Key", key)}${tag("VersionId", v.id)}${tag("IsLatest", latest)}${tag("LastModified", v.modified.toISOString())}${tag("ETag", etag(v))}${tag("Size", v.body.length)}${tag("StorageClass", "STANDARD")}</Version>`,
  );
  const next = truncated && last ? tag("NextKeyMarker", last.key) + tag("NextVersionIdMarker", last.v.id) : "";
  return xml(
    `<ListVersionsResult ${XMLNS}>${tag("Name", call.bucket)}${tag("Prefix", prefix)}${tag("KeyMarker", keyMarker)}${tag("VersionIdMarker", idMarker)}${tag("MaxKeys", max)}${tag("IsTruncated", truncated)}${next}${entries.join("")}</ListVersionsResult>`,
  );
}

function listObjects(store: Store, call: Call): Answer {
  const bucket = store.bucketOf(call.bucket);
  const prefix = call.query.get("prefix") ?? "";
  const max = Number(call.query.get("max-keys") ?? 1000);
  const after = call.query.get("continuation-token") ?? call.query.get("start-after") ?? "";
  const current = [...bucket.keys.entries()]
    .filter(([key, versions]) => key.startsWith(prefix) && key > after && versions[0]!.body !== null)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const page = current.slice(0, max);
  const truncated = current.length > page.length;
  const contents = page.map(
    ([key, [v]]) =>
      `<Contents>${tag("Key", key)}${tag("LastModified", v!.modified.toISOString())}${tag("ETag", etag(v!))}${tag("Size", v!.body!.length)}${tag("StorageClass", "STANDARD")}</Contents>`,
  );
  const next = truncated ? tag("NextContinuationToken", page[page.length - 1]![0]) : "";
  return xml(
    `<ListBucketResult ${XMLNS}>${tag("Name", call.bucket)}${tag("Prefix", prefix)}${tag("KeyCount", page.length)}${tag("MaxKeys", max)}${tag("IsTruncated", truncated)}${next}${contents.join("")}</ListBucketResult>`,
  );
}

/** DeleteObjects: each `<Object>` of the body as a DELETE. */
function deleteObjects(store: Store, call: Call): Answer {
  const bucket = store.bucketOf(call.bucket);
  const objects = [...call.body.toString("utf8").matchAll(/<Object>([\s\S]*?)<\/Object>/g)].map(([, inner]) => ({
    key: unescape(/<Key>([\s\S]*?)<\/Key>/.exec(inner!)?.[1] ?? ""),
    versionId: /<VersionId>([\s\S]*?)<\/VersionId>/.exec(inner!)?.[1] ?? null,
  }));
  const deleted = objects.map(({ key, versionId }) => {
    const done = store.remove(bucket, key, versionId);
    const marker = done.marker ? tag("DeleteMarker", true) + (done.markerId ? tag("DeleteMarkerVersionId", done.markerId) : "") : "";
    return `<Deleted>${tag("Key", key)}${versionId !== null ? tag("VersionId", versionId) : ""}${marker}</Deleted>`;
  });
  return xml(`<DeleteResult ${XMLNS}>${deleted.join("")}</DeleteResult>`);
}

const unescape = (s: string) =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
const xml = (body: string, status = 200): Answer => ({
  status,
  headers: { "content-type": "application/xml" },
  body: `<?xml version="1.0" encoding="UTF-8"?>${body}`,
});

/** The version a GET or HEAD reads: the one named, or the latest, which must not be a delete marker. */
function versionToRead(store: Store, call: Call): Version {
  const versions = store.bucketOf(call.bucket).keys.get(call.key) ?? [];
  const id = call.query.get("versionId");
  const version = id === null ? versions[0] : versions.find((v) => v.id === id);
  if (!version) throw new S3Error(404, id === null ? "NoSuchKey" : "NoSuchVersion");
  if (version.body === null) throw new S3Error(id === null ? 404 : 405, id === null ? "NoSuchKey" : "MethodNotAllowed");
  return version;
}

function objectCall(store: Store, call: Call): Answer {
  const bucket = store.bucketOf(call.bucket);
  if (call.method === "PUT") {
    const v = store.add(bucket, call.key, call.body);
    return { status: 200, headers: { etag: etag(v), ...(bucket.status ? { "x-amz-version-id": v.id } : {}) } };
  }
  if (call.method === "DELETE") {
    const done = store.remove(bucket, call.key, call.query.get("versionId"));
    const headers: Record<string, string> = done.marker ? { "x-amz-delete-marker": "true" } : {};
    if (done.markerId ?? done.versionId) headers["x-amz-version-id"] = (done.markerId ?? done.versionId)!;
    return { status: 204, headers };
  }
  const v = versionToRead(store, call);
  const headers = {
    etag: etag(v),
    "content-length": String(v.body!.length),
    "x-amz-version-id": v.id,
    "last-modified": v.modified.toUTCString(),
  };
  return { status: 200, headers, body: call.method === "HEAD" ? undefined : v.body! };
}

function bucketCall(store: Store, call: Call): Answer {
  const { query, method } = call;
  if (method === "PUT" && query.has("versioning")) {
    const status = /<Status>(Enabled|Suspended)<\/Status>/.exec(call.body.toString("utf8"))?.[1];
    if (!status) throw new S3Error(400, "MalformedXML");
    store.bucketOf(call.bucket).status = status as Bucket["status"];
    return { status: 200 };
  }
  if (method === "PUT") {
    if (!store.buckets.has(call.bucket)) store.buckets.set(call.bucket, { status: "", keys: new Map() });
    return { status: 200 };
  }
  const bucket = store.bucketOf(call.bucket);
  if (method === "HEAD") return { status: 200 };
  if (method === "POST" && query.has("delete")) return deleteObjects(store, call);
  if (query.has("versioning"))
    return xml(`<VersioningConfiguration ${XMLNS}>${bucket.status ? tag("Status", bucket.status) : ""}</VersioningConfiguration>`);
  if (query.has("versions")) return listVersions(store, call);
  if (query.has("lifecycle")) throw new S3Error(404, "NoSuchLifecycleConfiguration");
  if (query.has("policyStatus")) throw new S3Error(404, "NoSuchBucketPolicy");
  if (query.get("list-type") === "2") return listObjects(store, call);
  throw new S3Error(501, "NotImplemented");
}

/** The key it takes: s3rver's (./s3-server.ts), so the tests' settings reach either server. */
const KEY = { id: "S3RVER", secret: "S3RVER" };

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
/** RFC 3986 encoding, as SigV4 takes a query's names and values. */
const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Checks a request's SigV4 `Authorization` (AWS's "Signature Version 4 signing process"), or throws the S3 error. */
function checkSignature(req: http.IncomingMessage, url: URL, body: Buffer): void {
  const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(
    req.headers.authorization ?? "",
  );
  if (!auth) throw new S3Error(403, "AccessDenied");
  const [, keyId, scope, signed, signature] = auth as unknown as [string, string, string, string, string];
  if (keyId !== KEY.id) throw new S3Error(403, "InvalidAccessKeyId");
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [encode(k), encode(v)])
    .sort(([a, x], [b, y]) => (a! < b! ? -1 : a! > b! ? 1 : x! < y! ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const names = signed.split(";");
  const headers = names
    .map(
      (name) =>
        `${name}:${String(req.headers[name] ?? "")
          .trim()
          .replace(/\s+/g, " ")}\n`,
    )
    .join("");
  const payload = String(req.headers["x-amz-content-sha256"] ?? sha256(body));
  const canonical = [req.method, url.pathname, query, headers, signed, payload].join("\n");
  const date = String(req.headers["x-amz-date"] ?? "");
  const toSign = ["AWS4-HMAC-SHA256", date, scope, sha256(canonical)].join("\n");
  const [day, region, service] = scope.split("/");
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${KEY.secret}`, day!), region!), service!), "aws4_request");
  if (createHmac("sha256", signingKey).update(toSign).digest("hex") !== signature) throw new S3Error(403, "SignatureDoesNotMatch");
}

/** The server: path-style requests, `/<bucket>` and `/<bucket>/<key>`. */
export async function startVersionedS3(buckets: string[]): Promise<{ port: number; store: Store; close: () => Promise<void> }> {
  const store = createVersionedStore(buckets);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://s3.local");
      const [, bucket = "", ...key] = url.pathname.split("/");
      const call = {
        method: req.method ?? "GET",
        bucket,
        key: key.map(decodeURIComponent).join("/"),
        query: url.searchParams,
        body: Buffer.concat(chunks),
      };
      let answer: Answer;
      try {
        checkSignature(req, url, call.body);
        answer = call.key ? objectCall(store, call) : bucketCall(store, call);
      } catch (error) {
        if (!(error instanceof S3Error)) throw error;
        answer = xml(`<Error>${tag("Code", error.code)}${tag("Message", error.code)}</Error>`, error.status);
      }
      res.writeHead(answer.status, answer.headers).end(req.method === "HEAD" ? undefined : answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    store,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
