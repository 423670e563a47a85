// `npm run bench:train`: netwarden's learners against scikit-learn, XGBoost and LightGBM on the same
// data, split, folds, hyper-parameters and thread count, each case in its own process.
//
//   npm run bench:train                      every case
//   npm run bench:train -- --only gbdt,unsw  cases whose "dataset model" label has every word
//
// Creates bench/.venv (pinned versions from requirements.txt) when missing, writes the JSON
// result to bench/results/train-<time>.json and prints a Markdown table.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { prepareData } from "./data.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const venv = join(root, "bench/.venv");
const python = join(venv, "bin/python");
const results = join(root, "bench/results");
const dataOut = join(results, "data");
const THREADS = 2;

const onlyArg = process.argv.indexOf("--only");
const only = onlyArg > 0 ? process.argv[onlyArg + 1].split(",") : [];

const GBDT = { n_estimators: 100, max_depth: 8, learning_rate: 0.1, max_bins: 255 };
const GBDT_BIG = { ...GBDT, n_estimators: 20 };
const GBDT_PHISH = { n_estimators: 100, max_depth: 6, learning_rate: 0.1, max_bins: 255 };
/** [dataset, mode, netwarden kind, params, reference libraries]. */
const CASES = [
  ["unsw", "holdout", "gbdt", GBDT, ["xgboost", "lightgbm"]],
  ["unsw", "holdout", "random_forest", { n_estimators: 100 }, ["sklearn"]],
  ["unsw", "holdout", "extra_trees", { n_estimators: 100 }, ["sklearn"]],
  ["unsw", "holdout", "decision_tree", {}, ["sklearn"]],
  ["unsw", "holdout", "adaboost", { n_estimators: 50, learning_rate: 1, max_depth: 1 }, ["sklearn"]],
  ["unsw1m", "throughput", "gbdt", GBDT_BIG, ["xgboost", "lightgbm"]],
  ["unsw1m", "throughput", "random_forest", { n_estimators: 20 }, ["sklearn"]],
  ["phishing", "cv", "gbdt", GBDT_PHISH, ["xgboost", "lightgbm"]],
  ["phishing", "cv", "random_forest", { n_estimators: 100 }, ["sklearn"]],
  ["phishing", "cv", "extra_trees", { n_estimators: 100 }, ["sklearn"]],
  ["phishing", "cv", "decision_tree", {}, ["sklearn"]],
  ["phishing", "cv", "adaboost", { n_estimators: 50, learning_rate: 1, max_depth: 1 }, ["sklearn"]],
];

/** Learners that take n_threads. */
const THREADED = new Set(["gbdt", "random_forest", "extra_trees"]);

function log(msg) {
  process.stderr.write(`${msg}\n`);
}

function ensureVenv() {
  if (!existsSync(python)) {
    log("creating bench/.venv …");
    execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
  }
  execFileSync(python, ["-m", "pip", "install", "-q", "-r", join(here, "requirements.txt")], {
    stdio: "inherit",
  });
}

function versions() {
  const py = execFileSync(
    python,
    [
      "-c",
      "import json,sys,sklearn,xgboost,lightgbm,numpy;print(json.dumps({'python':sys.version.split()[0],'scikit-learn':sklearn.__version__,'xgboost':xgboost.__version__,'lightgbm':lightgbm.__version__,'numpy':numpy.__version__}))",
    ],
    { encoding: "utf8" },
  );
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  return { node: process.versions.node, netwarden: pkg.version, ...JSON.parse(py) };
}

function runCase(cmd, args) {
  // scikit-learn 1.9 sometimes prints a joblib UserWarning per tree (54k lines in one run): they are
  // silenced, so the reference does not pay for printing them, and stderr has room to spare.
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    maxBuffer: 1 << 28,
    cwd: root,
    env: { ...process.env, PYTHONWARNINGS: "ignore::UserWarning" },
  });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args[0]} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  }
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/** Accuracy and macro-F1 (over the classes present in truth or prediction, as scikit-learn does). */
function scores(yTrue, yPred, K) {
  const tp = new Float64Array(K);
  const fp = new Float64Array(K);
  const fn = new Float64Array(K);
  let ok = 0;
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i] === yPred[i]) {
      ok++;
      tp[yTrue[i]]++;
    } else {
      fp[yPred[i]]++;
      fn[yTrue[i]]++;
    }
  }
  let f1 = 0;
  let present = 0;
  for (let k = 0; k < K; k++) {
    if (tp[k] + fp[k] + fn[k] === 0) continue;
    present++;
    f1 += (2 * tp[k]) / (2 * tp[k] + fp[k] + fn[k]);
  }
  return { accuracy: ok / yTrue.length, macroF1: f1 / present };
}

function quality(meta, mode, predFile) {
  const y = new Int32Array(readFileSync(join(dataOut, `${meta.name}.y.bin`)).buffer.slice(0));
  const pred = new Int32Array(readFileSync(predFile).buffer.slice(0));
  const K = meta.classNames.length;
  if (mode === "holdout") {
    const test = readFileSync(join(dataOut, `${meta.name}.test.bin`));
    const rows = [];
    for (let i = 0; i < y.length; i++) if (test[i]) rows.push(i);
    // Holdout predictions are for the test rows, in row order.
    return scores(
      Int32Array.from(rows, (i) => y[i]),
      pred,
      K,
    );
  }
  const fold = new Int32Array(readFileSync(join(dataOut, `${meta.name}.fold.bin`)).buffer.slice(0));
  const nFolds = Math.max(...fold) + 1;
  let acc = 0;
  let f1 = 0;
  for (let k = 0; k < nFolds; k++) {
    const rows = [];
    for (let i = 0; i < y.length; i++) if (fold[i] === k) rows.push(i);
    const s = scores(
      Int32Array.from(rows, (i) => y[i]),
      Int32Array.from(rows, (i) => pred[i]),
      K,
    );
    acc += s.accuracy;
    f1 += s.macroF1;
  }
  return { accuracy: acc / nFolds, macroF1: f1 / nFolds };
}

function fmt(v, digits = 1) {
  if (v === undefined || v === null || Number.isNaN(v)) return "—";
  if (Math.abs(v) >= 1e5) return Math.round(v).toLocaleString("en-US");
  return v.toFixed(digits);
}

function table(rows) {
  const head = [
    "data",
    "model",
    "library",
    "fit s",
    "nw fit ÷ this",
    "peak RSS MB",
    "batch rows/s",
    "nw rows/s ÷ this",
    "1-row p50 µs",
    "1-row p99 µs",
    "accuracy",
    "macro-F1",
  ];
  const out = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i < 3 ? " --- " : " ---: ")).join("|")}|`];
  for (const r of rows) {
    const nw = rows.find((x) => x.dataset === r.dataset && x.kind === r.kind && x.side === "netwarden");
    const ref = r.side !== "netwarden" && nw;
    out.push(
      `| ${[
        r.dataset,
        r.kind,
        r.side,
        fmt(r.fitSeconds, 2),
        ref ? `${fmt(nw.fitSeconds / r.fitSeconds, 2)}×` : "",
        fmt(r.peakRssMB, 0),
        fmt(r.predictRowsPerSecond, 0),
        ref && r.predictRowsPerSecond ? `${fmt(nw.predictRowsPerSecond / r.predictRowsPerSecond, 2)}×` : "",
        fmt(r.p50, 1),
        fmt(r.p99, 1),
        fmt(r.accuracy, 4),
        fmt(r.macroF1, 4),
      ].join(" | ")} |`,
    );
  }
  return out.join("\n");
}

ensureVenv();
const ml = await import(new URL("../../dist/ml/index.js", import.meta.url).href);
const { dataDir } = await import(new URL("../../dist/core/index.js", import.meta.url).href);
log(`preparing data from ${dataDir()} …`);
const metas = await prepareData(dataDir(), dataOut, ml);
const rows = [];
for (const [dataset, mode, kind, params, refs] of CASES) {
  const label = `${dataset} ${kind}`;
  if (only.length > 0 && !only.every((w) => label.includes(w))) continue;
  const predictions = join(results, "pred.bin");
  const base = { dataDir: dataOut, dataset, mode, kind, predictions };
  const sides = [
    [
      "netwarden",
      () => {
        const p = THREADED.has(kind) ? { ...params, n_threads: THREADS } : params;
        return runCase(process.execPath, [join(here, "nw-case.mjs"), JSON.stringify({ ...base, params: p })]);
      },
    ],
    ...refs.map((lib) => [
      lib,
      () =>
        runCase(python, [
          join(here, "ref_case.py"),
          JSON.stringify({ ...base, lib, params, threads: THREADS }),
        ]),
    ]),
  ];
  for (const [side, go] of sides) {
    log(`${label}: ${side} …`);
    const r = go();
    if (mode !== "throughput") Object.assign(r, quality(metas[dataset], mode, predictions));
    rows.push({ dataset, mode, kind, params, ...r, side });
    log(`  fit ${fmt(r.fitSeconds, 2)} s, macro-F1 ${fmt(r.macroF1, 4)}, accuracy ${fmt(r.accuracy, 4)}`);
  }
}
const machine = { cpu: cpus()[0]?.model, cores: cpus().length, memoryGB: Math.round(totalmem() / 2 ** 30) };
const report = { date: new Date().toISOString(), machine, versions: versions(), threads: THREADS, rows };
mkdirSync(results, { recursive: true });
const file = join(results, `train-${report.date.replace(/[:.]/g, "-")}.json`);
writeFileSync(file, JSON.stringify(report, null, 1));
log(`results: ${file}`);
process.stdout.write(`${table(rows)}\n`);
