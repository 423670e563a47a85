import { NetwardenError } from "../../core/index.js";
import { checkFitInput, checkPredictInput, rowWeights } from "../input.js";
import { toLayout } from "../matrix.js";
import { type ParamSpecs, resolveParams } from "../params.js";
import type { FitOptions, FittedModel, HistoryPoint, Learner, Matrix, SerializedModel } from "../types.js";
import { minimizeLbfgs } from "./lbfgs.js";

export const LOGREG_KIND = "logreg";

export const LOGREG_PARAMS: ParamSpecs = {
  C: {
    type: "number",
    default: 1,
    min: 0,
    exclusiveMin: true,
    doc: "Inverse L2 penalty strength (scikit-learn's C): smaller means stronger regularisation.",
    aliases: ["c", "inverse_regularization"],
  },
  max_iter: {
    type: "int",
    default: 200,
    min: 1,
    max: 1_000_000,
    doc: "Most L-BFGS iterations.",
    aliases: ["maxiter", "n_iter"],
  },
  tol: {
    type: "number",
    default: 1e-6,
    min: 0,
    exclusiveMin: true,
    doc: "Stop when the largest gradient component of the mean loss falls below this.",
    aliases: ["gtol", "tolerance"],
  },
  fit_intercept: {
    type: "bool",
    default: true,
    doc: "Learn an (unpenalised) intercept per output.",
    aliases: ["intercept"],
  },
  class_weight: {
    type: "enum",
    default: null,
    values: ["balanced"],
    nullable: true,
    doc: "balanced: weight each class by n / (classes · rows of the class); null: equal.",
  },
};

export interface LogregParams {
  C: number;
  max_iter: number;
  tol: number;
  fit_intercept: boolean;
  class_weight: "balanced" | null;
}

/**
 * L2-penalised logistic regression fitted with L-BFGS, as scikit-learn's
 * LogisticRegression(solver="lbfgs"): one coefficient vector for binary problems, the symmetric
 * multinomial (softmax) model with one vector per class otherwise. It minimises
 * (Σ wᵢ·lossᵢ + ‖coef‖² / (2C)) / Σ wᵢ; the intercept is not penalised. Inputs should be scaled.
 */
export class LogisticLearner implements Learner {
  readonly kind = LOGREG_KIND;
  readonly params: Readonly<LogregParams>;

  constructor(params: Readonly<Record<string, unknown>> = {}) {
    this.params = Object.freeze(resolveParams(LOGREG_KIND, LOGREG_PARAMS, params) as unknown as LogregParams);
  }

  async fit(X: Matrix, y: Int32Array, options: FitOptions): Promise<LogisticModel> {
    checkFitInput(LOGREG_KIND, X, y, options);
    const p = this.params;
    const K = options.nClasses;
    const nOut = K === 2 ? 1 : K;
    const Xr = toLayout(X, "row");
    const data = Xr.data;
    const n = Xr.nRows;
    const d = Xr.nCols;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        const row = Math.floor(i / d);
        const col = i % d;
        const name = options.featureNames?.[col];
        throw new NetwardenError(
          "NW_LEARNER_INVALID_INPUT",
          `X has ${data[i]} at row ${row}, column ${col}`,
          {
            where: `logreg fit X row ${row}, column ${name ?? col}`,
            hint: "Logistic regression needs finite inputs: add an imputer (and a scaler) before it",
            details: { row, column: col },
          },
        );
      }
    }
    const w = rowWeights(y, K, options.sampleWeight, p.class_weight);
    let wsum = 0;
    for (let i = 0; i < n; i++) wsum += w[i];
    const stride = d + 1;
    const invC = 1 / p.C;
    const z = new Float64Array(nOut);
    // Parameters: nOut rows of [coef_0 .. coef_{d-1}, intercept].
    const objective = (theta: Float64Array, grad: Float64Array): number => {
      grad.fill(0);
      let loss = 0;
      for (let i = 0; i < n; i++) {
        const wi = w[i];
        if (wi === 0) continue;
        const o = i * d;
        for (let k = 0; k < nOut; k++) {
          const t = k * stride;
          let s = theta[t + d];
          for (let j = 0; j < d; j++) s += theta[t + j] * data[o + j];
          z[k] = s;
        }
        if (nOut === 1) {
          const zi = z[0];
          const yi = y[i];
          loss += wi * ((zi > 0 ? zi + Math.log1p(Math.exp(-zi)) : Math.log1p(Math.exp(zi))) - yi * zi);
          const r = wi * (1 / (1 + Math.exp(-zi)) - yi);
          for (let j = 0; j < d; j++) grad[j] += r * data[o + j];
          grad[d] += r;
        } else {
          let max = z[0];
          for (let k = 1; k < nOut; k++) if (z[k] > max) max = z[k];
          let sum = 0;
          for (let k = 0; k < nOut; k++) sum += Math.exp(z[k] - max);
          loss += wi * (Math.log(sum) + max - z[y[i]]);
          for (let k = 0; k < nOut; k++) {
            const r = wi * (Math.exp(z[k] - max) / sum - (k === y[i] ? 1 : 0));
            const t = k * stride;
            for (let j = 0; j < d; j++) grad[t + j] += r * data[o + j];
            grad[t + d] += r;
          }
        }
      }
      let pen = 0;
      for (let k = 0; k < nOut; k++) {
        const t = k * stride;
        for (let j = 0; j < d; j++) {
          pen += theta[t + j] * theta[t + j];
          grad[t + j] += invC * theta[t + j];
        }
        if (!p.fit_intercept) grad[t + d] = 0;
      }
      for (let q = 0; q < grad.length; q++) grad[q] /= wsum;
      return (loss + 0.5 * invC * pen) / wsum;
    };
    const lossHistory: HistoryPoint[] = [];
    const res = minimizeLbfgs(objective, new Float64Array(nOut * stride), {
      maxIter: p.max_iter,
      tol: p.tol,
      onIteration: (iteration, f) => {
        lossHistory.push({ step: iteration, value: f });
        options.progress?.tick(1, `iteration ${iteration}`);
      },
    });
    const coef = new Float64Array(nOut * d);
    const intercept = new Float64Array(nOut);
    for (let k = 0; k < nOut; k++) {
      coef.set(res.x.subarray(k * stride, k * stride + d), k * d);
      intercept[k] = res.x[k * stride + d];
    }
    return new LogisticModel({
      params: { ...p },
      nFeatures: d,
      nClasses: K,
      featureNames: options.featureNames ? [...options.featureNames] : undefined,
      coef,
      intercept,
      iterations: res.iterations,
      converged: res.converged,
      history: { train_loss: lossHistory },
    });
  }
}

interface LogisticInit {
  params: Record<string, unknown>;
  nFeatures: number;
  nClasses: number;
  featureNames?: string[];
  /** Row-major nOutputs × nFeatures. */
  coef: Float64Array;
  intercept: Float64Array;
  iterations: number;
  converged: boolean;
  history: Record<string, HistoryPoint[]>;
}

interface LogisticState {
  coef: number[];
  intercept: number[];
  iterations: number;
  converged: boolean;
  history: Record<string, number[]>;
}

export class LogisticModel implements FittedModel {
  readonly kind = LOGREG_KIND;
  readonly nFeatures: number;
  readonly nClasses: number;
  /** Row-major nOutputs × nFeatures (nOutputs = 1 for binary: the positive class's coefficients). */
  readonly coef: Float64Array;
  readonly intercept: Float64Array;
  readonly iterations: number;
  /** False when the solver stopped on max_iter: raise it or scale the inputs. */
  readonly converged: boolean;
  readonly history: Readonly<Record<string, readonly HistoryPoint[]>>;
  private readonly init: LogisticInit;

  constructor(init: LogisticInit) {
    this.init = init;
    this.nFeatures = init.nFeatures;
    this.nClasses = init.nClasses;
    this.coef = init.coef;
    this.intercept = init.intercept;
    this.iterations = init.iterations;
    this.converged = init.converged;
    this.history = init.history;
  }

  /** Linear scores, row-major nRows × nOutputs. */
  decisionFunction(X: Matrix): Float64Array {
    checkPredictInput(LOGREG_KIND, X, this.nFeatures);
    const Xr = toLayout(X, "row");
    const n = Xr.nRows;
    const d = this.nFeatures;
    const nOut = this.intercept.length;
    const out = new Float64Array(n * nOut);
    const data = Xr.data;
    for (let i = 0; i < n; i++) {
      const o = i * d;
      for (let k = 0; k < nOut; k++) {
        let s = this.intercept[k];
        const t = k * d;
        for (let j = 0; j < d; j++) s += this.coef[t + j] * data[o + j];
        out[i * nOut + k] = s;
      }
    }
    return out;
  }

  predictProba(X: Matrix): Float64Array {
    const z = this.decisionFunction(X);
    const n = X.nRows;
    const K = this.nClasses;
    const out = new Float64Array(n * K);
    if (K === 2) {
      for (let i = 0; i < n; i++) {
        const p = 1 / (1 + Math.exp(-z[i]));
        out[2 * i] = 1 - p;
        out[2 * i + 1] = p;
      }
      return out;
    }
    for (let i = 0; i < n; i++) {
      const o = i * K;
      let max = z[o];
      for (let k = 1; k < K; k++) if (z[o + k] > max) max = z[o + k];
      let sum = 0;
      for (let k = 0; k < K; k++) sum += out[o + k] = Math.exp(z[o + k] - max);
      for (let k = 0; k < K; k++) out[o + k] /= sum;
    }
    return out;
  }

  predict(X: Matrix): Int32Array {
    const z = this.decisionFunction(X);
    const n = X.nRows;
    const out = new Int32Array(n);
    if (this.nClasses === 2) {
      for (let i = 0; i < n; i++) out[i] = z[i] > 0 ? 1 : 0;
      return out;
    }
    const K = this.nClasses;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (z[i * K + k] > z[i * K + best]) best = k;
      out[i] = best;
    }
    return out;
  }

  /** Mean |coefficient| per feature over outputs, normalised to sum to 1 (meaningful on scaled inputs). */
  featureImportance(): Float64Array {
    const d = this.nFeatures;
    const nOut = this.intercept.length;
    const imp = new Float64Array(d);
    for (let k = 0; k < nOut; k++) for (let j = 0; j < d; j++) imp[j] += Math.abs(this.coef[k * d + j]);
    let total = 0;
    for (let j = 0; j < d; j++) total += imp[j];
    if (total > 0) for (let j = 0; j < d; j++) imp[j] /= total;
    return imp;
  }

  toJSON(): SerializedModel {
    const history: Record<string, number[]> = {};
    for (const [k, pts] of Object.entries(this.history)) history[k] = pts.map((pt) => pt.value);
    const state: LogisticState = {
      coef: Array.from(this.coef),
      intercept: Array.from(this.intercept),
      iterations: this.iterations,
      converged: this.converged,
      history,
    };
    return {
      format: "netwarden.model/v1",
      kind: LOGREG_KIND,
      params: { ...this.init.params },
      nFeatures: this.nFeatures,
      nClasses: this.nClasses,
      ...(this.init.featureNames ? { featureNames: [...this.init.featureNames] } : {}),
      state,
    };
  }
}

/** Rebuilds a model from `toJSON()` output; the envelope is checked by the registry. */
export function loadLogistic(json: SerializedModel): LogisticModel {
  const bad = (what: string): never => {
    throw new NetwardenError("NW_MODEL_FORMAT", `logreg model: ${what}`, {
      where: "model state",
      hint: "The model file is damaged or was not written by netwarden; retrain or restore it",
    });
  };
  const s = json.state as Partial<LogisticState> | null;
  if (!s || typeof s !== "object") return bad("state is missing");
  const nOut = json.nClasses === 2 ? 1 : json.nClasses;
  const finite = (a: unknown, len: number, what: string): number[] => {
    if (
      !Array.isArray(a) ||
      a.length !== len ||
      !a.every((v) => typeof v === "number" && Number.isFinite(v))
    ) {
      bad(`${what} must be ${len} finite numbers`);
    }
    return a as number[];
  };
  const coef = finite(s.coef, nOut * json.nFeatures, "coef");
  const intercept = finite(s.intercept, nOut, "intercept");
  if (!Number.isInteger(s.iterations)) bad("iterations is not an integer");
  if (typeof s.converged !== "boolean") bad("converged is not a boolean");
  const history: Record<string, HistoryPoint[]> = {};
  if (!s.history || typeof s.history !== "object") bad("history is missing");
  for (const [k, v] of Object.entries(s.history as Record<string, unknown>)) {
    if (!Array.isArray(v) || !v.every((x) => typeof x === "number")) bad(`history.${k} is not a number list`);
    history[k] = (v as number[]).map((value, i) => ({ step: i + 1, value }));
  }
  return new LogisticModel({
    params: { ...json.params },
    nFeatures: json.nFeatures,
    nClasses: json.nClasses,
    featureNames: json.featureNames ? [...json.featureNames] : undefined,
    coef: Float64Array.from(coef),
    intercept: Float64Array.from(intercept),
    iterations: s.iterations as number,
    converged: s.converged as boolean,
    history,
  });
}
