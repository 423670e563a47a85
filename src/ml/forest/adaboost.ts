import { NetwardenError, Rng } from "../../core/index.js";
import { type TreeScoring, treeShap } from "../explain/index.js";
import { checkFitInput, checkPredictInput } from "../input.js";
import { resolveParams } from "../params.js";
import { applyBins, fitBins } from "../tree/binning.js";
import { EnsembleBuilder, TreeEnsemble, type TreeNodes } from "../tree/ensemble.js";
import type {
  Explanation,
  FitOptions,
  FittedModel,
  HistoryPoint,
  Learner,
  Matrix,
  SerializedModel,
} from "../types.js";
import { type CartData, CartGrower, cartLeaf } from "./cart.js";
import { ADABOOST_PARAMS, type AdaBoostParams } from "./params.js";

export const ADABOOST_KIND = "adaboost";

/**
 * AdaBoost with SAMME (Zhu et al. 2009, "Multi-class AdaBoost"), as scikit-learn's
 * AdaBoostClassifier: shallow CART trees fitted on reweighted rows; a tree with weighted error
 * e gets weight α = η (log((1 − e) / e) + log(K − 1)) and multiplies the weights of the rows it
 * got wrong by e^α. Stops early when a tree is perfect; a tree no better than chance ends the
 * boosting (and fails the fit if it is the first).
 *
 * Scores: class k gets Σ α_m (1 if tree m predicts k, else −1/(K − 1)) / (Σ α · (K − 1)), and the
 * probabilities are their softmax, exactly scikit-learn's predict_proba. Each tree is stored with
 * vector leaves holding its share of those scores, so the model is a plain TreeEnsemble.
 */
export class AdaBoostLearner implements Learner {
  readonly kind = ADABOOST_KIND;
  readonly params: Readonly<AdaBoostParams>;

  constructor(params: Readonly<Record<string, unknown>> = {}) {
    this.params = Object.freeze(
      resolveParams(ADABOOST_KIND, ADABOOST_PARAMS, params) as unknown as AdaBoostParams,
    );
  }

  async fit(X: Matrix, y: Int32Array, options: FitOptions): Promise<AdaBoostModel> {
    checkFitInput(ADABOOST_KIND, X, y, options);
    const p = this.params;
    const K = options.nClasses;
    const n = X.nRows;
    const mapper = fitBins(X, p.max_bins, p.seed);
    const binned = applyBins(mapper, X);
    const data: CartData = {
      n,
      nFeatures: X.nCols,
      bins: binned.bins,
      nBins: mapper.nBins,
      upper: mapper.upper,
      y,
      nClasses: K,
    };
    const grower = new CartGrower(data, {
      criterion: p.criterion,
      maxDepth: p.max_depth,
      minSamplesSplit: 2,
      minSamplesLeaf: 1,
      maxFeatures: X.nCols,
      random: false,
    });
    const w = options.sampleWeight ? Float64Array.from(options.sampleWeight) : new Float64Array(n).fill(1);
    normalise(w);
    const rng = new Rng(p.seed);
    const trees: { nodes: TreeNodes; nNodes: number; leafClass: Int32Array; alpha: number }[] = [];
    const errors: HistoryPoint[] = [];
    const rows = new Int32Array(n);
    for (let m = 0; m < p.n_estimators; m++) {
      let nr = 0;
      for (let i = 0; i < n; i++) if (w[i] > 0) rows[nr++] = i;
      const nNodes = grower.grow(rows.subarray(0, nr), w, rng);
      const nodes = copyNodes(grower.nodes, nNodes, K);
      // A leaf predicts its heaviest class (the lowest index on ties, as numpy's argmax).
      const leafClass = new Int32Array(nNodes).fill(-1);
      for (let i = 0; i < nNodes; i++) {
        if (nodes.feature[i] >= 0) continue;
        let best = 0;
        for (let k = 1; k < K; k++) if (nodes.value[i * K + k] > nodes.value[i * K + best]) best = k;
        leafClass[i] = best;
      }
      const wrong = new Uint8Array(n);
      let err = 0;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const leaf = cartLeaf(nodes, grower.binThreshold, mapper.nBins, binned.bins, n, i);
        if (leafClass[leaf] !== y[i]) {
          wrong[i] = 1;
          err += w[i];
        }
        total += w[i];
      }
      err /= total;
      if (err <= 0) {
        // A perfect tree: it decides alone (scikit-learn gives it weight 1 and stops).
        trees.push({ nodes, nNodes, leafClass, alpha: 1 });
        errors.push({ step: m + 1, value: 0 });
        break;
      }
      if (err >= 1 - 1 / K) {
        if (trees.length === 0) {
          throw new NetwardenError(
            "NW_LEARNER_INVALID_INPUT",
            `the first AdaBoost tree is no better than chance (weighted error ${err.toFixed(4)})`,
            {
              where: "adaboost fit",
              hint: "The features do not separate the classes with trees this shallow; raise max_depth",
              details: { error: err, nClasses: K },
            },
          );
        }
        break;
      }
      const alpha = p.learning_rate * (Math.log((1 - err) / err) + Math.log(K - 1));
      trees.push({ nodes, nNodes, leafClass, alpha });
      errors.push({ step: m + 1, value: err });
      if (m === p.n_estimators - 1) break;
      const boost = Math.exp(alpha);
      for (let i = 0; i < n; i++) if (wrong[i] && w[i] > 0) w[i] *= boost;
      if (!normalise(w)) break;
      options.progress?.tick(1, `tree ${m + 1}/${p.n_estimators}`);
    }
    let A = 0;
    for (const t of trees) A += t.alpha;
    const builder = new EnsembleBuilder(K, K);
    const off = -1 / (K - 1);
    for (const t of trees) {
      const scale = t.alpha / (A * (K - 1));
      for (let i = 0; i < t.nNodes; i++) {
        if (t.leafClass[i] < 0) continue;
        for (let k = 0; k < K; k++) t.nodes.value[i * K + k] = scale * (k === t.leafClass[i] ? 1 : off);
      }
      builder.add(t.nodes, t.nNodes, 0);
    }
    return new AdaBoostModel({
      params: { ...p },
      nFeatures: X.nCols,
      nClasses: K,
      featureNames: options.featureNames ? [...options.featureNames] : undefined,
      ensemble: builder.build(),
      estimatorWeights: trees.map((t) => t.alpha),
      history: { train_error: errors },
    });
  }
}

/** Scales weights to sum to 1; false when the sum is not a positive finite number. */
function normalise(w: Float64Array): boolean {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i];
  if (!(s > 0) || !Number.isFinite(s)) return false;
  for (let i = 0; i < w.length; i++) w[i] /= s;
  return true;
}

function copyNodes(nd: TreeNodes, nNodes: number, K: number): TreeNodes {
  return {
    feature: nd.feature.slice(0, nNodes),
    threshold: nd.threshold.slice(0, nNodes),
    left: nd.left.slice(0, nNodes),
    right: nd.right.slice(0, nNodes),
    defaultLeft: nd.defaultLeft.slice(0, nNodes),
    value: nd.value.slice(0, nNodes * K),
    gain: nd.gain.slice(0, nNodes),
    cover: nd.cover.slice(0, nNodes),
  };
}

interface AdaBoostInit {
  params: Record<string, unknown>;
  nFeatures: number;
  nClasses: number;
  featureNames?: string[];
  ensemble: TreeEnsemble;
  estimatorWeights: number[];
  history: Record<string, HistoryPoint[]>;
}

interface AdaBoostState {
  trees: unknown;
  estimatorWeights: number[];
  history: Record<string, number[]>;
}

export class AdaBoostModel implements FittedModel {
  readonly kind = ADABOOST_KIND;
  readonly nFeatures: number;
  readonly nClasses: number;
  readonly ensemble: TreeEnsemble;
  /** α of each tree, in order. */
  readonly estimatorWeights: readonly number[];
  readonly history: Readonly<Record<string, readonly HistoryPoint[]>>;
  private readonly init: AdaBoostInit;
  private readonly zero: Float64Array;

  constructor(init: AdaBoostInit) {
    this.init = init;
    this.nFeatures = init.nFeatures;
    this.nClasses = init.nClasses;
    this.ensemble = init.ensemble;
    this.estimatorWeights = init.estimatorWeights;
    this.history = init.history;
    this.zero = new Float64Array(init.nClasses);
  }

  /** The SAMME scores (decision function divided by K − 1), row-major nRows × nClasses. */
  decisionScores(X: Matrix): Float64Array {
    checkPredictInput(ADABOOST_KIND, X, this.nFeatures);
    return this.ensemble.predictRaw(X, this.zero);
  }

  predictProba(X: Matrix): Float64Array {
    const raw = this.decisionScores(X);
    const K = this.nClasses;
    for (let i = 0; i < X.nRows; i++) {
      const o = i * K;
      let max = raw[o];
      for (let k = 1; k < K; k++) if (raw[o + k] > max) max = raw[o + k];
      let sum = 0;
      for (let k = 0; k < K; k++) sum += raw[o + k] = Math.exp(raw[o + k] - max);
      for (let k = 0; k < K; k++) raw[o + k] /= sum;
    }
    return raw;
  }

  predict(X: Matrix): Int32Array {
    const raw = this.decisionScores(X);
    const K = this.nClasses;
    const out = new Int32Array(X.nRows);
    for (let i = 0; i < out.length; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (raw[i * K + k] > raw[i * K + best]) best = k;
      out[i] = best;
    }
    return out;
  }

  /** Exact TreeSHAP contributions to the SAMME scores (softmax margins). */
  explain(X: Matrix): Explanation {
    checkPredictInput(ADABOOST_KIND, X, this.nFeatures);
    return treeShap(this.ensemble, X, this.zero);
  }

  treeScoring(): TreeScoring {
    return { ensemble: this.ensemble, base: this.zero, link: "softmax" };
  }

  /** Impurity decrease per feature weighted by each tree's α, normalised to sum to 1. */
  featureImportance(): Float64Array {
    const F = this.nFeatures;
    const imp = new Float64Array(F);
    const { roots, nodes } = this.ensemble;
    for (let t = 0; t < roots.length; t++) {
      const end = t + 1 < roots.length ? roots[t + 1] : nodes.feature.length;
      let total = 0;
      for (let i = roots[t]; i < end; i++) if (nodes.feature[i] >= 0) total += nodes.gain[i];
      if (total <= 0) continue;
      for (let i = roots[t]; i < end; i++) {
        if (nodes.feature[i] >= 0)
          imp[nodes.feature[i]] += (this.estimatorWeights[t] * nodes.gain[i]) / total;
      }
    }
    let sum = 0;
    for (let f = 0; f < F; f++) sum += imp[f];
    if (sum > 0) for (let f = 0; f < F; f++) imp[f] /= sum;
    return imp;
  }

  toJSON(): SerializedModel {
    const history: Record<string, number[]> = {};
    for (const [k, pts] of Object.entries(this.history)) history[k] = pts.map((pt) => pt.value);
    const state: AdaBoostState = {
      trees: this.ensemble.toJSON(),
      estimatorWeights: [...this.estimatorWeights],
      history,
    };
    return {
      format: "netwarden.model/v1",
      kind: ADABOOST_KIND,
      params: { ...this.init.params },
      nFeatures: this.nFeatures,
      nClasses: this.nClasses,
      ...(this.init.featureNames ? { featureNames: [...this.init.featureNames] } : {}),
      state,
    };
  }
}

export function loadAdaBoost(json: SerializedModel): AdaBoostModel {
  const bad = (what: string): never => {
    throw new NetwardenError("NW_MODEL_FORMAT", `adaboost model: ${what}`, {
      where: "model state",
      hint: "The model file is damaged or was not written by netwarden; retrain or restore it",
    });
  };
  const s = json.state as Partial<AdaBoostState> | null;
  if (!s || typeof s !== "object") return bad("state is missing");
  const ensemble = TreeEnsemble.fromJSON(s.trees, json.nFeatures);
  if (ensemble.nOutputs !== json.nClasses || ensemble.leafWidth !== json.nClasses) {
    bad(`trees have ${ensemble.nOutputs} outputs of width ${ensemble.leafWidth}, expected ${json.nClasses}`);
  }
  const ew = s.estimatorWeights;
  if (!Array.isArray(ew) || ew.length !== ensemble.nTrees || !ew.every((v) => Number.isFinite(v))) {
    bad("estimatorWeights must be one finite number per tree");
  }
  const history: Record<string, HistoryPoint[]> = {};
  for (const [k, v] of Object.entries((s.history ?? {}) as Record<string, unknown>)) {
    if (!Array.isArray(v) || !v.every((x) => typeof x === "number")) bad(`history.${k} is not a number list`);
    history[k] = (v as number[]).map((value, i) => ({ step: i + 1, value }));
  }
  return new AdaBoostModel({
    params: { ...json.params },
    nFeatures: json.nFeatures,
    nClasses: json.nClasses,
    featureNames: json.featureNames ? [...json.featureNames] : undefined,
    ensemble,
    estimatorWeights: ew as number[],
    history,
  });
}
