import { NetwardenError } from "../core/index.js";
import { checkMatrix } from "./matrix.js";
import type { FitOptions, Matrix } from "./types.js";

function invalid(message: string, where: string, hint: string, details?: Record<string, unknown>): never {
  throw new NetwardenError("NW_LEARNER_INVALID_INPUT", message, { where, hint, details });
}

/** Checks labels are an Int32Array of class indices 0..nClasses-1 matching X's rows. */
function checkLabels(kind: string, X: Matrix, y: Int32Array, nClasses: number, what: string): void {
  if (!(y instanceof Int32Array)) {
    invalid(
      `${what} labels must be an Int32Array of class indices`,
      `${kind} fit ${what}`,
      "Encode labels 0..K-1",
    );
  }
  if (y.length !== X.nRows) {
    invalid(
      `${what} has ${X.nRows} rows but ${y.length} labels`,
      `${kind} fit ${what}`,
      "X and y must have one entry per row",
      { rows: X.nRows, labels: y.length },
    );
  }
  for (let i = 0; i < y.length; i++) {
    const c = y[i];
    if (c < 0 || c >= nClasses) {
      invalid(
        `${what} label ${c} at row ${i} is outside 0..${nClasses - 1}`,
        `${kind} fit ${what} row ${i}`,
        "Labels must be class indices below nClasses; check the label encoding",
        { row: i, label: c, nClasses },
      );
    }
  }
}

/**
 * Everything a learner needs before it can fit: shapes agree, labels are valid class indices, at
 * least two classes occur, weights are finite, non-negative and not all zero.
 */
export function checkFitInput(kind: string, X: Matrix, y: Int32Array, options: FitOptions): void {
  checkMatrix(X, `${kind} fit X`);
  const K = options?.nClasses;
  if (!Number.isInteger(K) || K < 2) {
    invalid(
      `nClasses is ${K}, must be an integer ≥ 2`,
      `${kind} fit options.nClasses`,
      "Pass the number of classes",
    );
  }
  if (X.nRows === 0) invalid("X has zero rows", `${kind} fit X`, "Training needs at least one row per class");
  if (X.nCols === 0) invalid("X has zero columns", `${kind} fit X`, "Training needs at least one feature");
  checkLabels(kind, X, y, K, "X");
  const present = new Set<number>();
  for (let i = 0; i < y.length && present.size < 2; i++) present.add(y[i]);
  if (present.size < 2) {
    invalid(
      `all ${y.length} training rows have the same label (${y[0]})`,
      `${kind} fit y`,
      "A classifier needs at least two classes in its training data",
      { label: y[0] },
    );
  }
  const w = options.sampleWeight;
  if (w !== undefined) {
    if (!(w instanceof Float64Array) || w.length !== X.nRows) {
      invalid(
        `sampleWeight has ${w?.length} values for ${X.nRows} rows`,
        `${kind} fit options.sampleWeight`,
        "Pass one Float64Array weight per training row",
      );
    }
    let total = 0;
    for (let i = 0; i < w.length; i++) {
      if (!(w[i] >= 0) || !Number.isFinite(w[i])) {
        invalid(
          `sampleWeight at row ${i} is ${w[i]}`,
          `${kind} fit options.sampleWeight row ${i}`,
          "Weights must be finite and ≥ 0",
          { row: i },
        );
      }
      total += w[i];
    }
    if (total <= 0)
      invalid("all sample weights are zero", `${kind} fit options.sampleWeight`, "Give some rows weight");
  }
  const names = options.featureNames;
  if (names !== undefined && names.length !== X.nCols) {
    invalid(
      `${names.length} feature names for ${X.nCols} columns`,
      `${kind} fit options.featureNames`,
      "Give one name per column of X",
    );
  }
  const v = options.validation;
  if (v !== undefined) {
    checkMatrix(v.X, `${kind} fit validation X`);
    if (v.X.nCols !== X.nCols) {
      invalid(
        `validation X has ${v.X.nCols} columns, training X has ${X.nCols}`,
        `${kind} fit options.validation`,
        "Validation data must have the training columns",
      );
    }
    if (v.X.nRows === 0)
      invalid("validation X has zero rows", `${kind} fit options.validation`, "Drop it or fill it");
    checkLabels(kind, v.X, v.y, K, "validation X");
  }
}

/** Throws unless X is a matrix with the model's number of columns. */
export function checkPredictInput(kind: string, X: Matrix, nFeatures: number): void {
  checkMatrix(X, `${kind} predict X`);
  if (X.nCols !== nFeatures) {
    invalid(
      `X has ${X.nCols} columns, the model expects ${nFeatures}`,
      `${kind} predict X`,
      "Pass the features in the order the model was trained on",
      { columns: X.nCols, expected: nFeatures },
    );
  }
}

/** Row weights combining `sampleWeight` and, with "balanced", sklearn's n / (K · n_c) per class. */
export function rowWeights(
  y: Int32Array,
  nClasses: number,
  sampleWeight: Float64Array | undefined,
  classWeight: "balanced" | null,
): Float64Array {
  const n = y.length;
  const w = sampleWeight ? Float64Array.from(sampleWeight) : new Float64Array(n).fill(1);
  if (classWeight === "balanced") {
    const counts = new Float64Array(nClasses);
    for (let i = 0; i < n; i++) counts[y[i]]++;
    let present = 0;
    for (let c = 0; c < nClasses; c++) if (counts[c] > 0) present++;
    // sklearn divides by the number of classes present in y, which matters inside CV folds.
    for (let i = 0; i < n; i++) w[i] *= n / (present * counts[y[i]]);
  }
  return w;
}
