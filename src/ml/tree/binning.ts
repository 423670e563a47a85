import { Rng } from "../../core/index.js";
import { getColumn, strides } from "../matrix.js";
import type { Matrix } from "../types.js";

/** Rows used to choose bin edges; enough for stable quantiles (LightGBM uses the same default). */
export const BIN_SAMPLE_ROWS = 200_000;

/**
 * Features mapped to small integers: for feature f, non-missing values go to bins 0..nBins[f]-1 and
 * NaN goes to bin nBins[f] (its own bin, so each split can learn where missing values belong).
 * Bin b holds the values x with upper[f][b-1] < x ≤ upper[f][b]; the last upper bound is +Infinity.
 */
export interface BinMapper {
  readonly nFeatures: number;
  /** Non-missing bins per feature (1..maxBins). */
  readonly nBins: Uint16Array;
  /** Per feature: increasing upper bounds, one per non-missing bin. */
  readonly upper: readonly Float64Array[];
}

/** Binned matrix, column-major: bins[f * nRows + i]. */
export interface BinnedMatrix {
  readonly bins: Uint8Array;
  readonly nRows: number;
  readonly nFeatures: number;
}

/**
 * Chooses up to `maxBins` (≤ 255) quantile bins per feature. Features with at most `maxBins`
 * distinct values get one bin per value; edges sit halfway between neighbouring values so that
 * unseen values in between fall on the nearer side.
 */
export function fitBins(X: Matrix, maxBins: number, seed: number): BinMapper {
  const n = X.nRows;
  let rows: Int32Array | null = null;
  if (n > BIN_SAMPLE_ROWS) {
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    const rng = new Rng(seed);
    for (let i = 0; i < BIN_SAMPLE_ROWS; i++) {
      const j = i + rng.int(n - i);
      const t = all[i];
      all[i] = all[j];
      all[j] = t;
    }
    rows = all.subarray(0, BIN_SAMPLE_ROWS).sort();
  }
  const nBins = new Uint16Array(X.nCols);
  const upper: Float64Array[] = [];
  const col = new Float64Array(n);
  const { rowStride, colStride } = strides(X);
  for (let f = 0; f < X.nCols; f++) {
    let vals: Float64Array;
    if (rows) {
      vals = new Float64Array(rows.length);
      for (let k = 0; k < rows.length; k++) vals[k] = X.data[rows[k] * rowStride + f * colStride];
    } else {
      vals = getColumn(X, f, col);
    }
    let m = 0;
    for (let i = 0; i < vals.length; i++) if (!Number.isNaN(vals[i])) vals[m++] = vals[i];
    const u = binEdges(vals.subarray(0, m).sort(), maxBins);
    upper.push(u);
    nBins[f] = u.length;
  }
  return { nFeatures: X.nCols, nBins, upper };
}

/** Upper bounds (last = +Infinity) for sorted, NaN-free values. */
export function binEdges(sorted: Float64Array, maxBins: number): Float64Array {
  const n = sorted.length;
  if (n === 0) return Float64Array.of(Number.POSITIVE_INFINITY);
  const values: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) {
      values.push(sorted[i]);
      counts.push(1);
    } else counts[counts.length - 1]++;
  }
  const d = values.length;
  const edges: number[] = [];
  if (d <= maxBins) {
    for (let i = 0; i < d - 1; i++) edges.push(midpoint(values[i], values[i + 1]));
  } else {
    // Greedy equal-frequency: close a bin once it reaches its share of the remaining rows, or when
    // taking the next value would overshoot by more than stopping undershoots (heavy values get
    // a bin of their own).
    let rest = n;
    let made = 0;
    let acc = 0;
    let target = rest / maxBins;
    for (let i = 0; i < d - 1 && made < maxBins - 1; i++) {
      acc += counts[i];
      const next = counts[i + 1];
      if (acc >= target || acc + next - target > target - acc || d - 1 - i <= maxBins - 1 - made) {
        edges.push(midpoint(values[i], values[i + 1]));
        made++;
        rest -= acc;
        acc = 0;
        target = rest / (maxBins - made);
      }
    }
  }
  edges.push(Number.POSITIVE_INFINITY);
  return Float64Array.from(edges);
}

/** A value m with a ≤ m < b, halfway when representable. */
function midpoint(a: number, b: number): number {
  const m = a / 2 + b / 2;
  return m >= b || m < a ? a : m;
}

/** Bin of one value: the first b with x ≤ upper[b]; NaN goes to the missing bin. */
export function binOf(upper: Float64Array, x: number): number {
  if (Number.isNaN(x)) return upper.length;
  let lo = 0;
  let hi = upper.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= upper[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Maps every value of X to its bin. */
export function applyBins(mapper: BinMapper, X: Matrix): BinnedMatrix {
  const n = X.nRows;
  const bins = new Uint8Array(n * mapper.nFeatures);
  const { rowStride, colStride } = strides(X);
  const data = X.data;
  for (let f = 0; f < mapper.nFeatures; f++) {
    const u = mapper.upper[f];
    const o = f * n;
    const xo = f * colStride;
    if (u.length <= 4) {
      // Few distinct values (flags, small categories): a linear scan beats the binary search.
      for (let i = 0; i < n; i++) {
        const x = data[xo + i * rowStride];
        let b = 0;
        if (Number.isNaN(x)) b = u.length;
        else while (x > u[b]) b++;
        bins[o + i] = b;
      }
    } else {
      for (let i = 0; i < n; i++) bins[o + i] = binOf(u, data[xo + i * rowStride]);
    }
  }
  return { bins, nRows: n, nFeatures: mapper.nFeatures };
}
