import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import { fingerprintTable } from "../fingerprint.js";
import { parseS3ObjectUrl, readS3 } from "./s3.js";
import {
  expectCode,
  PHISHING_CSV,
  parquetColumns,
  phishing,
  UNSW_CSV_GZ,
  unsw,
} from "./test-support/datasets.js";
import { writeParquet } from "./test-support/parquet-writer.js";

// Runs against a real S3 API (moto_server in CI): NETWARDEN_TEST_S3_ENDPOINT.
const endpoint = process.env.NETWARDEN_TEST_S3_ENDPOINT ?? "";
const env = {
  AWS_ACCESS_KEY_ID: "netwarden",
  AWS_SECRET_ACCESS_KEY: "netwarden-secret",
  AWS_ENDPOINT_URL_S3: endpoint,
};
const bucket = `nw-src-${randomBytes(4).toString("hex")}`;
const client = new S3Client({
  region: "us-east-1",
  endpoint: endpoint || "http://127.0.0.1:1",
  forcePathStyle: true,
  credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
});
afterAll(() => client.destroy());

async function put(key: string, body: Uint8Array | string): Promise<string> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return `s3://${bucket}/${key}`;
}

describe.skipIf(!endpoint)("S3 source (NETWARDEN_TEST_S3_ENDPOINT)", () => {
  // The AWS SDK reads credentials from the environment, as in production.
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY,
  });

  it("CSV, gzip CSV and Parquet objects give the same Tables as the local files", async () => {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const ph = await phishing();
    const csvUrl = await put("raw/phishing_websites.csv", await readFile(PHISHING_CSV));
    const fromCsv = await readS3({ url: csvUrl }, { schema: ph.schema, env });
    expect(fromCsv.label).toBe(`s3://${bucket}/raw/phishing_websites.csv`);
    expect(fingerprintTable(fromCsv.table)).toBe(fingerprintTable(ph.table));

    const parquetUrl = await put("curated/phishing.parquet", writeParquet(parquetColumns(ph.table)));
    const fromParquet = await readS3({ url: parquetUrl }, { schema: ph.schema, env });
    expect(fingerprintTable(fromParquet.table)).toBe(fingerprintTable(ph.table));

    const un = await unsw();
    const gzUrl = await put("raw/unsw_nb15_testing.csv.gz", await readFile(UNSW_CSV_GZ));
    const fromGz = await readS3({ url: gzUrl }, { schema: un.schema, env });
    expect(fromGz.table.nRows).toBe(82332);
    expect(fingerprintTable(fromGz.table)).toBe(fingerprintTable(un.table));
  });

  it("problems name the object, not a temporary file", async () => {
    const ph = await phishing();
    const url = await put("bad/broken.csv", 'having_IP_Address,Result\n"1,1\n');
    const err = await expectCode(readS3({ url }, { schema: ph.schema, env }), "NW_DATA_MALFORMED");
    expect(err.message).toContain(`s3://${bucket}/bad/broken.csv: a quoted field is never closed`);
    expect(err.where).toBe(`s3://${bucket}/bad/broken.csv:2`);
    expect(err.message).not.toContain("nw-s3-source-");
    const missing = await expectCode(
      readS3({ url: `s3://${bucket}/nope.csv` }, { schema: ph.schema, env }),
      "NW_DATA_NOT_FOUND",
    );
    expect(missing.message).toContain(`s3://${bucket}/nope.csv`);
  });
});

describe("S3 source settings", () => {
  it("reads s3://bucket/key with endpoint, region and path style", () => {
    expect(
      parseS3ObjectUrl("s3://data/raw/x.csv?endpoint=http://127.0.0.1:9000", {}, "data.source.url"),
    ).toEqual({
      bucket: "data",
      key: "raw/x.csv",
      endpoint: "http://127.0.0.1:9000",
      region: "us-east-1",
      forcePathStyle: true,
    });
    expect(parseS3ObjectUrl("s3://data/x.parquet", { AWS_REGION: "eu-west-1" }, "u")).toEqual({
      bucket: "data",
      key: "x.parquet",
      region: "eu-west-1",
      forcePathStyle: false,
    });
    for (const bad of ["s3://data/", "s3://data/folder/", "http://data/x.csv", "s3://data/x.csv?foo=1"]) {
      expect(() => parseS3ObjectUrl(bad, {}, "data.source.url"), bad).toThrow(
        expect.objectContaining({ code: "NW_BACKEND_CONFIG" }) as unknown as Error,
      );
    }
  });
});
