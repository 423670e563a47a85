import { NetwardenError, Rng } from "../../core/index.js";
import { checkMatrix, toLayout } from "../matrix.js";
import { checkMetricName, greaterIsBetter, type MetricName, score } from "../metrics.js";
import type { FittedModel, Matrix } from "../types.js";

export interface PermutationOptions {
  /** Shuffles per feature (default 5). */
  repeats?: number;
  /** Seed of the shuffles; feature j always uses the stream Rng.derive(seed, j). */
  seed?: number;
}

export interface PermutationImportance {
  metric: MetricName;
  /** The metric on the unshuffled data. */
  baseline: number;
  repeats: number;
  /** Per feature: mean loss of quality when it is shuffled (> 0: the model relies on it). */
  mean: Float64Array;
  /** Per feature: standard deviation of that loss over the repeats. */
  std: Float64Array;
  /** nFeatures × repeats losses, row-major. */
  drops: Float64Array;
}

/**
 * Permutation importance (Breiman 2001; scikit-learn's permutation_importance): how much the metric
 * worsens when one feature's column is shuffled, breaking its link with the target. Works for
 * any fitted model; for losses (log_loss) the sign is flipped so that larger always means more
 * important.
 */
export function permutationImportance(
  model: FittedModel,
  X: Matrix,
  y: Int32Array,
  metric: MetricName,
  options: PermutationOptions = {},
): PermutationImportance {
  const repeats = options.repeats ?? 5;
  const seed = options.seed ?? 0;
  const where = "permutation importance";
  checkMetricName(metric);
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new NetwardenError("NW_LEARNER_INVALID_PARAM", `repeats is ${repeats}, expected an integer ≥ 1`, {
      where: `${where} repeats`,
      hint: "Use 5 to 30 repeats",
    });
  }
  if (!Number.isInteger(seed) || seed < 0) {
    throw new NetwardenError("NW_LEARNER_INVALID_PARAM", `seed is ${seed}, expected an integer ≥ 0`, {
      where: `${where} seed`,
      hint: "Pass a non-negative integer seed",
    });
  }
  checkMatrix(X, `${where} X`);
  if (!(y instanceof Int32Array) || y.length !== X.nRows) {
    throw new NetwardenError(
      "NW_LEARNER_INVALID_INPUT",
      `X has ${X.nRows} rows but ${y?.length} labels were given`,
      { where: `${where} y`, hint: "Pass one class index per row of X as an Int32Array" },
    );
  }
  if (X.nRows < 2) {
    throw new NetwardenError("NW_LEARNER_INVALID_INPUT", `X has ${X.nRows} rows, shuffling needs ≥ 2`, {
      where: `${where} X`,
      hint: "Use a held-out set of at least a few hundred rows",
    });
  }
  const K = model.nClasses;
  const sign = greaterIsBetter(metric) ? 1 : -1;
  const baseline = score(metric, y, model.predictProba(X), K);
  // Column-major copy: a column is contiguous, so shuffling and restoring it is cheap.
  const work: Matrix = X.layout === "col" ? { ...X, data: Float64Array.from(X.data) } : toLayout(X, "col");
  const n = X.nRows;
  const F = X.nCols;
  const drops = new Float64Array(F * repeats);
  const mean = new Float64Array(F);
  const std = new Float64Array(F);
  const saved = new Float64Array(n);
  for (let j = 0; j < F; j++) {
    const col = work.data.subarray(j * n, (j + 1) * n);
    saved.set(col);
    const rng = Rng.derive(seed, j);
    for (let r = 0; r < repeats; r++) {
      rng.shuffle(col);
      const s = score(metric, y, model.predictProba(work), K);
      drops[j * repeats + r] = sign * (baseline - s);
    }
    col.set(saved);
    let m = 0;
    for (let r = 0; r < repeats; r++) m += drops[j * repeats + r];
    m /= repeats;
    let v = 0;
    for (let r = 0; r < repeats; r++) v += (drops[j * repeats + r] - m) ** 2;
    mean[j] = m;
    std[j] = Math.sqrt(v / repeats);
  }
  return { metric, baseline, repeats, mean, std, drops };
}
