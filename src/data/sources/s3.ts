/**
 * CSV and Parquet objects in S3 (or any S3-compatible store) as a data source. A CSV object is
 * streamed to a temporary file and read by the CSV reader itself, so it gives exactly the Table the
 * same file gives locally (gzip included); a Parquet object is read from memory.
 *
 * `url` is s3://bucket/key[?endpoint=…&region=…&path_style=true]; without them, the endpoint comes
 * from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, the region from AWS_REGION / AWS_DEFAULT_REGION
 * (default us-east-1), credentials from the AWS SDK's usual chain (AWS_ACCESS_KEY_ID, …).
 */
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { NetwardenError, type Progress } from "../../core/index.js";
import { readCsv } from "../csv.js";
import type { DataSchema } from "../schema.js";
import type { SourceReadResult } from "./builder.js";
import { readParquetBytes } from "./parquet.js";

export interface S3SourceSpec {
  url: string;
  /** Default: from the key's extension (.parquet/.pq → parquet, otherwise csv). */
  format?: "csv" | "parquet";
  delimiter?: string;
  header?: boolean | "auto";
}

export interface S3ObjectLocation {
  bucket: string;
  key: string;
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
}

/** Reads s3://bucket/key and its settings; NW_BACKEND_CONFIG when it has the wrong form. */
export function parseS3ObjectUrl(value: string, env: NodeJS.ProcessEnv, where: string): S3ObjectLocation {
  const bad = (why: string) =>
    new NetwardenError("NW_BACKEND_CONFIG", `${where} \`${value}\` is not an S3 object: ${why}`, {
      where,
      hint: "Use s3://bucket/path/to/data.csv, optionally with ?endpoint=http://host:9000&region=us-east-1&path_style=true",
    });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad("it is not a URL");
  }
  if (url.protocol !== "s3:") throw bad(`its scheme is \`${url.protocol.replace(/:$/, "")}\`, not s3`);
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(url.hostname)) throw bad("the bucket name is not valid");
  const key = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!key || key.endsWith("/")) throw bad("it names a bucket or folder, not an object");
  for (const k of url.searchParams.keys()) {
    if (!["endpoint", "region", "path_style"].includes(k))
      throw bad(`unknown setting \`${k}\` (known: endpoint, region, path_style)`);
  }
  const endpoint =
    url.searchParams.get("endpoint") || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const style = url.searchParams.get("path_style") ?? env.NETWARDEN_S3_PATH_STYLE ?? "";
  return {
    bucket: url.hostname,
    key,
    ...(endpoint ? { endpoint } : {}),
    region: url.searchParams.get("region") || env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1",
    forcePathStyle: style === "" ? endpoint !== undefined : style === "true" || style === "1",
  };
}

export function formatOf(spec: S3SourceSpec, key: string): "csv" | "parquet" {
  if (spec.format) return spec.format;
  return /\.(parquet|pq)$/i.test(key) ? "parquet" : "csv";
}

/** Reads a CSV or Parquet object into a Table, typed by the schema. */
export async function readS3(
  spec: S3SourceSpec,
  options: { schema: DataSchema; progress?: Progress; where?: string; env?: NodeJS.ProcessEnv },
): Promise<SourceReadResult> {
  const where = options.where ?? "data.source";
  const loc = parseS3ObjectUrl(spec.url, options.env ?? process.env, `${where}.url`);
  const label = `s3://${loc.bucket}/${loc.key}`;
  const client = new S3Client({
    region: loc.region,
    ...(loc.endpoint ? { endpoint: loc.endpoint } : {}),
    forcePathStyle: loc.forcePathStyle,
    maxAttempts: 5,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const dir = await mkdtemp(join(tmpdir(), "nw-s3-source-"));
  try {
    let body: Readable;
    try {
      const r = await client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
      body = r.Body as Readable;
    } catch (e) {
      throw s3SourceError(e, label, `${where}.url`);
    }
    const task = options.progress?.task(`downloading ${label}`);
    const file = join(dir, basename(loc.key));
    try {
      await pipeline(body, createWriteStream(file));
    } catch (e) {
      throw s3SourceError(e, label, `${where}.url`);
    }
    task?.done();
    if (formatOf(spec, loc.key) === "parquet") {
      return await readParquetBytes(await readFile(file), {
        schema: options.schema,
        progress: options.progress,
        label,
      });
    }
    try {
      const r = await readCsv(file, {
        schema: options.schema,
        delimiter: spec.delimiter,
        header: spec.header,
      });
      return {
        table: r.table,
        rowIssues: r.rowIssues,
        lineOf: r.lineOf,
        header: r.header,
        unexpectedColumns: r.unexpectedColumns,
        label,
      };
    } catch (e) {
      // Name the object, not the temporary file, in what the user sees.
      if (e instanceof NetwardenError) {
        const fix = (s: string | undefined) => s?.replaceAll(file, label);
        throw new NetwardenError(e.code, fix(e.message) as string, {
          where: fix(e.where),
          hint: e.hint,
          details: e.details,
          cause: e.cause,
        });
      }
      throw e;
    }
  } finally {
    client.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

function s3SourceError(e: unknown, label: string, where: string): NetwardenError {
  if (e instanceof NetwardenError) return e;
  const err = e as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const status = err?.$metadata?.httpStatusCode;
  if (err?.name === "NoSuchKey" || err?.name === "NoSuchBucket" || status === 404) {
    return new NetwardenError("NW_DATA_NOT_FOUND", `${label} does not exist (${err?.name ?? status})`, {
      where,
      hint: "Check the bucket and key (and the endpoint, for S3-compatible stores)",
      cause: e,
    });
  }
  if (
    status === 403 ||
    ["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "CredentialsProviderError"].includes(
      err?.name ?? "",
    )
  ) {
    return new NetwardenError(
      "NW_BACKEND_UNAVAILABLE",
      `S3 refused the credentials to read ${label} (${err?.name ?? status})`,
      {
        where,
        hint: "Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the role) and the bucket policy",
        cause: e,
      },
    );
  }
  if (
    /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|socket hang up/.test(
      `${err?.code ?? ""} ${err?.name ?? ""} ${err?.message ?? ""}`,
    )
  ) {
    return new NetwardenError("NW_BACKEND_UNAVAILABLE", `cannot reach S3 to read ${label}`, {
      where,
      hint: "Check that the endpoint is up and its address (url's ?endpoint= or AWS_ENDPOINT_URL)",
      cause: e,
    });
  }
  return new NetwardenError(
    "NW_SOURCE_FAILED",
    `S3 could not serve ${label}: ${err?.name ?? ""} ${err?.message ?? String(e)}`.trim(),
    {
      where,
      hint: "Check the object and the bucket's settings",
      cause: e,
    },
  );
}
