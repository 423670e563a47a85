/**
 * The production artifact store: an S3 bucket (AWS, MinIO or any S3-compatible API), selected by
 * `ARTIFACT_STORE=s3://bucket/prefix`. Same layout and contract as the local store:
 *
 *   <prefix>/artifacts/sha256/<ab>/<hash>   content-addressed blobs
 *   <prefix>/objects/<key>                  named objects (prediction logs, reports)
 *
 * Every read hashes the bytes it received and refuses them (NW_STORE_CORRUPT) unless they are the
 * bytes that were stored, so a blob changed in the bucket is never served. Large blobs go up in
 * parts (multipart upload); transient failures (5xx, throttling, dropped connections) are retried
 * with exponential backoff by the SDK.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { NetwardenError, sha256 } from "../core/index.js";
import { checkBytes, checkHash, checkObjectKey, checkObjectPrefix } from "./rules.js";
import type { ArtifactStore } from "./types.js";

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slash ("" for the bucket root). */
  prefix: string;
  /** Custom endpoint (MinIO, moto, Ceph...); undefined for AWS. */
  endpoint?: string;
  region: string;
  /** Path-style addressing (http://host/bucket/key), which most S3-compatible servers need. */
  forcePathStyle: boolean;
}

export interface S3ArtifactStoreOptions {
  /** Objects of at least this many bytes are uploaded in parts of this size (default 8 MiB, min 5 MiB). */
  partSize?: number;
  /** Attempts per request, the first included (default 5). */
  maxAttempts?: number;
  /** Credentials; default: the SDK's chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, roles). */
  credentials?: S3ClientConfig["credentials"];
}

const MIN_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** User metadata key carrying the blob's sha256 (x-amz-meta-sha256). */
const META_SHA256 = "sha256";

/**
 * Reads `s3://bucket/prefix[?endpoint=…&region=…&path_style=true]`. Without them in the URL, the
 * endpoint comes from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, the region from AWS_REGION /
 * AWS_DEFAULT_REGION (default us-east-1), path style from NETWARDEN_S3_PATH_STYLE (default: on
 * when an endpoint is set, as MinIO and most S3-compatible servers need it).
 */
export function parseS3Url(
  value: string,
  env: NodeJS.ProcessEnv = process.env,
  where = "ARTIFACT_STORE",
): S3Location {
  const bad = (why: string) =>
    new NetwardenError("NW_BACKEND_CONFIG", `${where} \`${value}\` is not an S3 location: ${why}`, {
      where,
      hint: "Use s3://bucket/prefix, optionally with ?endpoint=http://host:9000&region=us-east-1&path_style=true",
    });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad("it is not a URL");
  }
  if (url.protocol !== "s3:") throw bad(`its scheme is \`${url.protocol.replace(/:$/, "")}\`, not s3`);
  const bucket = url.hostname;
  if (!BUCKET_PATTERN.test(bucket)) {
    throw bad(`\`${bucket}\` is not a bucket name (3-63 lowercase letters, digits, '.' and '-')`);
  }
  // URL parsing resolves "..", so dot segments are looked for in the text as given.
  if (/\/\.\.?(\/|\?|$)/.test(value.slice("s3://".length))) throw bad("the prefix has `.` or `..` parts");
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, "");
  if (prefix !== "") checkPrefix(prefix, bad);
  for (const key of url.searchParams.keys()) {
    if (!["endpoint", "region", "path_style"].includes(key)) {
      throw bad(`unknown setting \`${key}\` (known: endpoint, region, path_style)`);
    }
  }
  const endpoint =
    url.searchParams.get("endpoint") || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) {
    throw bad(`endpoint \`${endpoint}\` is not an http(s) URL`);
  }
  const region = url.searchParams.get("region") || env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1";
  const style = url.searchParams.get("path_style") ?? env.NETWARDEN_S3_PATH_STYLE;
  if (style !== undefined && style !== "" && !["true", "false", "1", "0"].includes(style)) {
    throw bad(`path_style must be true or false, got \`${style}\``);
  }
  const forcePathStyle =
    style === undefined || style === "" ? endpoint !== undefined : style === "true" || style === "1";
  return { bucket, prefix, ...(endpoint ? { endpoint } : {}), region, forcePathStyle };
}

function checkPrefix(prefix: string, bad: (why: string) => NetwardenError): void {
  try {
    checkObjectKey(prefix, "prefix");
  } catch {
    throw bad(`the prefix \`${prefix}\` is not a relative path of letters, digits and \`._=-\``);
  }
}

export class S3ArtifactStore implements ArtifactStore {
  readonly location: string;
  readonly bucket: string;
  readonly client: S3Client;
  private readonly base: string;
  private readonly partSize: number;

  constructor(loc: S3Location, options: S3ArtifactStoreOptions = {}) {
    this.bucket = loc.bucket;
    this.base = loc.prefix ? `${loc.prefix}/` : "";
    this.location = `s3://${loc.bucket}/${loc.prefix}${loc.endpoint ? ` (${loc.endpoint})` : ""}`;
    this.partSize = Math.max(MIN_PART_SIZE, options.partSize ?? DEFAULT_PART_SIZE);
    this.client = new S3Client({
      region: loc.region,
      ...(loc.endpoint ? { endpoint: loc.endpoint } : {}),
      forcePathStyle: loc.forcePathStyle,
      maxAttempts: options.maxAttempts ?? 5,
      retryMode: "standard",
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // Integrity is checked end to end with sha256; the SDK's optional CRC headers are left out,
      // since several S3-compatible servers reject them.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  /** The object key of a blob (whether or not it exists). */
  blobKey(hash: string): string {
    const h = checkHash(hash, "artifact hash");
    return `${this.base}artifacts/sha256/${h.slice(0, 2)}/${h}`;
  }

  /** The object key of a named object. */
  objectKey(key: string): string {
    return `${this.base}objects/${checkObjectKey(key)}`;
  }

  async put(bytes: Uint8Array): Promise<{ hash: string; size: number }> {
    const data = checkBytes(bytes);
    const hash = sha256(data);
    const key = this.blobKey(hash);
    // An intact copy makes the write a no-op; a damaged one (rewritten behind our back) is
    // replaced, so re-running the step that produced an artifact repairs it.
    const existing = await this.fetch(key);
    if (!existing || sha256(existing.bytes) !== hash) await this.upload(key, data, hash);
    return { hash, size: data.byteLength };
  }

  async get(hash: string): Promise<Uint8Array> {
    const key = this.blobKey(hash);
    const got = await this.fetch(key);
    if (!got) {
      throw new NetwardenError("NW_STORE_NOT_FOUND", `no artifact with sha256 ${hash} in ${this.location}`, {
        where: `s3://${this.bucket}/${key}`,
        hint: "Check that ARTIFACT_STORE names the bucket and prefix the run wrote to; if the object was deleted, re-run training",
        details: { hash },
      });
    }
    const actual = sha256(got.bytes);
    if (actual !== hash) {
      throw new NetwardenError(
        "NW_STORE_CORRUPT",
        `artifact ${hash} was changed in the bucket: its bytes now hash to ${actual}`,
        {
          where: `s3://${this.bucket}/${key}`,
          hint: "Re-run training to recreate it, or restore the object from a backup or an earlier object version",
          details: { hash, actual, bucket: this.bucket, key },
        },
      );
    }
    return got.bytes;
  }

  async has(hash: string): Promise<boolean> {
    return this.head(this.blobKey(hash));
  }

  async putObject(key: string, bytes: Uint8Array): Promise<void> {
    const objectKey = this.objectKey(key);
    const data = checkBytes(bytes);
    await this.upload(objectKey, data, sha256(data));
  }

  async getObject(key: string): Promise<Uint8Array> {
    const objectKey = this.objectKey(key);
    const got = await this.fetch(objectKey);
    if (!got) {
      throw new NetwardenError("NW_STORE_NOT_FOUND", `no object \`${key}\` in ${this.location}`, {
        where: `s3://${this.bucket}/${objectKey}`,
        hint: "List the keys that exist under its prefix",
        details: { key },
      });
    }
    if (got.sha256 !== undefined && sha256(got.bytes) !== got.sha256) {
      throw new NetwardenError("NW_STORE_CORRUPT", `object \`${key}\` was changed in the bucket`, {
        where: `s3://${this.bucket}/${objectKey}`,
        hint: "Write the object again, or restore it from a backup",
        details: { key },
      });
    }
    return got.bytes;
  }

  async listObjects(prefix: string): Promise<string[]> {
    const p = checkObjectPrefix(prefix);
    const full = `${this.base}objects/${prefix.endsWith("/") && p ? `${p}/` : p}`;
    const strip = `${this.base}objects/`.length;
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.send("list objects under", full, () =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, ContinuationToken: token }),
        ),
      );
      for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key.slice(strip));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  // ---- requests ----

  private async upload(key: string, data: Uint8Array, hash: string): Promise<void> {
    const metadata = { [META_SHA256]: hash };
    if (data.byteLength < this.partSize) {
      await this.send("write", key, () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: data,
            Metadata: metadata,
            ContentLength: data.byteLength,
          }),
        ),
      );
      return;
    }
    // A copy, so a caller changing its buffer during the upload cannot change what is stored.
    const body = Buffer.from(data);
    await this.send("write", key, () =>
      new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: key, Body: body, Metadata: metadata },
        partSize: this.partSize,
        queueSize: 4,
        leavePartsOnError: false,
      }).done(),
    );
  }

  private async head(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw this.error(e, "read", key);
    }
  }

  /** The object's bytes and the sha256 recorded when it was written; undefined when there is none. */
  private async fetch(key: string): Promise<{ bytes: Uint8Array; sha256?: string } | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const bytes = r.Body ? await r.Body.transformToByteArray() : new Uint8Array(0);
      return { bytes, sha256: r.Metadata?.[META_SHA256] };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.error(e, "read", key);
    }
  }

  private async send<T>(action: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.error(e, action, key);
    }
  }

  private error(e: unknown, action: string, key: string): NetwardenError {
    return s3Error(e, { bucket: this.bucket, key, action, location: this.location });
  }
}

function status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNoSuchBucket(e: unknown): boolean {
  return (e as { name?: string })?.name === "NoSuchBucket";
}

function isNotFound(e: unknown): boolean {
  const name = (e as { name?: string })?.name;
  return name === "NoSuchKey" || name === "NotFound" || (status(e) === 404 && !isNoSuchBucket(e));
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ECONNRESET",
  "EHOSTUNREACH",
]);

/** Maps an SDK error to a coded error. */
export function s3Error(
  e: unknown,
  at: { bucket: string; key: string; action: string; location: string },
): NetwardenError {
  if (e instanceof NetwardenError) return e;
  const err = e as { name?: string; code?: string; message?: string };
  const where = `s3://${at.bucket}/${at.key}`;
  const message = err?.message ?? String(e);
  if (isNoSuchBucket(e)) {
    return new NetwardenError(
      "NW_BACKEND_CONFIG",
      `bucket \`${at.bucket}\` does not exist at ${at.location}`,
      {
        where,
        hint: `Create it (e.g. \`aws s3 mb s3://${at.bucket}\`) or fix the bucket name`,
        cause: e,
      },
    );
  }
  const s = status(e);
  if (
    s === 403 ||
    ["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "CredentialsProviderError"].includes(
      err?.name ?? "",
    )
  ) {
    return new NetwardenError(
      "NW_BACKEND_UNAVAILABLE",
      `S3 refused the credentials to ${at.action} ${where} (${err?.name ?? s})`,
      {
        where,
        hint: "Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the role) and the bucket policy",
        cause: e,
      },
    );
  }
  if (
    NETWORK_CODES.has(err?.code ?? "") ||
    NETWORK_CODES.has(err?.name ?? "") ||
    /ECONNREFUSED|socket hang up/.test(message)
  ) {
    return new NetwardenError(
      "NW_BACKEND_UNAVAILABLE",
      `cannot reach S3 at ${at.location} to ${at.action} ${where}`,
      {
        where,
        hint: "Check that the endpoint is up and the address in ARTIFACT_STORE / AWS_ENDPOINT_URL is right",
        cause: e,
      },
    );
  }
  return new NetwardenError(
    "NW_STORE_IO",
    `S3 failed to ${at.action} ${where}: ${err?.name ?? ""} ${message}`.trim(),
    {
      where,
      hint:
        s !== undefined && s >= 500
          ? "The server kept failing after retries; try again later"
          : "Check the bucket and its settings",
      details: s !== undefined ? { httpStatus: s } : undefined,
      cause: e,
    },
  );
}
