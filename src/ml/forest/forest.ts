import { NetwardenError, Rng } from "../../core/index.js";
import { type TreeScoring, treeShap } from "../explain/index.js";
import { checkFitInput, checkPredictInput, rowWeights } from "../input.js";
import { resolveThreads, type ShareableArray, sharedCopy, sharedPool } from "../parallel/index.js";
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
import { type CartData, CartGrower, type CartParams, cartLeaf } from "./cart.js";
import {
  checkTreeParams,
  DECISION_TREE_PARAMS,
  EXTRA_TREES_PARAMS,
  type ForestParams,
  featuresPerSplit,
  RANDOM_FOREST_PARAMS,
  type TreeParams,
} from "./params.js";

export const DECISION_TREE_KIND = "decision_tree";
export const RANDOM_FOREST_KIND = "random_forest";
export const EXTRA_TREES_KIND = "extra_trees";

/** This module, for the worker pool (which maps it to its compiled copy under Vitest). */
export const FOREST_MODULE = import.meta.url;

/** Below this many cells (rows × features × trees) a forest grows on one thread. */
const PARALLEL_MIN_WORK = 2_000_000;

type ForestKind = typeof RANDOM_FOREST_KIND | typeof EXTRA_TREES_KIND;

/** What a thread needs to grow trees of a forest; arrays may live in shared memory. */
export interface ForestJob {
  data: CartData;
  cart: CartParams;
  /** Base row weights (sample weights × "balanced" class weights). */
  weights: Float64Array;
  seed: number;
  bootstrap: boolean;
  /** Rows drawn per bootstrap sample. */
  draws: number;
  balancedSubsample: boolean;
}

/** One grown tree, trimmed to its nodes. */
export interface GrownTree {
  index: number;
  nNodes: number;
  nodes: TreeNodes;
  binThreshold: Int32Array;
}

/**
 * Bootstrap counts of tree `index`: `draws` rows drawn with replacement by the tree's own random
 * stream (Rng.derive(seed, index)), which then goes on to drive the tree's feature draws. Null
 * without bootstrap.
 */
function bootstrapCounts(job: ForestJob, rng: Rng): Int32Array | null {
  if (!job.bootstrap) return null;
  const n = job.data.n;
  const counts = new Int32Array(n);
  for (let i = 0; i < job.draws; i++) counts[rng.int(n)]++;
  return counts;
}

/** Grows tree `index` of a forest; the result depends only on the job and the index. */
function growOne(job: ForestJob, grower: CartGrower, index: number, w: Float64Array): GrownTree {
  const rng = Rng.derive(job.seed, index);
  const { n, y, nClasses: K } = job.data;
  const counts = bootstrapCounts(job, rng);
  let rows: Int32Array;
  if (counts) {
    let m = 0;
    for (let i = 0; i < n; i++) if (counts[i] > 0) m++;
    rows = new Int32Array(m);
    m = 0;
    for (let i = 0; i < n; i++) if (counts[i] > 0) rows[m++] = i;
    let cw: Float64Array | null = null;
    if (job.balancedSubsample) {
      // scikit-learn's "balanced" weights computed on the bootstrap sample, repeats counted.
      const byClass = new Float64Array(K);
      for (let i = 0; i < n; i++) byClass[y[i]] += counts[i];
      let present = 0;
      for (let k = 0; k < K; k++) if (byClass[k] > 0) present++;
      cw = byClass.map((c) => (c > 0 ? job.draws / (present * c) : 0));
    }
    for (let i = 0; i < n; i++) w[i] = counts[i] * job.weights[i] * (cw ? cw[y[i]] : 1);
  } else {
    rows = new Int32Array(n);
    for (let i = 0; i < n; i++) rows[i] = i;
    w.set(job.weights);
  }
  // Rows whose weight is zero carry nothing; leaving them out keeps counts meaningful.
  let m = 0;
  for (let i = 0; i < rows.length; i++) if (w[rows[i]] > 0) rows[m++] = rows[i];
  const nNodes = grower.grow(rows.subarray(0, m), w, rng);
  const nd = grower.nodes;
  return {
    index,
    nNodes,
    nodes: {
      feature: nd.feature.slice(0, nNodes),
      threshold: nd.threshold.slice(0, nNodes),
      left: nd.left.slice(0, nNodes),
      right: nd.right.slice(0, nNodes),
      defaultLeft: nd.defaultLeft.slice(0, nNodes),
      value: nd.value.slice(0, nNodes * K),
      gain: nd.gain.slice(0, nNodes),
      cover: nd.cover.slice(0, nNodes),
    },
    binThreshold: grower.binThreshold.slice(0, nNodes),
  };
}

/** Grows the trees `indices` of a forest (on a worker thread, or inline on one thread). */
export function growForestTrees(args: { job: ForestJob; indices: number[] }): GrownTree[] {
  const grower = new CartGrower(args.job.data, args.job.cart);
  const w = new Float64Array(args.job.data.n);
  return args.indices.map((i) => growOne(args.job, grower, i, w));
}

/** Grows trees 0..nTrees-1 on `threads` worker threads (inline when 1); results in index order. */
async function growAll(job: ForestJob, nTrees: number, threads: number, progress?: FitOptions["progress"]) {
  const out: GrownTree[] = new Array(nTrees);
  if (threads <= 1) {
    const grower = new CartGrower(job.data, job.cart);
    const w = new Float64Array(job.data.n);
    for (let i = 0; i < nTrees; i++) {
      out[i] = growOne(job, grower, i, w);
      progress?.tick(1, `tree ${i + 1}/${nTrees}`);
    }
    return out;
  }
  const pool = sharedPool();
  const chunk = Math.max(1, Math.floor(nTrees / (threads * 4)));
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < nTrees) {
      const indices: number[] = [];
      while (indices.length < chunk && next < nTrees) indices.push(next++);
      const trees = await pool.call<GrownTree[]>(FOREST_MODULE, "growForestTrees", { job, indices });
      for (const t of trees) out[t.index] = t;
      done += trees.length;
      progress?.tick(trees.length, `tree ${done}/${nTrees}`);
    }
  };
  await Promise.all(Array.from({ length: threads }, lane));
  return out;
}

/** Binned data for CART growers; in shared memory when worker threads will read it. */
function binData(X: Matrix, y: Int32Array, K: number, maxBins: number, seed: number, shared: boolean) {
  const mapper = fitBins(X, maxBins, seed);
  const binned = applyBins(mapper, X);
  const copy = <T extends ShareableArray>(a: T): T => (shared ? sharedCopy(a) : a);
  const data: CartData = {
    n: X.nRows,
    nFeatures: X.nCols,
    bins: copy(binned.bins),
    nBins: copy(mapper.nBins),
    upper: mapper.upper,
    y: copy(y),
    nClasses: K,
  };
  return data;
}

function cartParams(p: TreeParams, F: number, random: boolean): CartParams {
  return {
    criterion: p.criterion,
    maxDepth: p.max_depth ?? 0,
    minSamplesSplit: p.min_samples_split,
    minSamplesLeaf: p.min_samples_leaf,
    maxFeatures: featuresPerSplit(p.max_features, F),
    random,
  };
}

/** Ensemble averaging the trees' class distributions: raw scores are the probabilities. */
function averageEnsemble(trees: GrownTree[], K: number): TreeEnsemble {
  const b = new EnsembleBuilder(K, K);
  const scale = 1 / trees.length;
  for (const t of trees) {
    const v = t.nodes.value;
    for (let i = 0; i < v.length; i++) v[i] *= scale;
    b.add(t.nodes, t.nNodes, 0);
  }
  return b.build();
}

/** Out-of-bag accuracy: each row scored by the trees whose bootstrap sample left it out. */
function oobAccuracy(job: ForestJob, trees: GrownTree[]): number {
  const { n, y, nClasses: K, bins, nBins } = job.data;
  const sum = new Float64Array(n * K);
  const seen = new Uint8Array(n);
  for (const t of trees) {
    const counts = bootstrapCounts(job, Rng.derive(job.seed, t.index)) as Int32Array;
    for (let r = 0; r < n; r++) {
      if (counts[r] > 0) continue;
      const leaf = cartLeaf(t.nodes, t.binThreshold, nBins, bins, n, r);
      for (let k = 0; k < K; k++) sum[r * K + k] += t.nodes.value[leaf * K + k];
      seen[r] = 1;
    }
  }
  let ok = 0;
  let m = 0;
  for (let r = 0; r < n; r++) {
    if (!seen[r]) continue;
    m++;
    let best = 0;
    for (let k = 1; k < K; k++) if (sum[r * K + k] > sum[r * K + best]) best = k;
    if (best === y[r]) ok++;
  }
  return m > 0 ? ok / m : Number.NaN;
}

/** CART decision tree (scikit-learn's DecisionTreeClassifier) on binned features. */
export class DecisionTreeLearner implements Learner {
  readonly kind = DECISION_TREE_KIND;
  readonly params: Readonly<TreeParams>;

  constructor(params: Readonly<Record<string, unknown>> = {}) {
    const p = resolveParams(DECISION_TREE_KIND, DECISION_TREE_PARAMS, params) as unknown as TreeParams;
    checkTreeParams(DECISION_TREE_KIND, p);
    this.params = Object.freeze(p);
  }

  async fit(X: Matrix, y: Int32Array, options: FitOptions): Promise<TreeModel> {
    checkFitInput(DECISION_TREE_KIND, X, y, options);
    const p = this.params;
    const K = options.nClasses;
    const data = binData(X, y, K, p.max_bins, p.seed, false);
    const job: ForestJob = {
      data,
      cart: cartParams(p, X.nCols, false),
      weights: rowWeights(y, K, options.sampleWeight, p.class_weight === "balanced" ? "balanced" : null),
      seed: p.seed,
      bootstrap: false,
      draws: X.nRows,
      balancedSubsample: false,
    };
    const trees = await growAll(job, 1, 1);
    return new TreeModel({
      kind: DECISION_TREE_KIND,
      params: { ...p },
      nFeatures: X.nCols,
      nClasses: K,
      featureNames: options.featureNames ? [...options.featureNames] : undefined,
      ensemble: averageEnsemble(trees, K),
      oobScore: null,
    });
  }
}

/**
 * Random forest (bootstrap samples, best split among `max_features` random features per node)
 * and extremely randomised trees (all rows by default, a random threshold per examined feature),
 * with scikit-learn's parameters. Tree i always draws from Rng.derive(seed, i), so the forest is
 * the same whatever the number of threads.
 */
export class ForestLearner implements Learner {
  readonly params: Readonly<ForestParams>;

  constructor(
    readonly kind: ForestKind,
    params: Readonly<Record<string, unknown>> = {},
  ) {
    const specs = kind === RANDOM_FOREST_KIND ? RANDOM_FOREST_PARAMS : EXTRA_TREES_PARAMS;
    const p = resolveParams(kind, specs, params) as unknown as ForestParams;
    checkTreeParams(kind, p);
    if (p.oob_score && !p.bootstrap) {
      throw new NetwardenError("NW_LEARNER_INVALID_PARAM", "oob_score needs bootstrap: true", {
        where: `${kind} params.oob_score`,
        hint: "Set bootstrap: true, or oob_score: false",
        details: { param: "oob_score", value: true },
      });
    }
    if (p.max_samples !== null && !p.bootstrap) {
      throw new NetwardenError("NW_LEARNER_INVALID_PARAM", "max_samples needs bootstrap: true", {
        where: `${kind} params.max_samples`,
        hint: "Set bootstrap: true, or max_samples: null",
        details: { param: "max_samples", value: p.max_samples },
      });
    }
    this.params = Object.freeze(p);
  }

  async fit(X: Matrix, y: Int32Array, options: FitOptions): Promise<TreeModel> {
    checkFitInput(this.kind, X, y, options);
    const p = this.params;
    const K = options.nClasses;
    const n = X.nRows;
    const work = n * X.nCols * p.n_estimators;
    const threads = work < PARALLEL_MIN_WORK ? 1 : Math.min(resolveThreads(p.n_threads), p.n_estimators);
    const ms = p.max_samples;
    const draws = ms === null ? n : ms <= 1 ? Math.max(1, Math.round(ms * n)) : ms;
    if (draws > n) {
      throw new NetwardenError("NW_LEARNER_INVALID_PARAM", `max_samples is ${ms}, more than the ${n} rows`, {
        where: `${this.kind} params.max_samples`,
        hint: "Use at most the number of training rows, or a share in (0, 1]",
        details: { param: "max_samples", value: ms, rows: n },
      });
    }
    const balanced =
      p.class_weight === "balanced" || (p.class_weight === "balanced_subsample" && !p.bootstrap);
    const weights = rowWeights(y, K, options.sampleWeight, balanced ? "balanced" : null);
    const job: ForestJob = {
      data: binData(X, y, K, p.max_bins, p.seed, threads > 1),
      cart: cartParams(p, X.nCols, this.kind === EXTRA_TREES_KIND),
      weights,
      seed: p.seed,
      bootstrap: p.bootstrap,
      draws,
      balancedSubsample: p.class_weight === "balanced_subsample" && p.bootstrap,
    };
    const trees = await growAll(job, p.n_estimators, threads, options.progress);
    const oob = p.oob_score ? oobAccuracy(job, trees) : null;
    const { n_threads: _, ...modelParams } = p;
    return new TreeModel({
      kind: this.kind,
      params: modelParams,
      nFeatures: X.nCols,
      nClasses: K,
      featureNames: options.featureNames ? [...options.featureNames] : undefined,
      ensemble: averageEnsemble(trees, K),
      oobScore: oob,
    });
  }
}

interface TreeModelInit {
  kind: string;
  params: Record<string, unknown>;
  nFeatures: number;
  nClasses: number;
  featureNames?: string[];
  ensemble: TreeEnsemble;
  oobScore: number | null;
}

interface TreeModelState {
  trees: unknown;
  oobScore: number | null;
}

/**
 * A fitted decision tree or forest: the average of its trees' leaf class distributions (vector
 * leaves, already divided by the number of trees, so raw scores are the probabilities).
 */
export class TreeModel implements FittedModel {
  readonly kind: string;
  readonly nFeatures: number;
  readonly nClasses: number;
  readonly ensemble: TreeEnsemble;
  /** Out-of-bag accuracy when the forest was fitted with oob_score, else null. */
  readonly oobScore: number | null;
  readonly history: Readonly<Record<string, readonly HistoryPoint[]>>;
  private readonly init: TreeModelInit;
  private readonly zero: Float64Array;

  constructor(init: TreeModelInit) {
    this.init = init;
    this.kind = init.kind;
    this.nFeatures = init.nFeatures;
    this.nClasses = init.nClasses;
    this.ensemble = init.ensemble;
    this.oobScore = init.oobScore;
    this.history =
      init.oobScore === null ? {} : { oob_accuracy: [{ step: init.ensemble.nTrees, value: init.oobScore }] };
    this.zero = new Float64Array(init.nClasses);
  }

  predictProba(X: Matrix): Float64Array {
    checkPredictInput(this.kind, X, this.nFeatures);
    return this.ensemble.predictRaw(X, this.zero);
  }

  predict(X: Matrix): Int32Array {
    const p = this.predictProba(X);
    const K = this.nClasses;
    const out = new Int32Array(X.nRows);
    for (let i = 0; i < out.length; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (p[i * K + k] > p[i * K + best]) best = k;
      out[i] = best;
    }
    return out;
  }

  /** Exact TreeSHAP contributions to the class probabilities. */
  explain(X: Matrix): Explanation {
    checkPredictInput(this.kind, X, this.nFeatures);
    return treeShap(this.ensemble, X, this.zero);
  }

  treeScoring(): TreeScoring {
    return { ensemble: this.ensemble, base: this.zero, link: "identity" };
  }

  /**
   * Mean decrease in impurity (scikit-learn's feature_importances_): each tree's weighted impurity
   * decreases per feature, normalised per tree, averaged over trees and normalised to sum to 1.
   */
  featureImportance(): Float64Array {
    const F = this.nFeatures;
    const imp = new Float64Array(F);
    const per = new Float64Array(F);
    const { roots, nodes } = this.ensemble;
    for (let t = 0; t < roots.length; t++) {
      const end = t + 1 < roots.length ? roots[t + 1] : nodes.feature.length;
      per.fill(0);
      let total = 0;
      for (let i = roots[t]; i < end; i++) {
        if (nodes.feature[i] < 0) continue;
        per[nodes.feature[i]] += nodes.gain[i];
        total += nodes.gain[i];
      }
      if (total > 0) for (let f = 0; f < F; f++) imp[f] += per[f] / total;
    }
    let sum = 0;
    for (let f = 0; f < F; f++) sum += imp[f];
    if (sum > 0) for (let f = 0; f < F; f++) imp[f] /= sum;
    return imp;
  }

  toJSON(): SerializedModel {
    const state: TreeModelState = { trees: this.ensemble.toJSON(), oobScore: this.oobScore };
    return {
      format: "netwarden.model/v1",
      kind: this.kind,
      params: { ...this.init.params },
      nFeatures: this.nFeatures,
      nClasses: this.nClasses,
      ...(this.init.featureNames ? { featureNames: [...this.init.featureNames] } : {}),
      state,
    };
  }
}

/** Rebuilds a decision tree or forest from `toJSON()` output; the envelope is checked by the registry. */
export function loadTreeModel(json: SerializedModel): TreeModel {
  const bad = (what: string): never => {
    throw new NetwardenError("NW_MODEL_FORMAT", `${json.kind} model: ${what}`, {
      where: "model state",
      hint: "The model file is damaged or was not written by netwarden; retrain or restore it",
    });
  };
  const s = json.state as Partial<TreeModelState> | null;
  if (!s || typeof s !== "object") return bad("state is missing");
  const oob = s.oobScore ?? null;
  if (oob !== null && !(typeof oob === "number" && oob >= 0 && oob <= 1))
    bad("oobScore is not in [0, 1] or null");
  const ensemble = TreeEnsemble.fromJSON(s.trees, json.nFeatures);
  if (ensemble.nOutputs !== json.nClasses || ensemble.leafWidth !== json.nClasses) {
    bad(`trees have ${ensemble.nOutputs} outputs of width ${ensemble.leafWidth}, expected ${json.nClasses}`);
  }
  if (json.kind === DECISION_TREE_KIND && ensemble.nTrees !== 1)
    bad("a decision tree must have exactly one tree");
  return new TreeModel({
    kind: json.kind,
    params: { ...json.params },
    nFeatures: json.nFeatures,
    nClasses: json.nClasses,
    featureNames: json.featureNames ? [...json.featureNames] : undefined,
    ensemble,
    oobScore: oob,
  });
}
