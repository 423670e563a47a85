import { NetwardenError, Rng } from "../../core/index.js";
import { type TreeScoring, treeShap } from "../explain/index.js";
import { checkFitInput, checkPredictInput, rowWeights } from "../input.js";
import { softmaxRows } from "../matrix.js";
import { arrayBuffer, resolveThreads, sharedCopy, sharedPool } from "../parallel/index.js";
import { resolveParams } from "../params.js";
import { applyBins, fitBins } from "../tree/binning.js";
import { EnsembleBuilder, TreeEnsemble } from "../tree/ensemble.js";
import type {
  Explanation,
  FitOptions,
  FittedModel,
  HistoryPoint,
  Learner,
  Matrix,
  SerializedModel,
} from "../types.js";
import { type GrowParams, HistGrower } from "./grower.js";
import { GBDT_PARAMS, type GbdtParams } from "./params.js";
import {
  type BoostShared,
  type ClassTree,
  GRAD_CHUNK,
  gradientChunks,
  growClassTreeWith,
  TREES_MODULE,
} from "./trees.js";

export const GBDT_KIND = "gbdt";

/** Below this many cells (rows × features) a fit stays on one thread: starting workers costs more. */
const PARALLEL_MIN_CELLS = 50_000;

/** Fits started in this process; names each fit's shared state for the workers' caches. */
let fitCount = 0;

/** Probabilities this close to 0 or 1 are clamped when turned into starting margins. */
const PRIOR_EPS = 1e-12;

/**
 * Histogram gradient boosting for classification: binary log-loss (one tree per round) and
 * multi-class softmax (one tree per class per round).
 */
export class GbdtLearner implements Learner {
  readonly kind = GBDT_KIND;
  readonly params: Readonly<GbdtParams>;

  constructor(params: Readonly<Record<string, unknown>> = {}) {
    const p = resolveParams(GBDT_KIND, GBDT_PARAMS, params) as unknown as GbdtParams;
    const depth = p.max_depth ?? 0;
    if (p.grow_policy === "depthwise" && depth === 0) {
      throw new NetwardenError(
        "NW_LEARNER_INVALID_PARAM",
        "max_depth must be ≥ 1 with grow_policy depthwise",
        {
          where: "gbdt params.max_depth",
          hint: "Set max_depth (e.g. 6), or use grow_policy: lossguide for depth-unlimited trees",
          details: { param: "max_depth", value: p.max_depth },
        },
      );
    }
    if (p.max_leaves === 1) {
      throw new NetwardenError("NW_LEARNER_INVALID_PARAM", "max_leaves is 1: trees could not split", {
        where: "gbdt params.max_leaves",
        hint: "Use at least 2, or 0 / null for the default",
        details: { param: "max_leaves", value: 1 },
      });
    }
    this.params = Object.freeze(p);
  }

  async fit(X: Matrix, y: Int32Array, options: FitOptions): Promise<GbdtModel> {
    checkFitInput(GBDT_KIND, X, y, options);
    const p = this.params;
    const K = options.nClasses;
    const nOut = K === 2 ? 1 : K;
    const n = X.nRows;
    const F = X.nCols;
    const valid = options.validation;
    if (p.early_stopping_rounds !== null && !valid) {
      throw new NetwardenError(
        "NW_LEARNER_INVALID_INPUT",
        "early_stopping_rounds is set but no validation data",
        {
          where: "gbdt fit options.validation",
          hint: "Pass validation data to fit, or set early_stopping_rounds to null",
        },
      );
    }
    const w = rowWeights(y, K, options.sampleWeight, p.class_weight);
    const base = startingMargins(y, w, K, p.base_score);

    const mapper = fitBins(X, p.max_bins, p.seed);
    const binned = applyBins(mapper, X);
    const vBinned = valid ? applyBins(mapper, valid.X) : null;
    const threads = n * F < PARALLEL_MIN_CELLS ? 1 : resolveThreads(p.n_threads);
    // Several trees per round (multi-class): the round's trees grow side by side, one per worker.
    // One tree per round: the threads share each tree's histograms by blocks of features.
    const treeParallel = threads > 1 && nOut > 1;
    const shared = threads > 1;
    const growParams: GrowParams = {
      maxDepth: p.max_depth ?? 0,
      maxLeaves: p.max_leaves ?? (p.grow_policy === "lossguide" ? 31 : 0),
      lossguide: p.grow_policy === "lossguide",
      minChildWeight: p.min_child_weight,
      minSamplesLeaf: p.min_samples_leaf,
      lambda: p.reg_lambda,
      alpha: p.reg_alpha,
      minSplitGain: p.min_split_gain,
      learningRate: p.learning_rate,
    };
    const vn = valid ? valid.X.nRows : 0;
    const sh: BoostShared = {
      key: `${process.pid}:${++fitCount}`,
      n,
      nOutputs: nOut,
      bins: treeParallel ? sharedCopy(binned.bins) : binned.bins,
      nBins: mapper.nBins,
      upper: mapper.upper,
      grow: growParams,
      gh: new Float64Array(arrayBuffer(2 * n * nOut * 8, shared)),
      margins: new Float64Array(arrayBuffer(n * nOut * 8, treeParallel)),
      sample: new Int32Array(arrayBuffer(n * 4, treeParallel)),
      inSample: new Uint8Array(arrayBuffer(n, treeParallel)),
      vBins: vBinned ? (treeParallel ? sharedCopy(vBinned.bins) : vBinned.bins) : null,
      vn,
      vMargins: valid ? new Float64Array(arrayBuffer(vn * nOut * 8, treeParallel)) : null,
    };
    for (let k = 0; k < nOut; k++) {
      sh.margins.fill(base[k], k * n, (k + 1) * n);
      sh.vMargins?.fill(base[k], k * vn, (k + 1) * vn);
    }
    const grower = treeParallel
      ? null
      : new HistGrower(binned, mapper, nOut, growParams, Math.min(threads, F), sh.gh);

    const rng = new Rng(p.seed);
    const allFeatures = identity(F);
    const nSample = Math.max(1, Math.round(p.subsample * n));
    const nFeat = Math.max(1, Math.round(p.colsample_bytree * F));
    const rowPerm = nSample < n ? identity(n) : null;
    const featPerm = nFeat < F ? Int32Array.from(allFeatures) : null;

    const builder = new EnsembleBuilder(nOut);
    const trainLoss: HistoryPoint[] = [];
    const validLoss: HistoryPoint[] = [];
    let bestRound = 0;
    let bestLoss = Number.POSITIVE_INFINITY;
    // Chunks of rows spread over the threads in multi-class fits; the loss adds up in chunk order.
    const nChunks = Math.ceil(n / GRAD_CHUNK);
    const partial = new Float64Array(arrayBuffer(2 * nChunks * 8, treeParallel));
    const gradArgs = {
      shared: sh,
      y: treeParallel ? sharedCopy(y) : y,
      w: treeParallel ? sharedCopy(w) : w,
      c0: 0,
      c1: nChunks,
      partial,
    };
    const gradients = async (): Promise<number> => {
      if (treeParallel) {
        const lanes = Math.min(threads, nChunks);
        const pool = sharedPool();
        await Promise.all(
          Array.from({ length: lanes }, (_, t) =>
            pool.call(TREES_MODULE, "gradientChunks", {
              ...gradArgs,
              c0: Math.round((t * nChunks) / lanes),
              c1: Math.round(((t + 1) * nChunks) / lanes),
            }),
          ),
        );
      } else gradientChunks(gradArgs);
      let loss = 0;
      let wsum = 0;
      for (let c = 0; c < nChunks; c++) {
        loss += partial[2 * c];
        wsum += partial[2 * c + 1];
      }
      return loss / wsum;
    };
    const workers = grower ? await grower.startWorkers() : [];
    let failure: unknown = null;
    try {
      await gradients();
      for (let round = 0; round < p.n_estimators; round++) {
        let sampleLen = 0;
        if (rowPerm) {
          sh.sample.set(partialShuffle(rowPerm, nSample, rng).slice().sort());
          sampleLen = nSample;
          sh.inSample.fill(0);
          for (let i = 0; i < nSample; i++) sh.inSample[sh.sample[i]] = 1;
        }
        const features: Int32Array[] = [];
        for (let k = 0; k < nOut; k++) {
          features.push(featPerm ? partialShuffle(featPerm, nFeat, rng).slice().sort() : allFeatures);
        }
        const trees = grower
          ? features.map((f, k) => growClassTreeWith(grower, sh, k, f, sampleLen))
          : await growRound(sh, features, sampleLen, threads);
        for (const t of trees) builder.add(t.nodes, t.nNodes, t.k);
        const loss = await gradients();
        trainLoss.push({ step: round + 1, value: loss });
        if (sh.vMargins && valid) {
          const vl = logLossOfMargins(sh.vMargins, valid.y, nOut);
          validLoss.push({ step: round + 1, value: vl });
          if (vl < bestLoss) {
            bestLoss = vl;
            bestRound = round;
          } else if (p.early_stopping_rounds !== null && round - bestRound >= p.early_stopping_rounds) {
            break;
          }
        }
        options.progress?.tick(1, `round ${round + 1}/${p.n_estimators}`);
      }
    } catch (e) {
      failure = e;
    } finally {
      grower?.stopWorkers();
    }
    // A worker's own error says more than the leader's "a worker thread failed".
    for (const r of await Promise.allSettled(workers)) if (r.status === "rejected") throw r.reason;
    if (failure) throw failure;
    const stopped = p.early_stopping_rounds !== null;
    const nRounds = stopped ? bestRound + 1 : trainLoss.length;
    const history: Record<string, HistoryPoint[]> = { train_logloss: trainLoss };
    if (valid) history.valid_logloss = validLoss;
    const { n_threads: _, ...modelParams } = p;
    return new GbdtModel({
      params: modelParams,
      nFeatures: F,
      nClasses: K,
      featureNames: options.featureNames ? [...options.featureNames] : undefined,
      baseScore: base,
      ensemble: builder.build(nRounds * nOut),
      nRounds,
      bestRound: stopped ? bestRound + 1 : null,
      history,
    });
  }
}

interface GbdtModelInit {
  params: Record<string, unknown>;
  nFeatures: number;
  nClasses: number;
  featureNames?: string[];
  baseScore: Float64Array;
  ensemble: TreeEnsemble;
  nRounds: number;
  /** Round with the lowest validation loss when early stopping was on (1-based), else null. */
  bestRound: number | null;
  history: Record<string, HistoryPoint[]>;
}

interface GbdtState {
  baseScore: number[];
  nRounds: number;
  bestRound: number | null;
  history: Record<string, number[]>;
  trees: unknown;
}

export class GbdtModel implements FittedModel {
  readonly kind = GBDT_KIND;
  readonly nFeatures: number;
  readonly nClasses: number;
  readonly nRounds: number;
  readonly bestRound: number | null;
  readonly history: Readonly<Record<string, readonly HistoryPoint[]>>;
  readonly ensemble: TreeEnsemble;
  private readonly init: GbdtModelInit;

  constructor(init: GbdtModelInit) {
    this.init = init;
    this.nFeatures = init.nFeatures;
    this.nClasses = init.nClasses;
    this.nRounds = init.nRounds;
    this.bestRound = init.bestRound;
    this.history = init.history;
    this.ensemble = init.ensemble;
  }

  /** Raw margins, row-major nRows × (1 for binary, nClasses otherwise). */
  predictMargin(X: Matrix): Float64Array {
    checkPredictInput(GBDT_KIND, X, this.nFeatures);
    return this.ensemble.predictRaw(X, this.init.baseScore);
  }

  predictProba(X: Matrix): Float64Array {
    if (this.nClasses === 2) return marginsToProba(this.predictMargin(X), X.nRows, 2);
    checkPredictInput(GBDT_KIND, X, this.nFeatures);
    return this.ensemble.predictSoftmax(X, this.init.baseScore);
  }

  predict(X: Matrix): Int32Array {
    const raw = this.predictMargin(X);
    const n = X.nRows;
    const out = new Int32Array(n);
    if (this.nClasses === 2) {
      for (let i = 0; i < n; i++) out[i] = raw[i] > 0 ? 1 : 0;
      return out;
    }
    const K = this.nClasses;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (raw[i * K + k] > raw[i * K + best]) best = k;
      out[i] = best;
    }
    return out;
  }

  /** Exact TreeSHAP contributions to the margins (log-odds for binary, per-class margins otherwise). */
  explain(X: Matrix): Explanation {
    checkPredictInput(GBDT_KIND, X, this.nFeatures);
    return treeShap(this.ensemble, X, this.init.baseScore);
  }

  treeScoring(): TreeScoring {
    return {
      ensemble: this.ensemble,
      base: this.init.baseScore,
      link: this.nClasses === 2 ? "logistic" : "softmax",
    };
  }

  /** Total split gain per feature, normalised to sum to 1 (all zeros when no tree split). */
  featureImportance(): Float64Array {
    const imp = this.ensemble.gainPerFeature(this.nFeatures);
    let total = 0;
    for (let i = 0; i < imp.length; i++) total += imp[i];
    if (total > 0) for (let i = 0; i < imp.length; i++) imp[i] /= total;
    return imp;
  }

  toJSON(): SerializedModel {
    const history: Record<string, number[]> = {};
    for (const [k, pts] of Object.entries(this.history)) history[k] = pts.map((pt) => pt.value);
    const state: GbdtState = {
      baseScore: Array.from(this.init.baseScore),
      nRounds: this.nRounds,
      bestRound: this.bestRound,
      history,
      trees: this.ensemble.toJSON(),
    };
    return {
      format: "netwarden.model/v1",
      kind: GBDT_KIND,
      params: { ...this.init.params },
      nFeatures: this.nFeatures,
      nClasses: this.nClasses,
      ...(this.init.featureNames ? { featureNames: [...this.init.featureNames] } : {}),
      state,
    };
  }
}

/** Rebuilds a model from `toJSON()` output; the envelope is checked by the registry. */
export function loadGbdt(json: SerializedModel): GbdtModel {
  const bad = (what: string): never => {
    throw new NetwardenError("NW_MODEL_FORMAT", `gbdt model: ${what}`, {
      where: "model state",
      hint: "The model file is damaged or was not written by netwarden; retrain or restore it",
    });
  };
  const s = json.state as Partial<GbdtState> | null;
  if (!s || typeof s !== "object") return bad("state is missing");
  const nOut = json.nClasses === 2 ? 1 : json.nClasses;
  const baseScore = s.baseScore;
  if (!Array.isArray(baseScore) || baseScore.length !== nOut || !baseScore.every(Number.isFinite)) {
    bad(`baseScore must be ${nOut} finite numbers`);
  }
  if (!Number.isInteger(s.nRounds) || (s.nRounds as number) < 0) bad("nRounds is not a count");
  if (s.bestRound !== null && !Number.isInteger(s.bestRound)) bad("bestRound is not an integer or null");
  const history: Record<string, HistoryPoint[]> = {};
  if (!s.history || typeof s.history !== "object") bad("history is missing");
  for (const [k, v] of Object.entries(s.history as Record<string, unknown>)) {
    if (!Array.isArray(v) || !v.every((x) => typeof x === "number")) bad(`history.${k} is not a number list`);
    history[k] = (v as number[]).map((value, i) => ({ step: i + 1, value }));
  }
  const ensemble = TreeEnsemble.fromJSON(s.trees, json.nFeatures);
  if (ensemble.nOutputs !== nOut) bad(`trees have ${ensemble.nOutputs} outputs, expected ${nOut}`);
  if (ensemble.nTrees !== (s.nRounds as number) * nOut) bad("tree count does not match nRounds");
  return new GbdtModel({
    params: { ...json.params },
    nFeatures: json.nFeatures,
    nClasses: json.nClasses,
    featureNames: json.featureNames ? [...json.featureNames] : undefined,
    baseScore: Float64Array.from(baseScore as number[]),
    ensemble,
    nRounds: s.nRounds as number,
    bestRound: (s.bestRound ?? null) as number | null,
    history,
  });
}

/** Prior log-odds (binary) or log-probabilities (multi-class) under the row weights. */
function startingMargins(y: Int32Array, w: Float64Array, K: number, baseScore: number | null): Float64Array {
  const nOut = K === 2 ? 1 : K;
  const out = new Float64Array(nOut);
  if (baseScore !== null) {
    if (K === 2) out[0] = Math.log(baseScore / (1 - baseScore));
    return out;
  }
  const cw = new Float64Array(K);
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    cw[y[i]] += w[i];
    total += w[i];
  }
  const clamp = (q: number) => Math.min(1 - PRIOR_EPS, Math.max(PRIOR_EPS, q));
  if (K === 2) {
    const q = clamp(cw[1] / total);
    out[0] = Math.log(q / (1 - q));
  } else {
    for (let k = 0; k < K; k++) out[k] = Math.log(clamp(cw[k] / total));
  }
  return out;
}

/** Unweighted mean log-loss of class-major margins. */
function logLossOfMargins(margins: Float64Array, y: Int32Array, nOut: number): number {
  const n = y.length;
  let loss = 0;
  if (nOut === 1) {
    for (let i = 0; i < n; i++) loss += softplus(y[i] === 1 ? -margins[i] : margins[i]);
    return loss / n;
  }
  for (let i = 0; i < n; i++) {
    let max = margins[i];
    for (let k = 1; k < nOut; k++) if (margins[k * n + i] > max) max = margins[k * n + i];
    let sum = 0;
    for (let k = 0; k < nOut; k++) sum += Math.exp(margins[k * n + i] - max);
    loss += Math.log(sum) + max - margins[y[i] * n + i];
  }
  return loss / n;
}

/** log(1 + e^x) without overflow. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** Row-major probabilities from margins (1 per row for binary, K otherwise). */
export function marginsToProba(raw: Float64Array, n: number, K: number): Float64Array {
  const out = new Float64Array(n * K);
  if (K === 2) {
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-raw[i]));
      out[2 * i] = 1 - p;
      out[2 * i + 1] = p;
    }
    return out;
  }
  out.set(raw.subarray(0, n * K));
  softmaxRows(out, 0, n, K);
  return out;
}

function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Moves a fresh random choice of `m` entries to the front of `a` and returns them (a view). */
function partialShuffle(a: Int32Array, m: number, rng: Rng): Int32Array {
  const n = a.length;
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a.subarray(0, m);
}

/** Grows the round's class trees on `threads` workers, one tree per call; results in class order. */
async function growRound(
  sh: BoostShared,
  features: Int32Array[],
  sampleLen: number,
  threads: number,
): Promise<ClassTree[]> {
  const pool = sharedPool();
  const out: ClassTree[] = new Array(features.length);
  let next = 0;
  const lane = async () => {
    while (next < features.length) {
      const k = next++;
      out[k] = await pool.call<ClassTree>(TREES_MODULE, "growClassTree", {
        shared: sh,
        k,
        features: features[k],
        sampleLen,
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(threads, features.length) }, lane));
  return out;
}
