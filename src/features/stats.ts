import { NetwardenError } from "../core/index.js";

const EPS = 2.220446049250313e-16;

/** The non-missing values, sorted ascending. */
export function sortedPresent(values: Float64Array): Float64Array {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) n++;
  const out = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) out[j++] = values[i];
  return out.sort();
}

/** Median of sorted values: the middle one, or the mean of the two middle ones (numpy.median). */
export function medianSorted(sorted: Float64Array): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = n >> 1;
  return n % 2 === 1 ? sorted[h] : (sorted[h - 1] + sorted[h]) / 2;
}

/**
 * Quantile `q` in [0, 1] of sorted values with linear interpolation between order statistics:
 * numpy's default ("linear", Hyndman–Fan type 7), which sklearn's RobustScaler uses. The
 * interpolation is written as numpy writes it so results agree to the last bit.
 */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const t = h - lo;
  const a = sorted[lo];
  const b = sorted[hi];
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

export interface MeanVar {
  /** Number of non-missing values. */
  n: number;
  mean: number;
  /** Population variance (ddof = 0). */
  variance: number;
}

/** Mean and variance of the non-missing values, two-pass with sklearn's correction term. */
export function meanVar(values: Float64Array): MeanVar {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isNaN(v)) {
      n++;
      sum += v;
    }
  }
  if (n === 0) return { n, mean: Number.NaN, variance: Number.NaN };
  const mean = sum / n;
  let sq = 0;
  let corr = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isNaN(v)) {
      const d = v - mean;
      corr += d;
      sq += d * d;
    }
  }
  return { n, mean, variance: Math.max(0, (sq - (corr * corr) / n) / n) };
}

/**
 * A variance this small is rounding noise of a constant column (sklearn's `_is_constant_feature`):
 * dividing by its root would blow values up instead of leaving them centred.
 */
export function isConstant({ n, mean, variance }: MeanVar): boolean {
  return variance <= n * EPS * variance + (n * mean * EPS) ** 2;
}

/** A scale below this is treated as zero (sklearn's `_handle_zeros_in_scale`). */
export const MIN_SCALE = 10 * EPS;

/** Statistics go into JSON and into every prediction, so an infinite one is refused at fit time. */
export function requireFinite(value: number, column: string, what: string): number {
  if (!Number.isFinite(value)) {
    throw new NetwardenError("NW_TRANSFORM_INVALID", `the ${what} of column \`${column}\` is not finite`, {
      where: `column \`${column}\``,
      hint: "The column holds infinite or extremely large values; clean them or drop the column",
    });
  }
  return value;
}

export function noValuesError(column: string, what: string): NetwardenError {
  return new NetwardenError(
    "NW_TRANSFORM_INVALID",
    `column \`${column}\` has no non-missing values to compute the ${what} from`,
    {
      where: `column \`${column}\``,
      hint: "Drop the column, or impute it with a constant",
    },
  );
}
