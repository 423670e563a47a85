// netwarden side of one benchmark case, run in its own process so its peak memory is its own.
// Usage: node bench/train/nw-case.mjs '<case JSON>'; prints one JSON line with the measurements and
// writes the predicted labels to case.predictions.
import { readFileSync, writeFileSync } from "node:fs";
import { loadData } from "./data.mjs";

const spec = JSON.parse(process.argv[2]);
const ml = await import(new URL("../../dist/ml/index.js", import.meta.url).href);

const { meta, X, y, test, fold } = loadData(spec.dataDir, spec.dataset);
const d = meta.nCols;
const K = meta.classNames.length;

function rowsWhere(pred) {
  const out = [];
  for (let i = 0; i < meta.nRows; i++) if (pred(i)) out.push(i);
  return Int32Array.from(out);
}

function take(rows) {
  const data = new X.constructor(rows.length * d);
  for (let k = 0; k < rows.length; k++) data.set(X.subarray(rows[k] * d, rows[k] * d + d), k * d);
  return { data, nRows: rows.length, nCols: d, layout: "row" };
}

const labels = (rows) => Int32Array.from(rows, (i) => y[i]);

async function fitModel(Xm, ym) {
  const learner = ml.createLearner(spec.kind, spec.params);
  const t0 = performance.now();
  const model = await learner.fit(Xm, ym, { nClasses: K, featureNames: meta.featureNames });
  return { model, seconds: (performance.now() - t0) / 1000 };
}

function argmax(proba, n) {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let b = 0;
    for (let k = 1; k < K; k++) if (proba[i * K + k] > proba[i * K + b]) b = k;
    out[i] = b;
  }
  return out;
}

/** Latency of predictProba on one row at a time (µs): warm-up, then `n` timed calls. */
function singleRow(model, Xm, n = 2000) {
  const row = { data: new Float64Array(d), nRows: 1, nCols: d, layout: "row" };
  const times = new Float64Array(n);
  for (let r = 0; r < 300 + n; r++) {
    const i = r % Xm.nRows;
    for (let j = 0; j < d; j++) row.data[j] = Xm.data[i * d + j];
    const t0 = process.hrtime.bigint();
    model.predictProba(row);
    const t1 = process.hrtime.bigint();
    if (r >= 300) times[r - 300] = Number(t1 - t0) / 1000;
  }
  times.sort();
  return { p50: times[Math.floor(n * 0.5)], p99: times[Math.floor(n * 0.99)] };
}

function batch(model, Xm) {
  model.predictProba(take(Int32Array.from({ length: Math.min(1000, Xm.nRows) }, (_, i) => i)));
  const t0 = performance.now();
  const proba = model.predictProba(Xm);
  const s = (performance.now() - t0) / 1000;
  return { proba, rowsPerSecond: Xm.nRows / s };
}

const result = { side: "netwarden", kind: spec.kind };
let predictions;
if (spec.mode === "holdout") {
  const trainRows = rowsWhere((i) => !test[i]);
  const testRows = rowsWhere((i) => test[i] === 1);
  const Xte = take(testRows);
  const { model, seconds } = await fitModel(take(trainRows), labels(trainRows));
  result.fitSeconds = seconds;
  const b = batch(model, Xte);
  result.predictRowsPerSecond = b.rowsPerSecond;
  predictions = argmax(b.proba, Xte.nRows);
  Object.assign(result, singleRow(model, Xte));
  if (typeof model.oobScore === "number") result.oobScore = model.oobScore;
} else if (spec.mode === "throughput") {
  const Xall = { data: X, nRows: meta.nRows, nCols: d, layout: "row" };
  const { model, seconds } = await fitModel(Xall, y);
  result.fitSeconds = seconds;
  const b = batch(model, Xall);
  result.predictRowsPerSecond = b.rowsPerSecond;
  result.trees = model.ensemble?.nTrees;
} else {
  predictions = new Int32Array(meta.nRows);
  let total = 0;
  const nFolds = Math.max(...fold) + 1;
  for (let k = 0; k < nFolds; k++) {
    const trainRows = rowsWhere((i) => fold[i] !== k);
    const testRows = rowsWhere((i) => fold[i] === k);
    const { model, seconds } = await fitModel(take(trainRows), labels(trainRows));
    total += seconds;
    const pred = argmax(model.predictProba(take(testRows)), testRows.length);
    testRows.forEach((r, j) => {
      predictions[r] = pred[j];
    });
  }
  result.fitSeconds = total;
}
if (predictions) writeFileSync(spec.predictions, predictions);
const status = readFileSync("/proc/self/status", "utf8");
const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
result.peakRssMB = hwm ? Number(hwm[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
process.stdout.write(`${JSON.stringify(result)}\n`);
