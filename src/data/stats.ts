import { NetwardenError } from "../core/index.js";
import type { DataSchema } from "./schema.js";
import { type Column, MISSING_CODE, type Table } from "./table.js";

/**
 * Share given to an empty bin before taking logs in PSI (the same 0.0001 Evidently uses): without
 * it one empty bin makes PSI infinite; with it an empty bin that holds a share p on the other side
 * adds about p·ln(p / 0.0001).
 */
export const PSI_EPSILON = 1e-4;

export interface DriftThresholds {
  /** PSI at or above this marks drift (0.2: the usual "significant shift" line; 0.1–0.2 is "moderate"). */
  psi: number;
  /** A KS or chi-squared p-value below this marks drift. */
  pValue: number;
  /** Fewer rows than this on either side: no verdict, `insufficient: true`. */
  minRows: number;
  /** Quantile bins of the reference for numeric PSI. */
  bins: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: Readonly<DriftThresholds> = {
  psi: 0.2,
  pValue: 0.01,
  minRows: 100,
  bins: 10,
};

export interface PsiBin {
  label: string;
  /** Rows of the reference (train) side in the bin. */
  ref: number;
  /** Rows of the compared (test / production) side in the bin. */
  test: number;
}

export interface PsiResult {
  /** Null when `insufficient`. */
  psi: number | null;
  insufficient: boolean;
  nRef: number;
  nTest: number;
  bins: PsiBin[];
}

export interface PsiOptions {
  bins?: number;
  minRows?: number;
  epsilon?: number;
}

/**
 * PSI = Σ (aᵢ − eᵢ)·ln(aᵢ / eᵢ) over bins, e = reference shares, a = compared shares; a share of 0
 * counts as `epsilon`.
 */
export function psiFromCounts(
  ref: ArrayLike<number>,
  test: ArrayLike<number>,
  epsilon = PSI_EPSILON,
): number {
  if (ref.length !== test.length) {
    throw new NetwardenError("NW_INTERNAL", `PSI bins differ in number (${ref.length} and ${test.length})`);
  }
  let nr = 0;
  let nt = 0;
  for (let i = 0; i < ref.length; i++) {
    nr += ref[i];
    nt += test[i];
  }
  if (nr === 0 || nt === 0) return Number.NaN;
  let psi = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.max(ref[i] / nr, epsilon);
    const a = Math.max(test[i] / nt, epsilon);
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

/**
 * PSI of a numeric feature. Bins: the reference's quantiles at k/bins split [min, max] of the
 * reference into right-closed bins; values below the reference min, above its max, and missing
 * values get a bin each. Quantiles are reference values (numpy's "inverted_cdf": the smallest
 * value whose share of rows at or below it reaches k/bins), and repeated edges are merged, so a
 * discrete feature gets one bin per value instead of bins between values that no row can fill.
 */
export function psiNumeric(ref: Float64Array, test: Float64Array, options: PsiOptions = {}): PsiResult {
  return psiWithSortedRef(nonMissingSorted(ref), ref, test, options);
}

function psiWithSortedRef(
  sorted: Float64Array,
  ref: Float64Array,
  test: Float64Array,
  options: PsiOptions,
): PsiResult {
  const nBins = options.bins ?? DEFAULT_DRIFT_THRESHOLDS.bins;
  if (!(Number.isInteger(nBins) && nBins >= 1)) {
    throw new NetwardenError("NW_CONFIG_INVALID_VALUE", `PSI bins must be a whole number ≥ 1, got ${nBins}`, {
      where: "drift.bins",
    });
  }
  const edges: number[] = [];
  const lo = sorted.length ? sorted[0] : Number.NaN;
  const hi = sorted.length ? sorted[sorted.length - 1] : Number.NaN;
  for (let k = 1; k < nBins && sorted.length; k++) {
    // The 1e-9 keeps float noise (0.3 × 100 = 30.000000000000004) from moving an edge up a row.
    const e = sorted[Math.max(0, Math.ceil((k / nBins) * sorted.length - 1e-9) - 1)];
    if (e < hi && (edges.length === 0 || e > edges[edges.length - 1])) edges.push(e);
  }
  // Layout: [below min] [inner bins…] [above max] [missing]
  const inner = sorted.length ? edges.length + 1 : 0;
  const count = (v: Float64Array): Float64Array => {
    const c = new Float64Array(inner + 3);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (Number.isNaN(x)) c[inner + 2]++;
      else if (!(x >= lo)) c[0]++;
      else if (!(x <= hi)) c[inner + 1]++;
      else c[1 + lowerBound(edges, x)]++;
    }
    return c;
  };
  const rc = count(ref);
  const tc = count(test);
  const labels = [`< ${num(lo)}`];
  for (let b = 0; b < inner; b++) {
    const left = b === 0 ? `[${num(lo)}` : `(${num(edges[b - 1])}`;
    const right = b === inner - 1 ? num(hi) : num(edges[b]);
    labels.push(`${left}, ${right}]`);
  }
  labels.push(`> ${num(hi)}`, "missing");
  return finishPsi(labels, rc, tc, ref.length, test.length, options);
}

/** PSI of a categorical feature: one bin per reference category, one for unseen categories, one for missing. */
export function psiCategorical(ref: Column, test: Column, options: PsiOptions = {}): PsiResult {
  const r = labelCounts(ref);
  const t = labelCounts(test);
  const labels = [...r.counts.keys()];
  const rc = new Float64Array(labels.length + 2);
  const tc = new Float64Array(labels.length + 2);
  labels.forEach((label, i) => {
    rc[i] = r.counts.get(label)!;
    tc[i] = t.counts.get(label) ?? 0;
  });
  for (const [label, n] of t.counts) if (!r.counts.has(label)) tc[labels.length] += n;
  rc[labels.length + 1] = r.missing;
  tc[labels.length + 1] = t.missing;
  return finishPsi([...labels, "(unseen)", "missing"], rc, tc, r.rows, t.rows, options);
}

function finishPsi(
  labels: string[],
  rc: Float64Array,
  tc: Float64Array,
  nRef: number,
  nTest: number,
  options: PsiOptions,
): PsiResult {
  const minRows = options.minRows ?? DEFAULT_DRIFT_THRESHOLDS.minRows;
  const insufficient = nRef < minRows || nTest < minRows;
  return {
    psi: insufficient ? null : psiFromCounts(rc, tc, options.epsilon ?? PSI_EPSILON),
    insufficient,
    nRef,
    nTest,
    bins: labels.map((label, i) => ({ label, ref: rc[i], test: tc[i] })),
  };
}

// ---------------------------------------------------------------------------------------------
// Kolmogorov–Smirnov

export interface KsResult {
  /** max |F₁(x) − F₂(x)| over the pooled values; NaN when a side has no values. */
  d: number;
  pValue: number;
  /** Non-missing values on each side. */
  n1: number;
  n2: number;
}

/**
 * Two-sample Kolmogorov–Smirnov test (missing values ignored). The p-value is the asymptotic
 * Kolmogorov distribution at λ = (√nₑ + 0.12 + 0.11/√nₑ)·D, nₑ = n₁n₂/(n₁+n₂) (Stephens' effective-n
 * correction, as in Numerical Recipes and scipy's `ks_2samp(mode="asymp")` before scipy 1.5).
 * Newer scipy evaluates the finite-n distribution `kstwo.sf(D, round(nₑ))` instead; for p-values
 * between 0.001 and 0.3 and nₑ ≥ 50 the two agree within about 2 % of p.
 */
export function ksTwoSample(a: Float64Array, b: Float64Array): KsResult {
  return ksSorted(nonMissingSorted(a), nonMissingSorted(b));
}

/** KS on the sorted non-missing values of each side. */
function ksSorted(x: Float64Array, y: Float64Array): KsResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return { d: Number.NaN, pValue: Number.NaN, n1, n2 };
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n1 && j < n2) {
    const v = Math.min(x[i], y[j]);
    while (i < n1 && x[i] === v) i++;
    while (j < n2 && y[j] === v) j++;
    const diff = Math.abs(i / n1 - j / n2);
    if (diff > d) d = diff;
  }
  const en = Math.sqrt((n1 * n2) / (n1 + n2));
  return { d, pValue: kolmogorovSf((en + 0.12 + 0.11 / en) * d), n1, n2 };
}

/**
 * Q_KS(λ) = P(K > λ) of the Kolmogorov distribution: 2 Σ (−1)^(j−1) e^(−2j²λ²), or for small λ
 * the equivalent 1 − (√(2π)/λ) Σ e^(−(2j−1)²π²/(8λ²)), which converges fast there (Numerical Recipes 3, §6.14).
 */
export function kolmogorovSf(lambda: number): number {
  if (!(lambda > 0)) return 1;
  if (lambda < 1.18) {
    const y = Math.exp(-(Math.PI * Math.PI) / 8 / (lambda * lambda));
    const p = (4 / Math.sqrt(Math.PI)) * Math.sqrt(-Math.log(y)) * (y + y ** 9 + y ** 25 + y ** 49);
    return clamp01(1 - p);
  }
  const x = Math.exp(-2 * lambda * lambda);
  return clamp01(2 * (x - x ** 4 + x ** 9));
}

// ---------------------------------------------------------------------------------------------
// Chi-squared

export interface Chi2Result {
  chi2: number;
  dof: number;
  pValue: number;
  /** Categories compared (those seen on at least one side). */
  categories: string[];
}

/**
 * Chi-squared test of homogeneity on a 2 × k table of counts (no continuity correction, as
 * scipy's `chi2_contingency(..., correction=False)`). Categories empty on both sides are left out;
 * with fewer than two categories left there is nothing to compare: χ² = 0, p = 1.
 */
export function chi2FromCounts(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): { chi2: number; dof: number; pValue: number } {
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    na += a[i];
    nb += b[i];
  }
  const n = na + nb;
  let chi2 = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    const col = a[i] + b[i];
    if (col === 0) continue;
    k++;
    const ea = (na * col) / n;
    const eb = (nb * col) / n;
    if (ea > 0) chi2 += (a[i] - ea) ** 2 / ea;
    if (eb > 0) chi2 += (b[i] - eb) ** 2 / eb;
  }
  if (k < 2 || na === 0 || nb === 0) return { chi2: 0, dof: Math.max(0, k - 1), pValue: 1 };
  return { chi2, dof: k - 1, pValue: chi2Sf(chi2, k - 1) };
}

/** Chi-squared homogeneity of a categorical column between two tables, categories matched by text; missing is a category. */
export function chi2Categorical(ref: Column, test: Column): Chi2Result {
  const r = labelCounts(ref);
  const t = labelCounts(test);
  const categories = [...new Set([...r.counts.keys(), ...t.counts.keys()])];
  const a = categories.map((c) => r.counts.get(c) ?? 0);
  const b = categories.map((c) => t.counts.get(c) ?? 0);
  if (r.missing + t.missing > 0) {
    categories.push("missing");
    a.push(r.missing);
    b.push(t.missing);
  }
  return { ...chi2FromCounts(a, b), categories };
}

/** P(χ²_dof > x), the upper tail of the chi-squared distribution. */
export function chi2Sf(x: number, dof: number): number {
  if (!(dof > 0)) return Number.NaN;
  if (!(x > 0)) return 1;
  return gammaQ(dof / 2, x / 2);
}

const GAMMA_EPS = 1e-15;
const FPMIN = 1e-300;

/**
 * Regularised upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a): the series for P when x < a + 1,
 * else the continued fraction for Q (modified Lentz), as in Numerical Recipes 3, §6.2.
 */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return Number.NaN;
  if (x === 0) return 1;
  if (x < a + 1) return clamp01(1 - gammaSeries(a, x));
  return clamp01(gammaContinuedFraction(a, x));
}

function gammaSeries(a: number, x: number): number {
  let ap = a;
  let del = 1 / a;
  let sum = del;
  for (let n = 0; n < 10_000; n++) {
    ap++;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * GAMMA_EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - lnGamma(a));
}

function gammaContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / FPMIN;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = b + an / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < GAMMA_EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - lnGamma(a)) * h;
}

// Coefficients as printed in Numerical Recipes, rounded to the nearest double.
const LANCZOS = [
  57.15623566586292, -59.59796035547549, 14.136097974741746, -0.4919138160976202, 0.00003399464998481189,
  0.00004652362892704858, -0.00009837447530487956, 0.0001580887032249125, -0.00021026444172410488,
  0.00021743961811521265, -0.0001643181065367639, 0.00008441822398385275, -0.000026190838401581408,
  0.0000036899182659531625,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 607/128, 14 terms; relative error below 1e-15; Numerical Recipes 3, §6.1). */
export function lnGamma(x: number): number {
  let y = x;
  let tmp = x + 5.2421875;
  tmp = (x + 0.5) * Math.log(tmp) - tmp;
  let ser = 0.9999999999999971;
  for (const c of LANCZOS) ser += c / ++y;
  return tmp + Math.log((2.5066282746310007 * ser) / x);
}

// ---------------------------------------------------------------------------------------------
// Drift report

export interface FeatureDrift {
  column: string;
  /** numeric: KS + quantile-bin PSI; categorical (and binary): chi-squared + per-category PSI. */
  kind: "numeric" | "categorical";
  test: "ks" | "chi2";
  psi: number | null;
  /** KS D or χ²; null when a side has no values. */
  statistic: number | null;
  /** Degrees of freedom of the chi-squared test. */
  dof?: number;
  pValue: number | null;
  insufficient: boolean;
  drifted: boolean;
  nRef: number;
  nTest: number;
  bins: PsiBin[];
}

export interface DriftReport {
  features: FeatureDrift[];
  nDrifted: number;
  /** Drifted features / features with a verdict (0 when none has one). */
  driftedShare: number;
  nInsufficient: number;
  thresholds: DriftThresholds;
}

/**
 * Compares every feature of the schema between a reference (train) table and another (test or
 * production) table. A feature has drifted when PSI ≥ thresholds.psi or the test's p-value <
 * thresholds.pValue (defaults 0.2 and 0.01; see DEFAULT_DRIFT_THRESHOLDS). With fewer than
 * `minRows` rows on a side there is no verdict (`insufficient`). Note that with tens of thousands
 * of rows p-values flag even tiny shifts; PSI is the effect size to read next to them.
 */
export function driftReport(
  train: Table,
  test: Table,
  schema: DataSchema,
  thresholds: Partial<DriftThresholds> = {},
): DriftReport {
  const th: DriftThresholds = { ...DEFAULT_DRIFT_THRESHOLDS, ...thresholds };
  const features: FeatureDrift[] = [];
  for (const spec of schema.columns) {
    if (spec.role !== "feature") continue;
    const a = train.column(spec.name);
    const b = test.column(spec.name);
    const numeric = spec.type === "numeric" && a.type === "numeric" && b.type === "numeric";
    if (numeric) {
      // Sort each side once for both statistics.
      const sa = nonMissingSorted(a.values);
      const psi = psiWithSortedRef(sa, a.values, b.values, { bins: th.bins, minRows: th.minRows });
      const ks = ksSorted(sa, nonMissingSorted(b.values));
      features.push(
        verdict(spec.name, "numeric", "ks", psi, Number.isNaN(ks.d) ? null : ks.d, ks.pValue, th),
      );
    } else {
      const psi = psiCategorical(a, b, { minRows: th.minRows });
      const chi = chi2Categorical(a, b);
      const f = verdict(spec.name, "categorical", "chi2", psi, chi.chi2, chi.pValue, th);
      f.dof = chi.dof;
      features.push(f);
    }
  }
  const judged = features.filter((f) => !f.insufficient);
  const nDrifted = judged.filter((f) => f.drifted).length;
  return {
    features,
    nDrifted,
    driftedShare: judged.length ? nDrifted / judged.length : 0,
    nInsufficient: features.length - judged.length,
    thresholds: th,
  };
}

function verdict(
  column: string,
  kind: FeatureDrift["kind"],
  test: FeatureDrift["test"],
  psi: PsiResult,
  statistic: number | null,
  pValue: number,
  th: DriftThresholds,
): FeatureDrift {
  const insufficient = psi.insufficient;
  const p = insufficient || Number.isNaN(pValue) ? null : pValue;
  const drifted = !insufficient && ((psi.psi !== null && psi.psi >= th.psi) || (p !== null && p < th.pValue));
  return {
    column,
    kind,
    test,
    psi: psi.psi,
    statistic: insufficient ? null : statistic,
    pValue: p,
    insufficient,
    drifted,
    nRef: psi.nRef,
    nTest: psi.nTest,
    bins: psi.bins,
  };
}

// ---------------------------------------------------------------------------------------------
// helpers

function nonMissingSorted(v: Float64Array): Float64Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) if (!Number.isNaN(v[i])) n++;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < v.length; i++) if (!Number.isNaN(v[i])) out[k++] = v[i];
  return out.sort();
}

/** Index of the first edge ≥ x. */
function lowerBound(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts per value label (numeric values become their decimal text) plus missing. */
function labelCounts(c: Column): { counts: Map<string, number>; missing: number; rows: number } {
  const counts = new Map<string, number>();
  let missing = 0;
  if (c.type === "numeric") {
    const byValue = new Map<number, number>();
    for (const x of c.values) {
      if (Number.isNaN(x)) missing++;
      else byValue.set(x, (byValue.get(x) ?? 0) + 1);
    }
    for (const [x, n] of [...byValue].sort((p, q) => p[0] - q[0])) counts.set(String(x), n);
    return { counts, missing, rows: c.values.length };
  }
  const byCode = new Float64Array(c.categories.length);
  for (const code of c.codes) {
    if (code === MISSING_CODE) missing++;
    else byCode[code]++;
  }
  c.categories.forEach((label, code) => {
    if (byCode[code] > 0) counts.set(label, (counts.get(label) ?? 0) + byCode[code]);
  });
  return { counts, missing, rows: c.codes.length };
}

function num(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(6))) : String(x);
}

function clamp01(p: number): number {
  return Math.min(1, Math.max(0, p));
}
