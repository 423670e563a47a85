import { NetwardenError } from "../../core/index.js";
import { NeighborIndex, type NeighborResult } from "../../features/resample/index.js";
import { checkFitInput, checkPredictInput } from "../input.js";
import { strides } from "../matrix.js";
import { resolveThreads } from "../parallel/index.js";
import { type ParamSpecs, resolveParams } from "../params.js";
import type { FitOptions, FittedModel, Learner, Matrix, SerializedModel } from "../types.js";
import { PARALLEL_MIN_QUERIES, searchParallel } from "./search.js";

export const KNN_KIND = "knn";

export const KNN_PARAMS: ParamSpecs = {
  n_neighbors: {
    type: "int",
    default: 5,
    min: 1,
    max: 100_000,
    doc: "Training rows that vote for each prediction.",
    aliases: ["k", "n_neighbours", "neighbors"],
  },
  weights: {
    type: "enum",
    default: "uniform",
    values: ["uniform", "distance"],
    doc: "uniform: every neighbour votes 1; distance: 1 / distance (neighbours at distance 0 take all the vote).",
    aliases: ["weighting"],
  },
  metric: {
    type: "enum",
    default: "euclidean",
    values: ["euclidean", "manhattan"],
    doc: "Distance between rows: euclidean (L2) or manhattan (L1).",
    aliases: ["distance", "p"],
  },
  algorithm: {
    type: "enum",
    default: "auto",
    values: ["auto", "brute", "kd_tree"],
    doc: "Search structure; auto uses a k-d tree when a probe search shows that it prunes. Predictions are the same for all.",
    aliases: ["search"],
  },
  n_threads: {
    type: "int",
    default: null,
    min: 1,
    max: 1024,
    nullable: true,
    doc: "Threads to predict with; null: every core. Predictions are the same whatever the count, so model files do not record it (a loaded model uses every core).",
    aliases: ["n_jobs", "nthread", "num_threads"],
  },
};

export interface KnnParams {
  n_neighbors: number;
  weights: "uniform" | "distance";
  metric: "euclidean" | "manhattan";
  algorithm: "auto" | "brute" | "kd_tree";
  n_threads: number | null;
}

/**
 * k-nearest-neighbours classification, as scikit-learn's KNeighborsClassifier: the class
 * probabilities of a row are the (weighted) votes of its k nearest training rows. Exact search;
 * among rows at equal distance the one earlier in the training data is nearer. With sample
 * weights, each neighbour's vote is multiplied by its weight (rows of weight 0 are not kept).
 * Inputs should be scaled: every column counts in the distance as it is.
 */
export class KnnLearner implements Learner {
  readonly kind = KNN_KIND;
  readonly params: Readonly<KnnParams>;

  constructor(params: Readonly<Record<string, unknown>> = {}) {
    this.params = Object.freeze(resolveParams(KNN_KIND, KNN_PARAMS, params) as unknown as KnnParams);
  }

  async fit(X: Matrix, y: Int32Array, options: FitOptions): Promise<KnnModel> {
    checkFitInput(KNN_KIND, X, y, options);
    const n = X.nRows;
    const d = X.nCols;
    const w = options.sampleWeight;
    let kept = 0;
    for (let i = 0; i < n; i++) if (!w || w[i] > 0) kept++;
    const k = this.params.n_neighbors;
    if (k > kept) {
      throw new NetwardenError(
        "NW_LEARNER_INVALID_PARAM",
        `knn parameter \`n_neighbors\` is ${k} but there are only ${kept} training rows${w ? " with weight > 0" : ""}`,
        {
          where: "knn params.n_neighbors",
          hint: `Use n_neighbors ≤ ${kept}, or train on more rows`,
          details: { param: "n_neighbors", value: k, rows: kept },
        },
      );
    }
    const data = new Float32Array(kept * d);
    const labels = new Int32Array(kept);
    const weights = w ? new Float64Array(kept) : null;
    const { rowStride, colStride } = strides(X);
    let r = 0;
    for (let i = 0; i < n; i++) {
      if (w && !(w[i] > 0)) continue;
      for (let j = 0; j < d; j++) {
        const v = X.data[i * rowStride + j * colStride];
        data[r * d + j] = v;
        if (!Number.isFinite(data[r * d + j])) throw badValue(v, i, j, "fit", options.featureNames);
      }
      labels[r] = y[i];
      if (weights) weights[r] = (w as Float64Array)[i];
      r++;
    }
    return new KnnModel({
      params: { ...this.params },
      nFeatures: d,
      nClasses: options.nClasses,
      featureNames: options.featureNames ? [...options.featureNames] : undefined,
      data,
      labels,
      weights,
    });
  }
}

function badValue(
  v: number,
  row: number,
  col: number,
  what: string,
  names?: readonly string[],
): NetwardenError {
  const tooLarge = Number.isFinite(v);
  return new NetwardenError(
    "NW_LEARNER_INVALID_INPUT",
    tooLarge
      ? `X has ${v} at row ${row}, column ${col}: too large for 32-bit floats`
      : `X has ${v} at row ${row}, column ${col}`,
    {
      where: `knn ${what} X row ${row}, column ${names?.[col] ?? col}`,
      hint: "k-nearest neighbours needs finite, scaled inputs: add an imputer and a scaler before it",
      details: { row, column: col },
    },
  );
}

interface KnnInit {
  params: Record<string, unknown>;
  nFeatures: number;
  nClasses: number;
  featureNames?: string[];
  /** Training rows, row-major. */
  data: Float32Array;
  labels: Int32Array;
  /** Vote weight per training row; null: all 1. */
  weights: Float64Array | null;
}

/**
 * Serialised state. The training rows are stored as little-endian float32 in base64: inputs are
 * standardised or one-hot, so 7 significant digits are more than the data carries, and it halves
 * the file. A UNSW-NB15 model (66,000 rows × 91 columns) takes 24 MB of float32, 32 MB as base64.
 * Queries are rounded to float32 as well, so a query equal to a training row is at distance
 * exactly 0 and a loaded model predicts exactly what the fitted one did.
 */
interface KnnState {
  nRows: number;
  data: string;
  labels: number[];
  weights: number[] | null;
}

export class KnnModel implements FittedModel {
  readonly kind = KNN_KIND;
  readonly nFeatures: number;
  readonly nClasses: number;
  /** Training rows kept by fit (rows of weight 0 are dropped). */
  readonly nTrainingRows: number;
  private readonly init: KnnInit;
  private readonly p: KnnParams;
  private built: NeighborIndex | null = null;

  constructor(init: KnnInit) {
    this.init = init;
    this.p = init.params as unknown as KnnParams;
    this.nFeatures = init.nFeatures;
    this.nClasses = init.nClasses;
    this.nTrainingRows = init.labels.length;
  }

  /** The search structure auto chose (or was told to use); builds the index on first use. */
  get algorithm(): "kd_tree" | "brute" {
    return this.index.algorithm;
  }

  // Built on first use: fitting and loading stay instant, and a model only scored in another
  // process never pays for it. Shared memory lets worker threads search it without a copy.
  private get index(): NeighborIndex {
    if (!this.built) {
      const { data, nFeatures } = this.init;
      this.built = NeighborIndex.build(
        Float64Array.from(data),
        data.length / nFeatures,
        nFeatures,
        { metric: this.p.metric, algorithm: this.p.algorithm, k: this.p.n_neighbors },
        true,
      );
    }
    return this.built;
  }

  /**
   * The k (default n_neighbors) nearest training rows of each row of X, nearest first, ties by
   * training row: row-major nRows × k indices into the kept training rows, and their distances.
   */
  kneighbors(X: Matrix, k = this.p.n_neighbors): NeighborResult {
    checkPredictInput(KNN_KIND, X, this.nFeatures);
    if (!Number.isInteger(k) || k < 1 || k > this.nTrainingRows) {
      throw new NetwardenError(
        "NW_LEARNER_INVALID_INPUT",
        `cannot return ${k} neighbours of ${this.nTrainingRows} training rows`,
        {
          where: "knn kneighbors k",
          hint: `Ask for 1 to ${this.nTrainingRows} neighbours`,
        },
      );
    }
    const q = this.queries(X);
    const threads = X.nRows < PARALLEL_MIN_QUERIES ? 1 : resolveThreads(this.p.n_threads);
    if (threads <= 1) return this.index.kneighbors(q, k);
    const { indices, distances } = searchParallel(this.index, q, k, threads);
    return { indices, distances };
  }

  /** Row-major copy of X rounded to float32, as the training rows are. */
  private queries(X: Matrix): Float64Array {
    const n = X.nRows;
    const d = X.nCols;
    const { rowStride, colStride } = strides(X);
    const q = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const v = X.data[i * rowStride + j * colStride];
        const f = Math.fround(v);
        if (!Number.isFinite(f)) throw badValue(v, i, j, "predict", this.init.featureNames);
        q[i * d + j] = f;
      }
    }
    return q;
  }

  /**
   * Neighbour votes, normalised. As scikit-learn: with distance weights, a row with neighbours
   * at distance 0 takes its vote from those neighbours alone, each counting 1.
   */
  predictProba(X: Matrix): Float64Array {
    const k = this.p.n_neighbors;
    const { indices, distances } = this.kneighbors(X, k);
    const K = this.nClasses;
    const { labels, weights } = this.init;
    const byDistance = this.p.weights === "distance";
    const n = X.nRows;
    const out = new Float64Array(n * K);
    for (let i = 0; i < n; i++) {
      const o = i * k;
      // Distances are sorted, so a zero distance comes first.
      const exact = byDistance && distances[o] === 0;
      let total = 0;
      for (let a = o; a < o + k; a++) {
        let v = weights ? weights[indices[a]] : 1;
        if (exact) {
          if (distances[a] !== 0) break;
        } else if (byDistance) v /= distances[a];
        out[i * K + labels[indices[a]]] += v;
        total += v;
      }
      for (let c = 0; c < K; c++) out[i * K + c] /= total;
    }
    return out;
  }

  predict(X: Matrix): Int32Array {
    const p = this.predictProba(X);
    const K = this.nClasses;
    const out = new Int32Array(X.nRows);
    for (let i = 0; i < out.length; i++) {
      let best = 0;
      for (let c = 1; c < K; c++) if (p[i * K + c] > p[i * K + best]) best = c;
      out[i] = best;
    }
    return out;
  }

  toJSON(): SerializedModel {
    const { data, labels, weights } = this.init;
    const bytes = new DataView(new ArrayBuffer(data.length * 4));
    for (let i = 0; i < data.length; i++) bytes.setFloat32(4 * i, data[i], true);
    const state: KnnState = {
      nRows: labels.length,
      data: Buffer.from(bytes.buffer).toString("base64"),
      labels: Array.from(labels),
      weights: weights ? Array.from(weights) : null,
    };
    const { n_threads: _, ...params } = this.init.params;
    return {
      format: "netwarden.model/v1",
      kind: KNN_KIND,
      params,
      nFeatures: this.nFeatures,
      nClasses: this.nClasses,
      ...(this.init.featureNames ? { featureNames: [...this.init.featureNames] } : {}),
      state,
    };
  }
}

/** Rebuilds a model from `toJSON()` output; the envelope is checked by the registry. */
export function loadKnn(json: SerializedModel): KnnModel {
  const bad = (what: string): never => {
    throw new NetwardenError("NW_MODEL_FORMAT", `knn model: ${what}`, {
      where: "model state",
      hint: "The model file is damaged or was not written by netwarden; retrain or restore it",
    });
  };
  let params: Record<string, unknown>;
  try {
    params = resolveParams(KNN_KIND, KNN_PARAMS, json.params);
  } catch (e) {
    return bad(`params: ${(e as Error).message}`);
  }
  const s = json.state as Partial<KnnState> | null;
  if (!s || typeof s !== "object") return bad("state is missing");
  const n = s.nRows;
  if (!Number.isInteger(n) || (n as number) < (params.n_neighbors as number)) {
    bad(`nRows must be an integer ≥ n_neighbors (${params.n_neighbors})`);
  }
  const nRows = n as number;
  const d = json.nFeatures;
  if (typeof s.data !== "string") return bad("data is not a base64 string");
  const bytes = Buffer.from(s.data, "base64");
  if (bytes.length !== nRows * d * 4) bad(`data holds ${bytes.length} bytes, expected ${nRows * d * 4}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float32Array(nRows * d);
  for (let i = 0; i < data.length; i++) {
    data[i] = view.getFloat32(4 * i, true);
    if (!Number.isFinite(data[i])) bad(`data value ${i} is not finite`);
  }
  const labels = s.labels;
  if (
    !Array.isArray(labels) ||
    labels.length !== nRows ||
    !labels.every((c) => Number.isInteger(c) && c >= 0 && c < json.nClasses)
  ) {
    return bad(`labels must be ${nRows} class indices below ${json.nClasses}`);
  }
  let weights: Float64Array | null = null;
  if (s.weights !== null) {
    if (
      !Array.isArray(s.weights) ||
      s.weights.length !== nRows ||
      !s.weights.every((v) => typeof v === "number" && Number.isFinite(v) && v > 0)
    ) {
      return bad(`weights must be null or ${nRows} positive numbers`);
    }
    weights = Float64Array.from(s.weights);
  }
  return new KnnModel({
    params,
    nFeatures: d,
    nClasses: json.nClasses,
    featureNames: json.featureNames ? [...json.featureNames] : undefined,
    data,
    labels: Int32Array.from(labels),
    weights,
  });
}
