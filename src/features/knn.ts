import { NetwardenError, Rng } from "../core/index.js";
import type { Column, Table } from "../data/index.js";
import { numericValues, replaceColumns, resolveColumns } from "./columns.js";
import {
  formatError,
  nullableNumbers,
  readArray,
  readEnum,
  readInt,
  readNullableNumbers,
  readNumbers,
  readObject,
  readStringArray,
  uniqueNames,
} from "./json.js";
import { isConstant, meanVar, noValuesError, requireFinite } from "./stats.js";
import type { FittedTransformer, Transformer, TransformerJSON } from "./types.js";

export type KnnWeights = "uniform" | "distance";

export interface KNNImputerOptions {
  /** Columns to impute; default: every numeric column. */
  columns?: readonly string[];
  /** Columns the distance is measured on; default: `columns`. Must include `columns`. */
  features?: readonly string[];
  /** Neighbours averaged per imputed value (default 5). */
  n_neighbors?: number;
  /** uniform: plain mean of the neighbours; distance: weighted by 1 / distance (default uniform). */
  weights?: KnnWeights;
  /** Training rows kept as donors (default 2,000); more rows are sampled down with `seed`. */
  max_reference_rows?: number;
  /**
   * Divide each feature by its training standard deviation before measuring distance (default
   * false, as sklearn). Without it a feature counted in bytes drowns one counted in packets.
   */
  standardize?: boolean;
  seed: number;
}

export interface KNNImputerJSON extends TransformerJSON {
  kind: "knn_imputer";
  nNeighbors: number;
  weights: KnnWeights;
  features: string[];
  columns: string[];
  /** Per feature: the divisor applied before distances (1 when not standardising). */
  featureScale: number[];
  /** Per imputed column: training mean, used when a row shares no feature with any donor. */
  means: number[];
  /** Per feature: the donor values, null where missing. */
  reference: (number | null)[][];
}

function optionError(message: string, where: string, hint: string): NetwardenError {
  return new NetwardenError("NW_TRANSFORM_INVALID", message, { where: `knn imputer: ${where}`, hint });
}

function positiveInt(v: number | undefined, fallback: number, name: string): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < 1)
    throw optionError(
      `${name} must be an integer >= 1, got ${n}`,
      name,
      `Use a whole number such as ${fallback}`,
    );
  return n;
}

/**
 * Imputes each missing value with the mean of that column over the k nearest training rows, as
 * sklearn's KNNImputer: distance is nan-euclidean (coordinates missing on either side are skipped
 * and the sum scaled up by features / coordinates used), donors are rows where the column is
 * present and the distance is defined, and a row with no such donor gets the column's mean.
 * Equal distances are broken by training row order.
 */
export class KNNImputer implements Transformer<FittedKNNImputer> {
  readonly options: Readonly<Required<Omit<KNNImputerOptions, "columns" | "features">>> &
    Pick<KNNImputerOptions, "columns" | "features">;

  constructor(options: KNNImputerOptions) {
    const weights = options.weights ?? "uniform";
    if (weights !== "uniform" && weights !== "distance") {
      throw optionError(`unknown weights ${JSON.stringify(weights)}`, "weights", "Use uniform or distance");
    }
    if (!Number.isFinite(options.seed))
      throw optionError("seed must be a number", "seed", "Pass the seed from the config");
    this.options = {
      ...options,
      n_neighbors: positiveInt(options.n_neighbors, 5, "n_neighbors"),
      weights,
      max_reference_rows: positiveInt(options.max_reference_rows, 2000, "max_reference_rows"),
      standardize: options.standardize ?? false,
    };
  }

  fit(table: Table): FittedKNNImputer {
    const o = this.options;
    const columns = resolveColumns(table, o.columns, (c) => c.type === "numeric");
    if (columns.length === 0) {
      throw optionError("there are no numeric columns to impute", "columns", "List the columns to impute");
    }
    const features = o.features === undefined ? columns : resolveColumns(table, o.features, () => true);
    for (const c of columns) {
      if (!features.includes(c)) {
        throw optionError(
          `imputed column \`${c}\` is not among the distance features`,
          "features",
          "Add it to features",
        );
      }
    }
    if (table.nRows === 0) {
      throw new NetwardenError("NW_TRANSFORM_INVALID", "cannot fit the KNN imputer on a table with no rows", {
        hint: "Fit on the training data",
      });
    }
    const X = features.map((f) => numericValues(table, f));
    const featureScale = new Float64Array(features.length).fill(1);
    if (o.standardize) {
      features.forEach((f, j) => {
        const mv = meanVar(X[j]);
        if (mv.n > 0 && !isConstant(mv)) {
          featureScale[j] = requireFinite(Math.sqrt(mv.variance), f, "standard deviation");
        }
      });
    }
    const means = new Float64Array(columns.length);
    columns.forEach((c, j) => {
      const mv = meanVar(X[features.indexOf(c)]);
      if (mv.n === 0) throw noValuesError(c, "mean");
      means[j] = requireFinite(mv.mean, c, "mean");
    });
    // Donors are a seeded sample of the training rows so the bundle stays small (at most
    // max_reference_rows × features numbers) and serving cost per row is bounded.
    const rows = sampleRows(table.nRows, o.max_reference_rows, o.seed);
    const reference = X.map((x) => {
      const r = new Float64Array(rows.length);
      for (let i = 0; i < rows.length; i++) r[i] = x[rows[i]];
      return r;
    });
    return new FittedKNNImputer({
      nNeighbors: o.n_neighbors,
      weights: o.weights,
      features,
      columns,
      featureScale,
      means,
      reference,
    });
  }

  static load(json: unknown, where = "knn_imputer"): FittedKNNImputer {
    const o = readObject(json, where);
    readEnum(o.kind, `${where}.kind`, ["knn_imputer"]);
    const features = readStringArray(o.features, `${where}.features`);
    const columns = readStringArray(o.columns, `${where}.columns`);
    uniqueNames(features, `${where}.features`);
    uniqueNames(columns, `${where}.columns`);
    if (columns.length === 0) throw formatError(`${where}.columns`, "expected at least one column");
    columns.forEach((c, i) => {
      if (!features.includes(c)) throw formatError(`${where}.columns[${i}]`, `\`${c}\` is not a feature`);
    });
    const featureScale = readNumbers(o.featureScale, `${where}.featureScale`);
    if (featureScale.length !== features.length || featureScale.some((s) => !(s > 0))) {
      throw formatError(`${where}.featureScale`, "expected one positive number per feature");
    }
    const means = readNumbers(o.means, `${where}.means`);
    if (means.length !== columns.length)
      throw formatError(`${where}.means`, "expected one number per column");
    const ref = readArray(o.reference, `${where}.reference`);
    if (ref.length !== features.length)
      throw formatError(`${where}.reference`, "expected one array per feature");
    const reference = ref.map((r, i) => readNullableNumbers(r, `${where}.reference[${i}]`));
    if (reference.some((r) => r.length !== reference[0].length) || reference[0].length === 0) {
      throw formatError(`${where}.reference`, "expected equally long, non-empty arrays");
    }
    return new FittedKNNImputer({
      nNeighbors: readInt(o.nNeighbors, `${where}.nNeighbors`, 1),
      weights: readEnum(o.weights, `${where}.weights`, ["uniform", "distance"] as const),
      features,
      columns,
      featureScale,
      means,
      reference,
    });
  }
}

/** Sorted sample of `k` distinct row indices out of `n` (all of them when n <= k). */
function sampleRows(n: number, k: number, seed: number): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  if (n <= k) return idx;
  const rng = new Rng(seed);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx.slice(0, k).sort();
}

interface KnnState {
  nNeighbors: number;
  weights: KnnWeights;
  features: string[];
  columns: string[];
  featureScale: Float64Array;
  means: Float64Array;
  reference: Float64Array[];
}

export class FittedKNNImputer implements FittedTransformer {
  readonly kind = "knn_imputer" as const;
  readonly nNeighbors: number;
  readonly weights: KnnWeights;
  readonly features: readonly string[];
  readonly columns: readonly string[];
  private readonly state: KnnState;
  private readonly invScale: Float64Array;
  private readonly columnFeature: Int32Array;

  constructor(state: KnnState) {
    this.state = state;
    this.nNeighbors = state.nNeighbors;
    this.weights = state.weights;
    this.features = state.features;
    this.columns = state.columns;
    this.invScale = state.featureScale.map((s) => 1 / s);
    this.columnFeature = Int32Array.from(state.columns, (c) => state.features.indexOf(c));
  }

  /** Number of donor rows kept from training. */
  get referenceRows(): number {
    return this.state.reference[0].length;
  }

  transform(table: Table): Table {
    const { reference, means } = this.state;
    const X = this.features.map((f) => numericValues(table, f));
    const nF = X.length;
    const R = this.referenceRows;
    const k = this.nNeighbors;
    const colF = this.columnFeature;
    const outs = Array.from(colF, (f) => Float64Array.from(X[f]));
    const sum = new Float64Array(R);
    const used = new Int32Array(R);
    const dist = new Float64Array(R);
    const bestD = new Float64Array(k);
    const bestV = new Float64Array(k);
    for (let i = 0; i < table.nRows; i++) {
      let needs = false;
      for (let j = 0; j < colF.length; j++) if (Number.isNaN(X[colF[j]][i])) needs = true;
      if (!needs) continue;
      sum.fill(0);
      used.fill(0);
      for (let f = 0; f < nF; f++) {
        const a = X[f][i];
        if (Number.isNaN(a)) continue;
        const ref = reference[f];
        const s = this.invScale[f];
        for (let r = 0; r < R; r++) {
          const b = ref[r];
          if (!Number.isNaN(b)) {
            const d = (a - b) * s;
            sum[r] += d * d;
            used[r]++;
          }
        }
      }
      for (let r = 0; r < R; r++) dist[r] = used[r] === 0 ? Number.NaN : Math.sqrt((sum[r] / used[r]) * nF);
      for (let j = 0; j < colF.length; j++) {
        if (!Number.isNaN(X[colF[j]][i])) continue;
        const donor = reference[colF[j]];
        // Insertion into a sorted top-k: k is small, and a strict < keeps the earlier row on ties.
        let n = 0;
        for (let r = 0; r < R; r++) {
          const v = donor[r];
          const d = dist[r];
          if (Number.isNaN(v) || Number.isNaN(d)) continue;
          if (n === k && d >= bestD[k - 1]) continue;
          let p = n < k ? n++ : k - 1;
          while (p > 0 && bestD[p - 1] > d) {
            bestD[p] = bestD[p - 1];
            bestV[p] = bestV[p - 1];
            p--;
          }
          bestD[p] = d;
          bestV[p] = v;
        }
        outs[j][i] = n === 0 ? means[j] : this.average(bestD, bestV, n);
      }
    }
    const replacements = new Map<string, Column[]>(
      this.columns.map((name, j) => [name, [{ type: "numeric", name, values: outs[j] }]]),
    );
    return replaceColumns(table, replacements);
  }

  private average(d: Float64Array, v: Float64Array, n: number): number {
    let num = 0;
    let den = 0;
    if (this.weights === "uniform" || d[0] === 0) {
      // With distance weights an exact match has infinite weight: average the exact matches only.
      const exactOnly = this.weights === "distance";
      for (let i = 0; i < n; i++) {
        if (exactOnly && d[i] !== 0) break;
        num += v[i];
        den++;
      }
    } else {
      for (let i = 0; i < n; i++) {
        num += v[i] / d[i];
        den += 1 / d[i];
      }
    }
    return num / den;
  }

  toJSON(): KNNImputerJSON {
    const s = this.state;
    return {
      kind: "knn_imputer",
      nNeighbors: s.nNeighbors,
      weights: s.weights,
      features: [...s.features],
      columns: [...s.columns],
      featureScale: Array.from(s.featureScale),
      means: Array.from(s.means),
      reference: s.reference.map(nullableNumbers),
    };
  }
}
