import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync, gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataDir } from "../core/index.js";
import { arffToCsv, fetchDataset } from "./fetch.js";
import { writeZip } from "./zip.js";

const phishingCsv = readFileSync(join(dataDir(), "phishing_websites.csv"));
const unswCsv = gunzipSync(readFileSync(join(dataDir(), "unsw_nb15_testing.csv.gz")));

/** The ARFF form UCI distributes, rebuilt from the CSV (ARFF header, then the same rows). */
function phishingArff(): Buffer {
  const [header, ...rows] = phishingCsv.toString("utf8").trimEnd().split("\n");
  const attrs = header.split(",").map((n) => `@attribute ${n} { -1,0,1 }`);
  return Buffer.from(["@relation phishing", "", ...attrs, "", "@data", ...rows, ""].join("\r\n"));
}

const routes: Record<string, Buffer> = {
  "/phishing_websites.csv": phishingCsv,
  "/phishing+websites.zip": writeZip(
    [
      { name: "Training Dataset.arff", data: phishingArff() },
      { name: "notes.txt", data: Buffer.from("not the data") },
    ],
    deflateRawSync,
  ),
  // The upstream UNSW-NB15 file carries a BOM and CRLF line endings.
  "/UNSW_NB15_testing-set.csv": Buffer.concat([
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from(unswCsv.toString("utf8").replace(/\n/g, "\r\n")),
  ]),
  "/unsw_nb15_testing.csv.gz": gzipSync(unswCsv),
  "/corrupt.csv": Buffer.from(phishingCsv.toString("utf8").replace("-1,1,1,1", "-1,1,1,0")),
};

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const body = routes[req.url ?? ""];
    if (!body) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-length": body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("datasets fetch", () => {
  it("downloads the phishing CSV and checks its sha256", async () => {
    const out = await mkdtemp(join(tmpdir(), "nw-fetch-"));
    const r = await fetchDataset("phishing", { url: `${base}/phishing_websites.csv`, outDir: out });
    expect(r.path).toBe(join(out, "phishing_websites.csv"));
    expect(sha(readFileSync(r.path))).toBe(
      "685e9fbdbe08c8b23fdb82e06cf5e154a8516e93f7b07f8a67328f17f86d0d72",
    );
  });

  it("turns UCI's ZIP with the ARFF file into the same CSV", async () => {
    const out = await mkdtemp(join(tmpdir(), "nw-fetch-"));
    const r = await fetchDataset("phishing", { url: `${base}/phishing+websites.zip`, outDir: out });
    expect(readFileSync(r.path).equals(phishingCsv)).toBe(true);
  });

  it("normalises the upstream UNSW-NB15 file (BOM, CRLF) and stores it gzipped", async () => {
    const out = await mkdtemp(join(tmpdir(), "nw-fetch-"));
    const r = await fetchDataset("unsw-nb15-testing", {
      url: `${base}/UNSW_NB15_testing-set.csv`,
      outDir: out,
    });
    expect(r.path).toBe(join(out, "unsw_nb15_testing.csv.gz"));
    expect(sha(gunzipSync(readFileSync(r.path)))).toBe(
      "e4d5f673a05f2e4b93233dcb57318a15016261fc76d4547767648485703d9930",
    );
    const again = await fetchDataset("unsw-nb15-testing", {
      url: `${base}/unsw_nb15_testing.csv.gz`,
      outDir: out,
    });
    expect(again.sha256).toBe(r.sha256);
  });

  it("rejects a file whose content differs, and writes nothing", async () => {
    const out = await mkdtemp(join(tmpdir(), "nw-fetch-"));
    await expect(fetchDataset("phishing", { url: `${base}/corrupt.csv`, outDir: out })).rejects.toMatchObject(
      {
        code: "NW_FETCH_CHECKSUM",
      },
    );
    expect(readdirSync(out)).toEqual([]);
  });

  it("reports HTTP errors, unreachable hosts and unknown names with codes", async () => {
    const out = await mkdtemp(join(tmpdir(), "nw-fetch-"));
    await expect(fetchDataset("phishing", { url: `${base}/missing.csv`, outDir: out })).rejects.toMatchObject(
      {
        code: "NW_FETCH_FAILED",
        message: expect.stringContaining("HTTP 404"),
      },
    );
    await expect(
      fetchDataset("phishing", { url: "http://127.0.0.1:1/x.csv", outDir: out }),
    ).rejects.toMatchObject({
      code: "NW_FETCH_FAILED",
    });
    await expect(fetchDataset("mnist", { outDir: out })).rejects.toMatchObject({
      code: "NW_FETCH_UNKNOWN_DATASET",
    });
    await expect(fetchDataset("unsw-nb15-testing", { outDir: out })).rejects.toMatchObject({
      code: "NW_FETCH_FAILED",
      hint: expect.stringContaining("--url"),
    });
    expect(readdirSync(out)).toEqual([]);
  });

  it("converts ARFF with quoted names and comments", () => {
    const csv = arffToCsv(
      "% comment\n@RELATION r\n@ATTRIBUTE 'a b' NUMERIC\n@attribute c {x,y}\n@DATA\n1,x\n% c\n2,y\n",
    );
    expect(csv).toBe("a b,c\n1,x\n2,y\n");
  });
});
