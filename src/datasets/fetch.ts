import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  dataDir,
  exists,
  NetwardenError,
  type Progress,
  sha256,
  silentProgress,
  writeFileAtomic,
} from "../core/index.js";
import { readZip } from "./zip.js";

export interface DatasetInfo {
  name: string;
  title: string;
  /** File name written into the output folder (the name the examples use). */
  file: string;
  /** sha256 of the normalised CSV text (UTF-8, no BOM, LF line endings). */
  csvSha256: string;
  rows: number;
  /** Direct download address, when the publisher offers a stable one. */
  url?: string;
  /** Landing page of the canonical source. */
  page: string;
  license: string;
}

export const DATASETS: readonly DatasetInfo[] = [
  {
    name: "phishing",
    title: "UCI Phishing Websites (Mohammad, Thabtah & McCluskey)",
    file: "phishing_websites.csv",
    csvSha256: "685e9fbdbe08c8b23fdb82e06cf5e154a8516e93f7b07f8a67328f17f86d0d72",
    rows: 11055,
    url: "https://archive.ics.uci.edu/static/public/327/phishing+websites.zip",
    page: "https://archive.ics.uci.edu/dataset/327/phishing+websites",
    license: "CC BY 4.0",
  },
  {
    name: "unsw-nb15-testing",
    title: "UNSW-NB15 official testing partition (Moustafa & Slay)",
    file: "unsw_nb15_testing.csv.gz",
    csvSha256: "e4d5f673a05f2e4b93233dcb57318a15016261fc76d4547767648485703d9930",
    rows: 82332,
    // UNSW hands the CSVs out through a SharePoint folder with no stable direct link: pass --url.
    page: "https://research.unsw.edu.au/projects/unsw-nb15-dataset",
    license: "free for academic research; commercial use needs the authors' permission",
  },
];

export function findDataset(name: string): DatasetInfo {
  const d = DATASETS.find((x) => x.name === name);
  if (!d) {
    throw new NetwardenError("NW_FETCH_UNKNOWN_DATASET", `no dataset is called "${name}"`, {
      hint: `Known datasets: ${DATASETS.map((x) => x.name).join(", ")}`,
    });
  }
  return d;
}

export interface FetchOptions {
  /** Download from here instead of the canonical address (a mirror, or file:// for a local copy). */
  url?: string;
  outDir: string;
  progress?: Progress;
  timeoutMs?: number;
}

export interface FetchResult {
  dataset: string;
  path: string;
  url: string;
  bytes: number;
  sha256: string;
}

/**
 * Downloads a dataset, turns what arrives (ZIP with ARFF or CSV, gzip, or plain CSV; BOM and CRLF
 * removed) into the CSV the examples read, and keeps it only if its sha256 is the known one.
 */
export async function fetchDataset(name: string, opts: FetchOptions): Promise<FetchResult> {
  const info = findDataset(name);
  const url = opts.url ?? info.url;
  if (!url) {
    throw new NetwardenError("NW_FETCH_FAILED", `${info.title} has no stable direct download address`, {
      hint: `Download the CSV from ${info.page} and run \`netwarden datasets fetch ${name} --url file:///path/to/file\``,
    });
  }
  const progress = opts.progress ?? silentProgress;
  const body = await download(url, progress, opts.timeoutMs ?? 120_000);
  const csv = normalise(toCsvText(body, url));
  const actual = sha256(csv);
  if (actual !== info.csvSha256) {
    throw new NetwardenError("NW_FETCH_CHECKSUM", `the data from ${url} is not the expected ${info.file}`, {
      hint: "The download is corrupt or a different version; nothing was written. Try again or use another mirror",
      details: { expected: info.csvSha256, actual, url },
    });
  }
  const bytes = info.file.endsWith(".gz") ? gzipSync(csv, { level: 9 }) : csv;
  const path = join(opts.outDir, info.file);
  await writeFileAtomic(path, bytes);
  return { dataset: name, path, url, bytes: bytes.length, sha256: actual };
}

async function download(url: string, progress: Progress, timeoutMs: number): Promise<Buffer> {
  if (url.startsWith("file:")) {
    try {
      return await readFile(fileURLToPath(url));
    } catch (e) {
      throw new NetwardenError("NW_FETCH_FAILED", `cannot read ${url}: ${(e as Error).message}`, {
        hint: "Check the path",
      });
    }
  }
  const task = progress.task(`downloading ${url}`);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "follow" });
  } catch (e) {
    task.done("failed");
    const why = (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message;
    throw new NetwardenError("NW_FETCH_FAILED", `cannot download ${url}: ${why}`, {
      hint: "Check the network (proxies, firewalls) or download the file by hand and pass --url file:///path",
    });
  }
  if (!res.ok || !res.body) {
    task.done(`HTTP ${res.status}`);
    throw new NetwardenError("NW_FETCH_FAILED", `downloading ${url} answered HTTP ${res.status}`, {
      hint: "Check the URL, or use a mirror with --url",
    });
  }
  const total = Number(res.headers.get("content-length")) || undefined;
  const chunks: Buffer[] = [];
  let got = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(Buffer.from(chunk));
      got += chunk.length;
      task.note(total ? `${mb(got)} / ${mb(total)}` : mb(got));
    }
  } catch (e) {
    task.done("failed");
    throw new NetwardenError(
      "NW_FETCH_FAILED",
      `the download from ${url} broke off: ${(e as Error).message}`,
      {
        hint: "Try again",
      },
    );
  }
  task.done(mb(got));
  return Buffer.concat(chunks);
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

function toCsvText(body: Buffer, url: string): string {
  if (body.length >= 4 && body.readUInt32LE(0) === 0x04034b50) {
    const entries = readZip(body, url);
    const pick =
      entries.find((e) => /\.arff$/i.test(e.name) && !e.name.startsWith("__MACOSX")) ??
      entries.find((e) => /\.csv$/i.test(e.name) && !e.name.startsWith("__MACOSX"));
    if (!pick) {
      throw new NetwardenError("NW_FETCH_FAILED", `the archive from ${url} holds no .arff or .csv file`, {
        hint: `It holds: ${entries.map((e) => e.name).join(", ")}`,
      });
    }
    const text = pick.data().toString("utf8");
    return /\.arff$/i.test(pick.name) ? arffToCsv(text) : text;
  }
  if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) return gunzipSync(body).toString("utf8");
  const text = body.toString("utf8");
  return /^\s*(%.*\n\s*)*@relation/i.test(text) ? arffToCsv(text) : text;
}

/** ARFF → CSV: attribute names become the header, the @data lines the rows (values unchanged). */
export function arffToCsv(arff: string): string {
  const names: string[] = [];
  const rows: string[] = [];
  let inData = false;
  for (const rawLine of arff.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line || line.startsWith("%")) continue;
    if (inData) {
      rows.push(line);
      continue;
    }
    const attr = /^@attribute\s+('([^']*)'|"([^"]*)"|(\S+))/i.exec(line);
    if (attr) names.push(attr[2] ?? attr[3] ?? attr[4]);
    else if (/^@data\b/i.test(line)) inData = true;
  }
  return `${[names.join(","), ...rows].join("\n")}\n`;
}

function normalise(text: string): string {
  let t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  t = t.replace(/\r\n?/g, "\n");
  return t.endsWith("\n") ? t : `${t}\n`;
}

/**
 * Where a dataset already is: the data folder (NETWARDEN_DATA_DIR, default ../shared/data), then
 * the store's own download folder `<home>/datasets`.
 */
export async function locateDataset(name: string, home: string): Promise<string | undefined> {
  const info = findDataset(name);
  for (const dir of [dataDir(), join(home, "datasets")]) {
    const p = join(dir, info.file);
    if (await exists(p)) return p;
  }
  return undefined;
}
