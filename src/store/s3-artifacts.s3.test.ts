import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import { dataDir, sha256 } from "../core/index.js";
import { parseS3Url, S3ArtifactStore } from "./s3-artifacts.js";
import { artifactStoreConformance, expectCode } from "./test-support/conformance.js";

// Runs against a real S3 API (moto_server in CI, MinIO-style settings): NETWARDEN_TEST_S3_ENDPOINT.
const endpoint = process.env.NETWARDEN_TEST_S3_ENDPOINT ?? "";
const credentials = { accessKeyId: "netwarden", secretAccessKey: "netwarden-secret" };
const UNSW_CSV_SHA256 = "e4d5f673a05f2e4b93233dcb57318a15016261fc76d4547767648485703d9930";

function rawClient(at = endpoint): S3Client {
  return new S3Client({ region: "us-east-1", endpoint: at, forcePathStyle: true, credentials });
}

async function freshBucket(): Promise<string> {
  const bucket = `nw-test-${randomBytes(5).toString("hex")}`;
  const client = rawClient();
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  return bucket;
}

function storeAt(
  bucket: string,
  prefix = "team/netwarden",
  at = endpoint,
  maxAttempts?: number,
): S3ArtifactStore {
  return new S3ArtifactStore(
    { bucket, prefix, endpoint: at, region: "us-east-1", forcePathStyle: true },
    { credentials, ...(maxAttempts ? { maxAttempts } : {}), partSize: 5 * 1024 * 1024 },
  );
}

/** An HTTP proxy to the S3 endpoint that answers 503 to the first `failFirst` requests. */
async function flakyProxy(
  failFirst: number,
): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  const target = new URL(endpoint);
  let seen = 0;
  const server: Server = createServer((req, res) => {
    seen++;
    if (seen <= failFirst) {
      req.resume();
      res.writeHead(503, { "content-type": "application/xml" });
      res.end("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
      return;
    }
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const stores: S3ArtifactStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
});

describe.skipIf(!endpoint)("S3ArtifactStore (NETWARDEN_TEST_S3_ENDPOINT)", () => {
  artifactStoreConformance("S3ArtifactStore", async () => storeAt(await freshBucket()), {
    async corrupt(store, hash) {
      // What a bad copy or a hand edit does: the object is rewritten with other bytes, and even
      // keeps the metadata that names the original hash.
      const s3 = store as S3ArtifactStore;
      const key = s3.blobKey(hash);
      const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
      const bytes = await got.Body!.transformToByteArray();
      bytes[bytes.length >> 1] ^= 0x01;
      await s3.client.send(
        new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: bytes, Metadata: got.Metadata }),
      );
    },
  });

  it("lays blobs out under the prefix as artifacts/sha256/<ab>/<hash>, tagged with their sha256", async () => {
    const bucket = await freshBucket();
    const store = storeAt(bucket);
    stores.push(store);
    const { hash } = await store.put(new TextEncoder().encode("abc"));
    expect(store.blobKey(hash)).toBe(`team/netwarden/artifacts/sha256/ba/${hash}`);
    const head = await store.client.send(new HeadObjectCommand({ Bucket: bucket, Key: store.blobKey(hash) }));
    expect(head.ContentLength).toBe(3);
    expect(head.Metadata?.sha256).toBe(hash);
    await store.putObject("reports/drift.json", new TextEncoder().encode("{}"));
    const raw = await store.client.send(
      new GetObjectCommand({ Bucket: bucket, Key: "team/netwarden/objects/reports/drift.json" }),
    );
    expect(await raw.Body!.transformToString()).toBe("{}");
    expect(store.location).toBe(`s3://${bucket}/team/netwarden (${endpoint})`);
  });

  it("uploads a large blob in parts and reads back the exact bytes (UNSW-NB15, 15 MB)", async () => {
    const bytes = gunzipSync(await readFile(join(dataDir(), "unsw_nb15_testing.csv.gz")));
    const store = storeAt(await freshBucket());
    stores.push(store);
    const put = await store.put(bytes);
    expect(put).toEqual({ hash: UNSW_CSV_SHA256, size: bytes.byteLength });
    const head = await store.client.send(
      new HeadObjectCommand({ Bucket: store.bucket, Key: store.blobKey(put.hash) }),
    );
    // A multipart object's ETag ends in "-<number of parts>": 15.4 MB in 5 MiB parts is 3 parts.
    expect(head.ETag).toMatch(/-3"$/);
    const got = await store.get(put.hash);
    expect(sha256(got)).toBe(UNSW_CSV_SHA256);
  });

  it("a changed object is refused on every read, never returned", async () => {
    const store = storeAt(await freshBucket());
    stores.push(store);
    const bundle = await readFile(join(dataDir(), "phishing_websites.csv"));
    const { hash } = await store.put(bundle);
    const key = store.blobKey(hash);
    await store.client.send(
      new PutObjectCommand({
        Bucket: store.bucket,
        Key: key,
        Body: bundle.subarray(0, 1000),
        Metadata: { sha256: hash },
      }),
    );
    for (let i = 0; i < 2; i++) {
      const err = await expectCode(store.get(hash), "NW_STORE_CORRUPT");
      expect(err.where).toBe(`s3://${store.bucket}/${key}`);
      expect(err.details).toMatchObject({ hash, actual: sha256(bundle.subarray(0, 1000)) });
    }
    expect(await store.has(hash)).toBe(true);
  });

  it("retries a throttled request with backoff and succeeds", async () => {
    const bucket = await freshBucket();
    const proxy = await flakyProxy(2);
    const store = storeAt(bucket, "p", proxy.url);
    try {
      const { hash } = await store.put(new TextEncoder().encode("retry me"));
      expect(new TextDecoder().decode(await store.get(hash))).toBe("retry me");
      // 2 refused + the GET that found no copy + the PUT + the final GET.
      expect(proxy.requests()).toBe(5);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it("gives up after the configured attempts with NW_STORE_IO", async () => {
    const proxy = await flakyProxy(1000);
    const store = storeAt(await freshBucket(), "p", proxy.url, 3);
    try {
      const err = await expectCode(store.getObject("reports/x.json"), "NW_STORE_IO");
      expect(err.message).toContain("SlowDown");
      expect(proxy.requests()).toBe(3);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it("a bucket that does not exist is NW_BACKEND_CONFIG naming it", async () => {
    const store = storeAt("nw-no-such-bucket-here");
    stores.push(store);
    const err = await expectCode(store.put(new Uint8Array([1])), "NW_BACKEND_CONFIG");
    expect(err.message).toContain("nw-no-such-bucket-here");
    expect(err.hint).toContain("aws s3 mb s3://nw-no-such-bucket-here");
  });
});

describe("S3ArtifactStore without a server", () => {
  it("reads s3:// locations with their settings", () => {
    expect(parseS3Url("s3://models/prod/netwarden/", {})).toEqual({
      bucket: "models",
      prefix: "prod/netwarden",
      region: "us-east-1",
      forcePathStyle: false,
    });
    expect(
      parseS3Url("s3://models?endpoint=http://127.0.0.1:9000&region=eu-west-1", { AWS_REGION: "us-west-2" }),
    ).toEqual({
      bucket: "models",
      prefix: "",
      endpoint: "http://127.0.0.1:9000",
      region: "eu-west-1",
      forcePathStyle: true,
    });
    expect(
      parseS3Url("s3://models/x", {
        AWS_ENDPOINT_URL_S3: "http://minio:9000",
        AWS_REGION: "eu-central-1",
        NETWARDEN_S3_PATH_STYLE: "false",
      }),
    ).toEqual({
      bucket: "models",
      prefix: "x",
      endpoint: "http://minio:9000",
      region: "eu-central-1",
      forcePathStyle: false,
    });
  });

  it("refuses malformed locations with NW_BACKEND_CONFIG", () => {
    for (const bad of [
      "models/prefix",
      "file:///tmp/x",
      "s3://Upper_Case/x",
      "s3://ok-bucket/../escape",
      "s3://ok-bucket/x?endpoint=ftp://h",
      "s3://ok-bucket/x?pathstyle=true",
      "s3://ok-bucket/x?path_style=maybe",
    ]) {
      let code: string | undefined;
      try {
        parseS3Url(bad, {});
      } catch (e) {
        code = (e as { code?: string }).code;
      }
      expect(code, bad).toBe("NW_BACKEND_CONFIG");
    }
  });

  it("an endpoint nobody listens on is NW_BACKEND_UNAVAILABLE", async () => {
    const store = storeAt("some-bucket", "p", "http://127.0.0.1:1", 2);
    stores.push(store);
    const err = await expectCode(store.has("a".repeat(64)), "NW_BACKEND_UNAVAILABLE");
    expect(err.message).toContain("http://127.0.0.1:1");
  });
});
