import type { ProgressTask } from "../core/index.js";

export type FloatArray = Float64Array | Float32Array;

/**
 * Dense matrix view. Row-major: element (i, j) is data[i * nCols + j]; column-major: data[j * nRows + i].
 * Learners accept either layout and convert where they need to.
 */
export interface Matrix {
  readonly data: FloatArray;
  readonly nRows: number;
  readonly nCols: number;
  readonly layout: "row" | "col";
}

export interface FitOptions {
  /** Labels are class indices 0..nClasses-1. */
  nClasses: number;
  /** Per-row weights (default 1). */
  sampleWeight?: Float64Array;
  /** Names of the columns of X, kept in the model for explanations and importance. */
  featureNames?: readonly string[];
  /** Held-out data for early stopping and per-iteration metrics. */
  validation?: { X: Matrix; y: Int32Array };
  /** Progress of the fit (boosting rounds, solver iterations). */
  progress?: ProgressTask;
}

/** A point in a per-iteration history, recorded by experiment tracking. */
export interface HistoryPoint {
  step: number;
  value: number;
}

/** Per-row feature contributions in raw-score (margin) space, plus the expected value. */
export interface Explanation {
  /** nRows × nOutputs × nFeatures, row-major; nOutputs is 1 for binary models, nClasses otherwise. */
  values: Float64Array;
  expectedValue: Float64Array;
  nOutputs: number;
}

export interface SerializedModel {
  format: "netwarden.model/v1";
  kind: string;
  params: Record<string, unknown>;
  nFeatures: number;
  nClasses: number;
  featureNames?: string[];
  state: unknown;
}

/** A fitted model: immutable; the learner that produced it can be fitted again independently. */
export interface FittedModel {
  readonly kind: string;
  readonly nFeatures: number;
  readonly nClasses: number;
  /** Row-major nRows × nClasses class probabilities. */
  predictProba(X: Matrix): Float64Array;
  /** Arg-max class index per row. */
  predict(X: Matrix): Int32Array;
  toJSON(): SerializedModel;
  featureImportance?(): Float64Array;
  explain?(X: Matrix): Explanation;
  /** Per-iteration series recorded during fit, e.g. { "train_logloss": [...], "valid_logloss": [...] }. */
  readonly history?: Readonly<Record<string, readonly HistoryPoint[]>>;
}

/** A learner: hyper-parameters fixed at construction (validated, defaults filled in). */
export interface Learner {
  readonly kind: string;
  readonly params: Readonly<Record<string, unknown>>;
  fit(X: Matrix, y: Int32Array, options: FitOptions): Promise<FittedModel>;
}
