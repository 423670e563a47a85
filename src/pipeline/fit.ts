import type { PipelineConfig } from "../config/index.js";
import { NetwardenError, type ProgressTask } from "../core/index.js";
import type { Table } from "../data/index.js";
import {
  type FittedPreprocessor,
  fitPreprocessor,
  type ResampleSummary,
  smote,
  smoteTomek,
  tomekLinks,
} from "../features/index.js";
import {
  type ClassificationReport,
  classificationReport,
  createLearner,
  type FittedModel,
  fromColumns,
  type Matrix,
  stratifiedHoldout,
} from "../ml/index.js";
import type { Candidate } from "./candidates.js";
import type { Dataset } from "./ingest.js";

export interface FittedPipeline {
  preprocessor: FittedPreprocessor;
  model: FittedModel;
  /** Class counts before and after resampling, when `imbalance.method` is set. */
  resampled?: ResampleSummary;
}

/**
 * Resamples the (preprocessed) training rows of one fit. Only training rows: validation, CV and
 * test rows are never resampled, so scores stay honest.
 */
export function resample(
  X: Matrix,
  y: Int32Array,
  candidate: Candidate,
  classes: readonly string[],
  seed: number,
): { X: Matrix; y: Int32Array; summary?: ResampleSummary } {
  const im = candidate.imbalance;
  if (im.method === "none") return { X, y };
  const common = { nClasses: classes.length, classNames: classes };
  const strategy = im.sampling_strategy as never;
  const r =
    im.method === "smote"
      ? smote(X, y, { ...common, k_neighbors: im.k_neighbors, sampling_strategy: strategy, seed })
      : im.method === "tomek"
        ? tomekLinks(X, y, { ...common, sampling_strategy: strategy })
        : smoteTomek(X, y, { ...common, k_neighbors: im.k_neighbors, sampling_strategy: strategy, seed });
  return { X: r.X as Matrix, y: r.y, summary: r.summary };
}

/** Index of the configured positive class (binary targets); the second class by default. */
export function positiveIndex(config: PipelineConfig, classes: readonly string[]): number {
  if (classes.length !== 2) return 1;
  const pos = config.schema.positive_class;
  if (pos === undefined) return 1;
  const i = classes.indexOf(pos);
  if (i < 0) {
    throw new NetwardenError(
      "NW_SCHEMA_INVALID",
      `positive_class "${pos}" is not a class of the target (classes: ${classes.join(", ")})`,
      { hint: "Set schema.positive_class to one of the target's values" },
    );
  }
  return i;
}

export function toMatrix(features: Table): Matrix {
  return fromColumns(features.columns.map((c) => (c as { values: Float64Array }).values));
}

/** Fits preprocessor and learner on `table`/`y`; early stopping holds out 10 % of the rows. */
export async function fitOne(
  table: Table,
  y: Int32Array,
  candidate: Candidate,
  ds: Pick<Dataset, "schema" | "featureNames" | "classes">,
  seed: number,
  task?: ProgressTask,
): Promise<FittedPipeline> {
  const specs = ds.schema.columns.filter((c) => c.role === "feature");
  const features = table.select(ds.featureNames);
  const learner = createLearner(candidate.kind, candidate.params);
  const early = candidate.params.early_stopping_rounds;
  if (early !== undefined && early !== null) {
    const hold = stratifiedHoldout(y, 0.1, seed);
    const fitRows = features.take(hold.train);
    const preprocessor = fitPreprocessor(fitRows, specs, candidate.preprocess, { seed });
    const r = resample(
      toMatrix(preprocessor.transform(fitRows)),
      pick(y, hold.train),
      candidate,
      ds.classes,
      seed,
    );
    const Xv = toMatrix(preprocessor.transform(features.take(hold.test)));
    const model = await learner.fit(r.X, r.y, {
      nClasses: ds.classes.length,
      featureNames: preprocessor.outputNames,
      validation: { X: Xv, y: pick(y, hold.test) },
      progress: task,
    });
    return { preprocessor, model, ...(r.summary ? { resampled: r.summary } : {}) };
  }
  const preprocessor = fitPreprocessor(features, specs, candidate.preprocess, { seed });
  const r = resample(toMatrix(preprocessor.transform(features)), y, candidate, ds.classes, seed);
  const model = await learner.fit(r.X, r.y, {
    nClasses: ds.classes.length,
    featureNames: preprocessor.outputNames,
    progress: task,
  });
  return { preprocessor, model, ...(r.summary ? { resampled: r.summary } : {}) };
}

export interface Evaluation {
  report: ClassificationReport;
  /** Flat metrics for tracking: test.accuracy, test.f1_macro, ... */
  metrics: Record<string, number>;
  /** Probabilities on the test split (row-major n × classes). */
  proba: Float64Array;
}

export function evaluate(config: PipelineConfig, ds: Dataset, fitted: FittedPipeline): Evaluation {
  const X = toMatrix(fitted.preprocessor.transform(ds.test.select(ds.featureNames)));
  const proba = fitted.model.predictProba(X);
  const report = classificationReport(ds.yTest, proba, ds.classes, {
    positiveClass: positiveIndex(config, ds.classes),
  });
  return { report, metrics: reportMetrics(report, "test"), proba };
}

function pick(y: Int32Array, idx: Int32Array): Int32Array {
  const out = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = y[idx[i]];
  return out;
}

/** Flat metrics of a classification report: `<prefix>.accuracy`, `<prefix>.f1_macro`, ... */
export function reportMetrics(report: ClassificationReport, prefix: string): Record<string, number> {
  const m: Record<string, number> = {
    [`${prefix}.accuracy`]: report.accuracy,
    [`${prefix}.balanced_accuracy`]: report.balancedAccuracy,
    [`${prefix}.log_loss`]: report.logLoss,
    [`${prefix}.precision_macro`]: report.macro.precision,
    [`${prefix}.recall_macro`]: report.macro.recall,
    [`${prefix}.f1_macro`]: report.macro.f1,
    [`${prefix}.precision_weighted`]: report.weighted.precision,
    [`${prefix}.recall_weighted`]: report.weighted.recall,
    [`${prefix}.f1_weighted`]: report.weighted.f1,
    [`${prefix}.rows`]: report.n,
  };
  if (Number.isFinite(report.rocAuc)) m[`${prefix}.roc_auc`] = report.rocAuc;
  if (Number.isFinite(report.prAuc)) m[`${prefix}.pr_auc`] = report.prAuc;
  if (report.binary) {
    m[`${prefix}.precision`] = report.binary.precision;
    m[`${prefix}.recall`] = report.binary.recall;
    m[`${prefix}.f1`] = report.binary.f1;
    m[`${prefix}.brier`] = report.binary.brier;
  }
  for (const c of report.perClass) m[`${prefix}.f1.${c.class}`] = c.f1;
  return m;
}
