// Datasets of the training benchmark, prepared once per run into flat binary files that both
// sides (netwarden and the Python reference) read, so they train on the same numbers, the same
// split and the same folds.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

/** Rows of dataset (b): the training rows of (a) repeated. */
export const BIG_ROWS = 1_000_000;

/**
 * Parses a CSV of plain cells (no quotes: true of both shared files). Columns in `categorical`
 * become ordinal codes in sorted order of their values; `target` becomes class indices in sorted
 * order of the class names; `drop` columns are skipped.
 */
function parseCsv(text, { target, drop, categorical }) {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const header = lines[0].split(",");
  const keep = [];
  for (let j = 0; j < header.length; j++) if (header[j] !== target && !drop.includes(header[j])) keep.push(j);
  const t = header.indexOf(target);
  const n = lines.length - 1;
  const d = keep.length;
  const cells = lines.slice(1).map((l) => l.split(","));
  const dicts = keep.map((j) =>
    categorical.includes(header[j])
      ? new Map([...new Set(cells.map((c) => c[j]))].sort().map((v, k) => [v, k]))
      : null,
  );
  const classNames = [...new Set(cells.map((c) => c[t]))].sort();
  const classOf = new Map(classNames.map((c, k) => [c, k]));
  const X = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = cells[i];
    for (let k = 0; k < d; k++) {
      const v = c[keep[k]];
      X[i * d + k] = dicts[k] ? dicts[k].get(v) : Number(v);
    }
    y[i] = classOf.get(c[t]);
  }
  return {
    X,
    y,
    nRows: n,
    nCols: d,
    featureNames: keep.map((j) => header[j]),
    categorical: keep.map((_, k) => (dicts[k] ? k : -1)).filter((k) => k >= 0),
    classNames,
  };
}

function writeSet(dir, name, ds, extra) {
  const meta = {
    name,
    nRows: ds.nRows,
    nCols: ds.nCols,
    dtype: ds.X instanceof Float32Array ? "float32" : "float64",
    featureNames: ds.featureNames,
    categorical: ds.categorical,
    classNames: ds.classNames,
    ...extra.meta,
  };
  writeFileSync(join(dir, `${name}.X.bin`), ds.X);
  writeFileSync(join(dir, `${name}.y.bin`), ds.y);
  for (const [k, v] of Object.entries(extra.arrays)) writeFileSync(join(dir, `${name}.${k}.bin`), v);
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(meta, null, 1));
  return meta;
}

/**
 * Writes the three datasets into `dir`:
 * - unsw: UNSW-NB15 testing partition, attack_cat (10 classes), `id`/`label` dropped, proto,
 *   service and state ordinal-coded; `test.bin` = 0/1 per row of a stratified seeded 80/20 split;
 * - unsw1m: the training rows of `unsw` repeated to BIG_ROWS rows (float32), for throughput and
 *   memory;
 * - phishing: UCI phishing, `fold.bin` = fold (0..9) of each row in a stratified seeded 10-fold CV.
 */
export async function prepareData(dataDir, dir, ml) {
  mkdirSync(dir, { recursive: true });
  const unswText = gunzipSync(readFileSync(join(dataDir, "unsw_nb15_testing.csv.gz"))).toString("utf8");
  const unsw = parseCsv(unswText, {
    target: "attack_cat",
    drop: ["id", "label"],
    categorical: ["proto", "service", "state"],
  });
  const split = ml.stratifiedHoldout(unsw.y, 0.2, 42);
  const isTest = new Uint8Array(unsw.nRows);
  for (const i of split.test) isTest[i] = 1;
  const metas = {};
  metas.unsw = writeSet(dir, "unsw", unsw, {
    meta: { source: "unsw_nb15_testing.csv.gz", split: "stratified 80/20, seed 42" },
    arrays: { test: isTest },
  });

  const train = split.train;
  const big = new Float32Array(BIG_ROWS * unsw.nCols);
  const bigY = new Int32Array(BIG_ROWS);
  for (let i = 0; i < BIG_ROWS; i++) {
    const r = train[i % train.length];
    big.set(unsw.X.subarray(r * unsw.nCols, (r + 1) * unsw.nCols), i * unsw.nCols);
    bigY[i] = unsw.y[r];
  }
  metas.unsw1m = writeSet(
    dir,
    "unsw1m",
    { ...unsw, X: big, y: bigY, nRows: BIG_ROWS },
    { meta: { source: "training rows of unsw, repeated" }, arrays: {} },
  );

  const phish = parseCsv(readFileSync(join(dataDir, "phishing_websites.csv"), "utf8"), {
    target: "Result",
    drop: [],
    categorical: [],
  });
  const folds = ml.stratifiedKFold(phish.y, 10, 42);
  const foldOf = new Int32Array(phish.nRows);
  folds.forEach((f, k) => {
    for (const i of f.test) foldOf[i] = k;
  });
  metas.phishing = writeSet(dir, "phishing", phish, {
    meta: { source: "phishing_websites.csv", folds: "stratified 10-fold, seed 42" },
    arrays: { fold: foldOf },
  });
  return metas;
}

/** Reads a prepared dataset back (netwarden side). */
export function loadData(dir, name) {
  const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
  const bytes = (k) => {
    const b = readFileSync(join(dir, `${name}.${k}.bin`));
    // Large reads own their buffer: use it as it is rather than copying (peak memory is measured).
    if (b.byteOffset === 0 && b.buffer.byteLength === b.byteLength) return b.buffer;
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  };
  const X = meta.dtype === "float32" ? new Float32Array(bytes("X")) : new Float64Array(bytes("X"));
  const y = new Int32Array(bytes("y"));
  const test = meta.split ? new Uint8Array(bytes("test")) : null;
  const fold = meta.folds ? new Int32Array(bytes("fold")) : null;
  return { meta, X, y, test, fold };
}
