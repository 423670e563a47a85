import { NetwardenError } from "../core/index.js";
import { suggestParam } from "./params.js";

/** Names accepted by `score` (and by the config's selection metric). */
export const METRIC_NAMES = [
  "accuracy",
  "balanced_accuracy",
  "f1_macro",
  "f1_weighted",
  "f1",
  "precision",
  "recall",
  "roc_auc",
  "pr_auc",
  "log_loss",
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

/** Metrics that need a positive class, so only make sense for binary problems. */
const BINARY_ONLY: ReadonlySet<MetricName> = new Set(["f1", "precision", "recall"]);

/** Probabilities are clipped to at least this in log loss (sklearn's historical eps). */
export const LOG_LOSS_EPS = 1e-15;

export interface ClassMetrics {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface AveragedMetrics {
  precision: number;
  recall: number;
  f1: number;
}

export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability of the positive class in the bin; null when the bin is empty. */
  meanPredicted: number | null;
  /** Share of positives among the bin's rows; null when the bin is empty. */
  observedRate: number | null;
}

export interface ClassificationReport {
  classes: string[];
  n: number;
  accuracy: number;
  balancedAccuracy: number;
  logLoss: number;
  perClass: ClassMetrics[];
  /** Unweighted mean over classes that occur in y_true or in the predictions (as sklearn). */
  macro: AveragedMetrics;
  /** Mean weighted by support. */
  weighted: AveragedMetrics;
  /** confusion[true][predicted]. */
  confusion: number[][];
  /** Binary: ROC-AUC of the positive class; multi-class: one-vs-rest macro average. NaN if undefined. */
  rocAuc: number;
  /** Average precision, same averaging as rocAuc. */
  prAuc: number;
  binary?: {
    positiveClass: string;
    precision: number;
    recall: number;
    f1: number;
    brier: number;
    calibration: CalibrationBin[];
  };
}

export interface ScoreOptions {
  /** Index of the positive class for binary metrics (default 1). */
  positiveClass?: number;
}

/** False only for losses (log_loss): lower is better. */
export function greaterIsBetter(name: MetricName): boolean {
  return name !== "log_loss";
}

function invalidInput(message: string, hint: string): never {
  throw new NetwardenError("NW_LEARNER_INVALID_INPUT", message, { where: "metrics", hint });
}

function checkInputs(yTrue: Int32Array, proba: Float64Array, K: number): void {
  if (!Number.isInteger(K) || K < 2)
    invalidInput(`metrics need at least 2 classes, got ${K}`, "Pass the class names");
  if (proba.length !== yTrue.length * K) {
    invalidInput(
      `probabilities hold ${proba.length} values for ${yTrue.length} rows × ${K} classes`,
      "Pass row-major nRows × nClasses probabilities",
    );
  }
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i] < 0 || yTrue[i] >= K) {
      invalidInput(`label ${yTrue[i]} at row ${i} is outside 0..${K - 1}`, "Labels must be class indices");
    }
  }
}

/** Arg-max class per row (first maximum wins). */
export function argmaxRows(proba: Float64Array, K: number): Int32Array {
  const n = proba.length / K;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * K;
    let best = 0;
    for (let k = 1; k < K; k++) if (proba[o + k] > proba[o + best]) best = k;
    out[i] = best;
  }
  return out;
}

/** Row-major K × K counts: rows = true class, columns = predicted class. */
export function confusionMatrix(yTrue: Int32Array, yPred: Int32Array, K: number): Int32Array {
  const cm = new Int32Array(K * K);
  for (let i = 0; i < yTrue.length; i++) cm[yTrue[i] * K + yPred[i]]++;
  return cm;
}

/** Mean negative log-probability of the true class, probabilities clipped at LOG_LOSS_EPS. */
export function logLoss(yTrue: Int32Array, proba: Float64Array, K: number): number {
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s -= Math.log(Math.max(proba[i * K + yTrue[i]], LOG_LOSS_EPS));
  return s / yTrue.length;
}

/** Row indices ordered by decreasing score (ties keep row order). */
function descendingOrder(scores: Float64Array): Int32Array {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  return Int32Array.from(order);
}

/**
 * Area under the ROC curve; tied scores form one step, integrated by the trapezoid rule (as
 * sklearn). `positive[i]` is 1 for positive rows. NaN when either class is absent.
 */
export function rocAuc(positive: Uint8Array, scores: Float64Array): number {
  const order = descendingOrder(scores);
  let P = 0;
  for (let i = 0; i < positive.length; i++) P += positive[i];
  const N = positive.length - P;
  if (P === 0 || N === 0) return Number.NaN;
  let tp = 0;
  let fp = 0;
  let prevTp = 0;
  let prevFp = 0;
  let area = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (positive[i]) tp++;
    else fp++;
    if (k === order.length - 1 || scores[order[k + 1]] !== scores[i]) {
      area += ((fp - prevFp) * (tp + prevTp)) / 2;
      prevTp = tp;
      prevFp = fp;
    }
  }
  return area / (P * N);
}

/**
 * Average precision, sklearn's definition: Σₙ (Rₙ − Rₙ₋₁) · Pₙ over decreasing distinct score
 * thresholds (a step function, no interpolation). NaN when there is no positive row.
 */
export function averagePrecision(positive: Uint8Array, scores: Float64Array): number {
  const order = descendingOrder(scores);
  let P = 0;
  for (let i = 0; i < positive.length; i++) P += positive[i];
  if (P === 0) return Number.NaN;
  let tp = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (positive[i]) tp++;
    if (k === order.length - 1 || scores[order[k + 1]] !== scores[i]) {
      const recall = tp / P;
      ap += (recall - prevRecall) * (tp / (k + 1));
      prevRecall = recall;
    }
  }
  return ap;
}

/** Mean squared difference between the positive-class probability and the 0/1 outcome. */
export function brierScore(positive: Uint8Array, scores: Float64Array): number {
  let s = 0;
  for (let i = 0; i < positive.length; i++) s += (scores[i] - positive[i]) ** 2;
  return s / positive.length;
}

/** `nBins` equal-width bins over [0, 1]; a probability of exactly 1 falls in the last bin. */
export function calibrationTable(positive: Uint8Array, scores: Float64Array, nBins = 10): CalibrationBin[] {
  const count = new Float64Array(nBins);
  const sumP = new Float64Array(nBins);
  const sumY = new Float64Array(nBins);
  for (let i = 0; i < scores.length; i++) {
    const b = Math.min(nBins - 1, Math.max(0, Math.floor(scores[i] * nBins)));
    count[b]++;
    sumP[b] += scores[i];
    sumY[b] += positive[i];
  }
  return Array.from({ length: nBins }, (_, b) => ({
    lower: b / nBins,
    upper: (b + 1) / nBins,
    count: count[b],
    meanPredicted: count[b] ? sumP[b] / count[b] : null,
    observedRate: count[b] ? sumY[b] / count[b] : null,
  }));
}

function oneVsRest(yTrue: Int32Array, proba: Float64Array, K: number, k: number) {
  const positive = new Uint8Array(yTrue.length);
  const scores = new Float64Array(yTrue.length);
  for (let i = 0; i < yTrue.length; i++) {
    positive[i] = yTrue[i] === k ? 1 : 0;
    scores[i] = proba[i * K + k];
  }
  return { positive, scores };
}

/** Macro average of a one-vs-rest curve metric over classes where it is defined. */
function ovrMacro(
  yTrue: Int32Array,
  proba: Float64Array,
  K: number,
  metric: (positive: Uint8Array, scores: Float64Array) => number,
): number {
  let sum = 0;
  let m = 0;
  for (let k = 0; k < K; k++) {
    const { positive, scores } = oneVsRest(yTrue, proba, K, k);
    const v = metric(positive, scores);
    if (!Number.isNaN(v) && positive.includes(0)) {
      sum += v;
      m++;
    }
  }
  return m ? sum / m : Number.NaN;
}

function perClassFromConfusion(cm: Int32Array, K: number, classes: readonly string[]): ClassMetrics[] {
  const out: ClassMetrics[] = [];
  for (let k = 0; k < K; k++) {
    let predicted = 0;
    let support = 0;
    for (let j = 0; j < K; j++) {
      predicted += cm[j * K + k];
      support += cm[k * K + j];
    }
    const tp = cm[k * K + k];
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = predicted + support ? (2 * tp) / (predicted + support) : 0;
    out.push({ class: classes[k], precision, recall, f1, support });
  }
  return out;
}

type CountMetrics = Pick<
  ClassificationReport,
  "n" | "accuracy" | "balancedAccuracy" | "perClass" | "macro" | "weighted" | "confusion"
>;

/** The metrics that depend only on the confusion matrix of arg-max predictions. */
function countMetrics(yTrue: Int32Array, proba: Float64Array, classNames: readonly string[]): CountMetrics {
  const K = classNames.length;
  const n = yTrue.length;
  const yPred = argmaxRows(proba, K);
  const cm = confusionMatrix(yTrue, yPred, K);
  const perClass = perClassFromConfusion(cm, K, classNames);
  let correct = 0;
  for (let k = 0; k < K; k++) correct += cm[k * K + k];
  const predicted = new Int32Array(K);
  for (let i = 0; i < n; i++) predicted[yPred[i]]++;
  const macro = { precision: 0, recall: 0, f1: 0 };
  const weighted = { precision: 0, recall: 0, f1: 0 };
  let nMacro = 0;
  let balanced = 0;
  let nBalanced = 0;
  for (let k = 0; k < K; k++) {
    const c = perClass[k];
    if (c.support > 0 || predicted[k] > 0) {
      macro.precision += c.precision;
      macro.recall += c.recall;
      macro.f1 += c.f1;
      nMacro++;
    }
    if (c.support > 0) {
      balanced += c.recall;
      nBalanced++;
    }
    weighted.precision += (c.precision * c.support) / n;
    weighted.recall += (c.recall * c.support) / n;
    weighted.f1 += (c.f1 * c.support) / n;
  }
  if (nMacro) {
    macro.precision /= nMacro;
    macro.recall /= nMacro;
    macro.f1 /= nMacro;
  }
  return {
    n,
    accuracy: n ? correct / n : Number.NaN,
    balancedAccuracy: nBalanced ? balanced / nBalanced : Number.NaN,
    perClass,
    macro,
    weighted,
    confusion: Array.from({ length: K }, (_, k) => Array.from(cm.subarray(k * K, (k + 1) * K))),
  };
}

/**
 * Every classification metric netwarden reports, from true labels and row-major n × K
 * probabilities. Predictions are the arg-max class. `positiveClass` (default 1) is the class the
 * binary metrics are about.
 */
export function classificationReport(
  yTrue: Int32Array,
  proba: Float64Array,
  classNames: readonly string[],
  options: ScoreOptions = {},
): ClassificationReport {
  const K = classNames.length;
  checkInputs(yTrue, proba, K);
  const counts = countMetrics(yTrue, proba, classNames);
  const report: ClassificationReport = {
    classes: [...classNames],
    ...counts,
    logLoss: logLoss(yTrue, proba, K),
    rocAuc: Number.NaN,
    prAuc: Number.NaN,
  };
  if (K === 2) {
    const pos = positiveIndex(options, K);
    const { positive, scores } = oneVsRest(yTrue, proba, K, pos);
    report.rocAuc = rocAuc(positive, scores);
    report.prAuc = averagePrecision(positive, scores);
    report.binary = {
      positiveClass: classNames[pos],
      precision: counts.perClass[pos].precision,
      recall: counts.perClass[pos].recall,
      f1: counts.perClass[pos].f1,
      brier: brierScore(positive, scores),
      calibration: calibrationTable(positive, scores),
    };
  } else {
    report.rocAuc = ovrMacro(yTrue, proba, K, rocAuc);
    report.prAuc = ovrMacro(yTrue, proba, K, averagePrecision);
  }
  return report;
}

function positiveIndex(options: ScoreOptions, K: number): number {
  const pos = options.positiveClass ?? 1;
  if (!Number.isInteger(pos) || pos < 0 || pos >= K) {
    throw new NetwardenError(
      "NW_CONFIG_INVALID_VALUE",
      `positive class index ${pos} is outside 0..${K - 1}`,
      {
        where: "metrics positive class",
        hint: "Name one of the target's classes as the positive class",
      },
    );
  }
  return pos;
}

/** Throws NW_CONFIG_INVALID_VALUE (with a suggestion) unless `name` is a metric `score` knows. */
export function checkMetricName(name: string): asserts name is MetricName {
  if ((METRIC_NAMES as readonly string[]).includes(name)) return;
  const spec = Object.fromEntries(
    METRIC_NAMES.map((m) => [m, { type: "number" as const, default: 0, doc: "" }]),
  );
  const suggestion = suggestParam(name, spec);
  throw new NetwardenError("NW_CONFIG_INVALID_VALUE", `unknown metric \`${name}\``, {
    where: "metric name",
    hint: suggestion ? `Did you mean \`${suggestion}\`?` : `Known metrics: ${METRIC_NAMES.join(", ")}`,
    details: { metric: name, known: [...METRIC_NAMES] },
  });
}

/**
 * One number to rank candidates by. f1, precision and recall are about the positive class and
 * need a binary problem; roc_auc and pr_auc are one-vs-rest macro averages for multi-class.
 * See `greaterIsBetter` for the direction.
 */
export function score(
  metric: MetricName,
  yTrue: Int32Array,
  proba: Float64Array,
  nClasses: number,
  options: ScoreOptions = {},
): number {
  checkMetricName(metric);
  const K = nClasses;
  checkInputs(yTrue, proba, K);
  if (BINARY_ONLY.has(metric) && K !== 2) {
    throw new NetwardenError(
      "NW_CONFIG_INVALID_VALUE",
      `metric \`${metric}\` needs a binary target, this one has ${K} classes`,
      {
        where: "metric name",
        hint: `Use ${metric === "f1" ? "f1_macro or f1_weighted" : "f1_macro, balanced_accuracy or accuracy"} for multi-class`,
        details: { metric, nClasses: K },
      },
    );
  }
  if (metric === "log_loss") return logLoss(yTrue, proba, K);
  if (metric === "roc_auc" || metric === "pr_auc") {
    const curve = metric === "roc_auc" ? rocAuc : averagePrecision;
    if (K === 2) {
      const { positive, scores } = oneVsRest(yTrue, proba, K, positiveIndex(options, K));
      return curve(positive, scores);
    }
    return ovrMacro(yTrue, proba, K, curve);
  }
  const r = countMetrics(
    yTrue,
    proba,
    Array.from({ length: K }, (_, k) => String(k)),
  );
  switch (metric) {
    case "accuracy":
      return r.accuracy;
    case "balanced_accuracy":
      return r.balancedAccuracy;
    case "f1_macro":
      return r.macro.f1;
    case "f1_weighted":
      return r.weighted.f1;
    default: {
      const c = r.perClass[positiveIndex(options, K)];
      return metric === "f1" ? c.f1 : metric === "precision" ? c.precision : c.recall;
    }
  }
}
