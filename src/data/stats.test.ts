import { describe, expect, it } from "vitest";
import type { DataSchema } from "./schema.js";
import {
  chi2Categorical,
  chi2FromCounts,
  chi2Sf,
  DEFAULT_DRIFT_THRESHOLDS,
  driftReport,
  gammaQ,
  kolmogorovSf,
  ksTwoSample,
  lnGamma,
  PSI_EPSILON,
  psiCategorical,
  psiFromCounts,
  psiNumeric,
} from "./stats.js";
import { categoricalColumn, numericColumn, Table } from "./table.js";

const f64 = (a: number[]) => Float64Array.from(a);
const range = (from: number, to: number) => f64(Array.from({ length: to - from + 1 }, (_, i) => from + i));
const eps = PSI_EPSILON;

describe("PSI", () => {
  it("from counts: hand-computed values, and epsilon for empty bins", () => {
    // (0.4 − 0.5)·ln(0.4/0.5) + (0.6 − 0.5)·ln(0.6/0.5)
    expect(psiFromCounts([50, 50], [40, 60])).toBeCloseTo(0.022314355 + 0.018232156, 8);
    expect(psiFromCounts([3, 7, 0], [30, 70, 0])).toBe(0);
    // Empty reference bin: its share counts as 1e-4: (0.9 − 1)·ln 0.9 + (0.1 − 1e-4)·ln(0.1 / 1e-4)
    expect(eps).toBe(1e-4);
    expect(psiFromCounts([100, 0], [90, 10])).toBeCloseTo(0.01053605 + 0.0999 * Math.log(1000), 7);
    expect(psiFromCounts([100, 0], [90, 10])).toBeCloseTo(0.7006208, 6);
  });

  it("numeric: reference quantile bins plus below-min, above-max and missing bins", () => {
    // Reference 1..100, 4 bins: edges at the 25/50/75 % quantiles = 25, 50, 75.
    const r = psiNumeric(range(1, 100), range(51, 150), { bins: 4 });
    expect(r.bins.map((b) => b.label)).toEqual([
      "< 1",
      "[1, 25]",
      "(25, 50]",
      "(50, 75]",
      "(75, 100]",
      "> 100",
      "missing",
    ]);
    expect(r.bins.map((b) => b.ref)).toEqual([0, 25, 25, 25, 25, 0, 0]);
    expect(r.bins.map((b) => b.test)).toEqual([0, 0, 0, 25, 25, 50, 0]);
    const expected = 2 * (eps - 0.25) * Math.log(eps / 0.25) + (0.5 - eps) * Math.log(0.5 / eps);
    expect(r.psi).toBeCloseTo(expected, 10);
    expect(r.psi).toBeCloseTo(8.1682031, 6);
    expect(r.insufficient).toBe(false);
  });

  it("numeric: repeated values share a bin, missing values have their own", () => {
    const ref = f64([...Array(60).fill(-1), ...Array(30).fill(0), ...Array(10).fill(1)]);
    const test = f64([
      ...Array(50).fill(-1),
      ...Array(30).fill(0),
      ...Array(10).fill(1),
      ...Array(10).fill(Number.NaN),
    ]);
    const r = psiNumeric(ref, test);
    // 10 bins asked; the quantile edges are -1 (10 %…60 %) and 0 (70 %…90 %): one bin per value.
    expect(r.bins.map((b) => [b.label, b.ref, b.test])).toEqual([
      ["< -1", 0, 0],
      ["[-1, -1]", 60, 50],
      ["(-1, 0]", 30, 30],
      ["(0, 1]", 10, 10],
      ["> 1", 0, 0],
      ["missing", 0, 10],
    ]);
    expect(r.psi).toBeCloseTo((0.5 - 0.6) * Math.log(0.5 / 0.6) + (0.1 - eps) * Math.log(0.1 / eps), 10);
  });

  it("gives no number below the sample-size guard", () => {
    const r = psiNumeric(range(1, 99), range(1, 500));
    expect(r.insufficient).toBe(true);
    expect(r.psi).toBeNull();
    expect(r.nRef).toBe(99);
    expect(psiNumeric(range(1, 99), range(1, 500), { minRows: 50 }).psi).not.toBeNull();
  });

  it("categorical: categories matched by text, plus unseen and missing bins", () => {
    const ref = categoricalColumn("c", [
      ...Array(50).fill("a"),
      ...Array(30).fill("b"),
      ...Array(20).fill("c"),
    ]);
    // Different dictionary order on the other side, an unseen value and missing values.
    const test = categoricalColumn("c", [
      ...Array(20).fill("d"),
      ...Array(30).fill("b"),
      ...Array(40).fill("a"),
      ...Array(10).fill(null),
    ]);
    const r = psiCategorical(ref, test);
    expect(r.bins).toEqual([
      { label: "a", ref: 50, test: 40 },
      { label: "b", ref: 30, test: 30 },
      { label: "c", ref: 20, test: 0 },
      { label: "(unseen)", ref: 0, test: 20 },
      { label: "missing", ref: 0, test: 10 },
    ]);
    const expected =
      (0.4 - 0.5) * Math.log(0.4 / 0.5) +
      (eps - 0.2) * Math.log(eps / 0.2) +
      (0.2 - eps) * Math.log(0.2 / eps) +
      (0.1 - eps) * Math.log(0.1 / eps);
    expect(r.psi).toBeCloseTo(expected, 10);
  });
});

describe("Kolmogorov–Smirnov", () => {
  it("computes D by hand on tiny samples, ties included", () => {
    expect(ksTwoSample(range(1, 5), range(6, 10)).d).toBe(1);
    // At x = 4: F1 = 4/4, F2 = 2/5.
    expect(ksTwoSample(f64([1, 2, 3, 4]), f64([2.5, 3.5, 5, 6, 7])).d).toBeCloseTo(0.6, 15);
    // At x = 1 (tied on both sides): F1 = 2/3, F2 = 1/3.
    expect(ksTwoSample(f64([1, 1, 2]), f64([1, 2, 2])).d).toBeCloseTo(1 / 3, 15);
    expect(ksTwoSample(f64([1, 2, Number.NaN]), f64([1, 2])).n1).toBe(2);
    expect(ksTwoSample(f64([1, 2, Number.NaN]), f64([1, 2])).d).toBe(0);
    expect(ksTwoSample(f64([]), f64([1])).d).toBeNaN();
  });

  it("p-value: the Kolmogorov series at the Stephens-corrected λ", () => {
    const en = Math.sqrt(25 / 10);
    const lambda = en + 0.12 + 0.11 / en;
    let q = 0;
    for (let j = 1; j <= 100; j++) q += 2 * (-1) ** (j - 1) * Math.exp(-2 * j * j * lambda * lambda);
    const r = ksTwoSample(range(1, 5), range(6, 10));
    expect(r.pValue).toBeCloseTo(q, 14);
    // scipy.stats.kstwobign.sf at the same λ:
    expect(r.pValue).toBeCloseTo(0.003781354059370101, 14);
    expect(ksTwoSample(f64([1, 2, 3, 4]), f64([2.5, 3.5, 5, 6, 7])).pValue).toBeCloseTo(
      0.2587046967126684,
      14,
    );
  });

  it("Q_KS matches scipy.stats.kstwobign.sf on both sides of the series switch", () => {
    const cases: [number, number][] = [
      [0.3, 0.9999906941986655],
      [0.5, 0.9639452436648751],
      [1.0, 0.2699996716773546],
      [1.17, 0.12939004218561878],
      [1.19, 0.11774229287977167],
      [1.36, 0.049485876755377876],
      [2.0, 0.0006709252557796953],
    ];
    for (const [x, p] of cases) expect(kolmogorovSf(x)).toBeCloseTo(p, 13);
    expect(kolmogorovSf(0)).toBe(1);
  });

  it("stays within 2 % of scipy 1.17 ks_2samp(method='asymp') at moderate p-values", () => {
    const cases: [number, number, number, number][] = [
      // n1, n2, stretch of the second sample, scipy p-value
      [300, 200, 1.1, 0.21484837142129015],
      [1000, 1000, 1.08, 0.0068296980963784976],
    ];
    for (const [n1, n2, f, p] of cases) {
      const a = Float64Array.from({ length: n1 }, (_, i) => i / n1);
      const b = Float64Array.from({ length: n2 }, (_, j) => ((j + 0.5) / n2) * f);
      const r = ksTwoSample(a, b);
      expect(Math.abs(r.pValue - p) / p).toBeLessThan(0.02);
    }
    const a = Float64Array.from({ length: 1000 }, (_, i) => i / 1000);
    const b = Float64Array.from({ length: 1000 }, (_, j) => ((j + 0.5) / 1000) * 1.08);
    expect(ksTwoSample(a, b).d).toBeCloseTo(0.075, 12);
  });
});

describe("chi-squared", () => {
  it("upper tail at known quantiles and closed forms", () => {
    expect(chi2Sf(3.841458820694124, 1)).toBeCloseTo(0.05, 12);
    expect(chi2Sf(3.841, 1)).toBeCloseTo(0.05, 4);
    expect(chi2Sf(5.991464547107979, 2)).toBeCloseTo(0.05, 12);
    expect(chi2Sf(23.209251158954356, 10)).toBeCloseTo(0.01, 12);
    for (const x of [0.1, 1, 7.5, 30]) expect(chi2Sf(x, 2)).toBeCloseTo(Math.exp(-x / 2), 14);
    // scipy.stats.chi2.sf: series side and continued-fraction side, small and large dof
    expect(chi2Sf(0.5, 3)).toBeCloseTo(0.9188914116546758, 13);
    expect(chi2Sf(100, 50) / 3.454931382984871e-5).toBeCloseTo(1, 10);
    expect(chi2Sf(1000, 900)).toBeCloseTo(0.010994608942135844, 12);
    expect(chi2Sf(0, 4)).toBe(1);
    expect(gammaQ(1, 3)).toBeCloseTo(Math.exp(-3), 14);
  });

  it("ln Γ at known points", () => {
    expect(lnGamma(1)).toBeCloseTo(0, 14);
    expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 14);
    expect(lnGamma(10)).toBeCloseTo(Math.log(362_880), 13);
  });

  it("homogeneity on hand-computed contingency tables", () => {
    // Expected 15 in every cell: 4 × 5² / 15 = 20/3; scipy chi2_contingency(correction=False) p = 0.009823274507519235
    const t = chi2FromCounts([10, 20], [20, 10]);
    expect(t.chi2).toBeCloseTo(20 / 3, 12);
    expect(t.dof).toBe(1);
    expect(t.pValue).toBeCloseTo(0.009823274507519235, 13);
    // 2 × 3: expected 25/15/60 per row: 2·(25/25 + 25/15) = 16/3, and with dof 2, p = e^(−χ²/2)
    const u = chi2FromCounts([30, 10, 60], [20, 20, 60]);
    expect(u.chi2).toBeCloseTo(16 / 3, 12);
    expect(u.dof).toBe(2);
    expect(u.pValue).toBeCloseTo(Math.exp(-8 / 3), 13);
    // A category empty on both sides does not count.
    expect(chi2FromCounts([10, 0, 20], [20, 0, 10])).toEqual(t);
    expect(chi2FromCounts([5], [7])).toEqual({ chi2: 0, dof: 0, pValue: 1 });
  });

  it("matches categories by text between differently ordered dictionaries", () => {
    const a = categoricalColumn("c", [...Array(10).fill("x"), ...Array(20).fill("y")]);
    const b = categoricalColumn("c", [...Array(10).fill("y"), ...Array(20).fill("x")]);
    const r = chi2Categorical(a, b);
    expect(r.categories).toEqual(["x", "y"]);
    expect(r.chi2).toBeCloseTo(20 / 3, 12);
  });
});

describe("driftReport", () => {
  const schema: DataSchema = {
    columns: [
      { name: "same", role: "feature", type: "numeric", nullable: true },
      { name: "shifted", role: "feature", type: "numeric", nullable: true },
      { name: "cat", role: "feature", type: "categorical", nullable: true },
      { name: "flag", role: "feature", type: "binary", nullable: true },
      { name: "y", role: "target", type: "binary", nullable: false },
    ],
    unexpectedColumns: "error",
    missingTokens: [],
  };
  const n = 400;
  const make = (shift: number, rows: number) =>
    new Table([
      numericColumn("same", range(1, rows)),
      numericColumn(
        "shifted",
        Float64Array.from({ length: rows }, (_, i) => i + shift),
      ),
      categoricalColumn(
        "cat",
        Array.from({ length: rows }, (_, i) => ["a", "b", "c"][i % 3]),
      ),
      numericColumn(
        "flag",
        Float64Array.from({ length: rows }, (_, i) => i % 2),
      ),
      numericColumn(
        "y",
        Float64Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? 1 : 0)),
      ),
    ]);

  it("flags features by the PSI and p-value thresholds and reports the drifted share", () => {
    const r = driftReport(make(0, n), make(n / 2, n), schema);
    expect(r.thresholds).toEqual(DEFAULT_DRIFT_THRESHOLDS);
    expect(r.features.map((f) => [f.column, f.test, f.drifted])).toEqual([
      ["same", "ks", false],
      ["shifted", "ks", true],
      ["cat", "chi2", false],
      ["flag", "chi2", false],
    ]);
    const same = r.features[0];
    expect(same.psi).toBe(0);
    expect(same.statistic).toBe(0);
    expect(same.pValue).toBe(1);
    const shifted = r.features[1];
    expect(shifted.statistic).toBeCloseTo(0.5, 12);
    expect(shifted.psi).toBeGreaterThan(0.2);
    expect(r.features[3].dof).toBe(1);
    expect(r.nDrifted).toBe(1);
    expect(r.driftedShare).toBe(0.25);
  });

  it("gives no verdict when a side is too small", () => {
    const r = driftReport(make(0, n), make(1000, 50), schema);
    expect(r.features.every((f) => f.insufficient && !f.drifted && f.psi === null && f.pValue === null)).toBe(
      true,
    );
    expect(r.nInsufficient).toBe(4);
    expect(r.driftedShare).toBe(0);
    const loose = driftReport(make(0, n), make(1000, 50), schema, { minRows: 10 });
    expect(loose.features[1].drifted).toBe(true);
  });
});
