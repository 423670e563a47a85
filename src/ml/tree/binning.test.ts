import { describe, expect, it } from "vitest";
import { Rng } from "../../core/index.js";
import { fromColumns } from "../matrix.js";
import { applyBins, binEdges, binOf, fitBins } from "./binning.js";

describe("binEdges", () => {
  it("gives one bin per distinct value with midpoint edges when there are few values", () => {
    expect(Array.from(binEdges(Float64Array.of(-1, -1, 0, 1, 1, 1), 255))).toEqual([-0.5, 0.5, Infinity]);
    expect(Array.from(binEdges(Float64Array.of(7, 7), 255))).toEqual([Infinity]);
    expect(Array.from(binEdges(new Float64Array(0), 255))).toEqual([Infinity]);
  });

  it("makes at most maxBins roughly equal-count bins for many values", () => {
    const n = 10_000;
    const sorted = Float64Array.from({ length: n }, (_, i) => i);
    const e = binEdges(sorted, 10);
    expect(e.length).toBe(10);
    const counts = new Array(10).fill(0);
    for (const v of sorted) counts[binOf(e, v)]++;
    for (const c of counts) expect(c).toBe(1000);
  });

  it("gives a heavy value its own bin", () => {
    // 0 appears 900 times, then 100 distinct values.
    const vals = Float64Array.from({ length: 1000 }, (_, i) => (i < 900 ? 0 : i));
    const e = binEdges(vals, 8);
    expect(e.length).toBeLessThanOrEqual(8);
    expect(binOf(e, 0)).toBe(0);
    expect(binOf(e, 900)).toBe(1);
  });
});

describe("fitBins / applyBins", () => {
  it("puts NaN in the bin after the last value bin and respects edges", () => {
    const X = fromColumns([Float64Array.of(1, 2, Number.NaN, 3, 2), Float64Array.of(5, 5, 5, 5, Number.NaN)]);
    const m = fitBins(X, 255, 0);
    expect(Array.from(m.nBins)).toEqual([3, 1]);
    const b = applyBins(m, X);
    expect(Array.from(b.bins.subarray(0, 5))).toEqual([0, 1, 3, 2, 1]);
    expect(Array.from(b.bins.subarray(5, 10))).toEqual([0, 0, 0, 0, 1]);
    // Unseen values fall on the nearer side of a midpoint edge; beyond the range, into the end bins.
    const Y = fromColumns([Float64Array.of(1.4, 1.6, -100, 100), Float64Array.of(0, 0, 0, 0)]);
    expect(Array.from(applyBins(m, Y).bins.subarray(0, 4))).toEqual([0, 1, 0, 2]);
  });

  it("agrees with binOf for many-valued features, in both layouts", () => {
    const rng = new Rng(3);
    const col = Float64Array.from({ length: 3000 }, () => rng.normal());
    const X = fromColumns([col]);
    const m = fitBins(X, 32, 0);
    expect(m.nBins[0]).toBe(32);
    const b = applyBins(m, X);
    for (let i = 0; i < col.length; i++) expect(b.bins[i]).toBe(binOf(m.upper[0], col[i]));
  });
});

describe("fitBins on large inputs", () => {
  it("chooses edges from a seeded row sample: reproducible, within maxBins, near-equal counts", () => {
    const rng = new Rng(5);
    const n = 250_000;
    const X = fromColumns([Float64Array.from({ length: n }, () => rng.next())]);
    const a = fitBins(X, 64, 1);
    expect(a.upper[0]).toEqual(fitBins(X, 64, 1).upper[0]);
    expect(a.nBins[0]).toBe(64);
    const b = applyBins(a, X);
    const counts = new Array(64).fill(0);
    for (const v of b.bins) counts[v]++;
    // Uniform data: every bin within 10% of n / 64.
    for (const c of counts) expect(Math.abs(c - n / 64)).toBeLessThan(n / 640);
  });
});
