import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { dataDir } from "../../core/index.js";
import type { Matrix } from "../types.js";

/** A labelled dataset for tests: row-major X, class indices y. */
export interface TestDataset {
  X: Matrix;
  y: Int32Array;
  featureNames: string[];
  classNames: string[];
}

let phishing: TestDataset | undefined;
let unsw: TestDataset | undefined;

/** UCI Phishing Websites: 30 features in {-1, 0, 1}; classes "-1" (phishing) = 0, "1" = 1. */
export function loadPhishing(): TestDataset {
  if (phishing) return phishing;
  const lines = readFileSync(join(dataDir(), "phishing_websites.csv"), "utf8").trim().split("\n");
  const header = lines[0].split(",");
  const target = header.indexOf("Result");
  const featureNames = header.filter((_, j) => j !== target);
  const n = lines.length - 1;
  const d = featureNames.length;
  const data = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const cells = lines[i + 1].split(",");
    let j2 = 0;
    for (let j = 0; j < cells.length; j++) {
      if (j === target) y[i] = cells[j] === "1" ? 1 : 0;
      else data[i * d + j2++] = Number(cells[j]);
    }
  }
  phishing = { X: { data, nRows: n, nCols: d, layout: "row" }, y, featureNames, classNames: ["-1", "1"] };
  return phishing;
}

const UNSW_NON_FEATURES = new Set(["id", "proto", "service", "state", "attack_cat", "label"]);

/** UNSW-NB15 testing partition, numeric columns only; y = attack_cat, classes sorted by name. */
export function loadUnswNumeric(): TestDataset {
  if (unsw) return unsw;
  const text = gunzipSync(readFileSync(join(dataDir(), "unsw_nb15_testing.csv.gz"))).toString("utf8");
  const lines = text.trim().split("\n");
  const header = lines[0].split(",");
  const target = header.indexOf("attack_cat");
  const keep = header.map((name, j) => (UNSW_NON_FEATURES.has(name) ? -1 : j)).filter((j) => j >= 0);
  const n = lines.length - 1;
  const d = keep.length;
  const data = new Float64Array(n * d);
  const labels: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const cells = lines[i + 1].split(",");
    for (let k = 0; k < d; k++) data[i * d + k] = Number(cells[keep[k]]);
    labels[i] = cells[target];
  }
  const classNames = [...new Set(labels)].sort();
  const code = new Map(classNames.map((c, k) => [c, k]));
  const y = Int32Array.from(labels, (l) => code.get(l) as number);
  unsw = {
    X: { data, nRows: n, nCols: d, layout: "row" },
    y,
    featureNames: keep.map((j) => header[j]),
    classNames,
  };
  return unsw;
}
