import { describe, expect, it } from "vitest";
import type { NetwardenError } from "../core/index.js";
import { expandGrid, randomCandidates, stratifiedHoldout, stratifiedKFold } from "./folds.js";

function labels(counts: number[]): Int32Array {
  // Interleaved so class rows are not contiguous.
  const out: number[] = [];
  const left = [...counts];
  while (left.some((c) => c > 0)) {
    for (let k = 0; k < left.length; k++) {
      if (left[k] > 0) {
        out.push(k);
        left[k]--;
      }
    }
  }
  return Int32Array.from(out);
}

describe("stratifiedKFold", () => {
  const y = labels([50, 30, 7]);

  it("partitions all rows, keeps class proportions and balances fold sizes", () => {
    const folds = stratifiedKFold(y, 5, 3);
    expect(folds).toHaveLength(5);
    const seen = new Int32Array(y.length);
    for (const { train, test } of folds) {
      expect(train.length + test.length).toBe(y.length);
      for (const i of test) seen[i]++;
      const counts = [0, 0, 0];
      for (const i of test) counts[y[i]]++;
      expect(counts[0]).toBe(10);
      expect(counts[1]).toBe(6);
      expect(counts[2]).toBeGreaterThanOrEqual(1);
      expect(counts[2]).toBeLessThanOrEqual(2);
      expect(new Set([...train, ...test]).size).toBe(y.length);
      expect([...test]).toEqual([...test].sort((a, b) => a - b));
    }
    expect([...seen].every((c) => c === 1)).toBe(true);
    const sizes = folds.map((f) => f.test.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it("is deterministic in the seed", () => {
    const a = stratifiedKFold(y, 4, 7);
    expect(stratifiedKFold(y, 4, 7)).toEqual(a);
    expect(stratifiedKFold(y, 4, 8)).not.toEqual(a);
  });

  it("refuses a class with fewer rows than folds", () => {
    try {
      stratifiedKFold(labels([20, 3]), 5, 0);
      expect.unreachable();
    } catch (e) {
      const err = e as NetwardenError;
      expect(err.code).toBe("NW_SPLIT_INVALID");
      expect(err.details).toEqual({ class: 1, rows: 3, k: 5 });
      expect(err.hint).toContain("at most 3 folds");
    }
    expect(() => stratifiedKFold(y, 1, 0)).toThrow(/k ≥ 2/);
  });
});

describe("stratifiedHoldout", () => {
  it("holds out the fraction of every class", () => {
    const y = labels([100, 40, 5]);
    const { train, test } = stratifiedHoldout(y, 0.2, 1);
    const counts = [0, 0, 0];
    for (const i of test) counts[y[i]]++;
    expect(counts).toEqual([20, 8, 1]);
    expect(train.length + test.length).toBe(145);
    expect(stratifiedHoldout(y, 0.2, 1)).toEqual({ train, test });
  });
});

describe("expandGrid", () => {
  it("enumerates sorted keys with the last varying fastest", () => {
    expect(expandGrid({ max_depth: [3, 6], learning_rate: [0.1, 0.3] })).toEqual([
      { learning_rate: 0.1, max_depth: 3 },
      { learning_rate: 0.1, max_depth: 6 },
      { learning_rate: 0.3, max_depth: 3 },
      { learning_rate: 0.3, max_depth: 6 },
    ]);
    expect(expandGrid({})).toEqual([{}]);
    expect(() => expandGrid({ a: [] })).toThrow(/non-empty list/);
  });
});

describe("randomCandidates", () => {
  it("draws reproducible candidates within the given ranges", () => {
    const space = {
      max_depth: { dist: "int", low: 2, high: 4 },
      learning_rate: { dist: "loguniform", low: 0.01, high: 1 },
      subsample: { dist: "uniform", low: 0.5, high: 1 },
      grow_policy: ["depthwise", "lossguide"],
    } as const;
    const c = randomCandidates(space, 200, 5);
    expect(c).toHaveLength(200);
    expect(randomCandidates(space, 200, 5)).toEqual(c);
    const depths = new Set(c.map((x) => x.max_depth));
    expect([...depths].sort()).toEqual([2, 3, 4]);
    for (const x of c) {
      expect(x.learning_rate as number).toBeGreaterThanOrEqual(0.01);
      expect(x.learning_rate as number).toBeLessThan(1);
      expect(x.subsample as number).toBeGreaterThanOrEqual(0.5);
    }
    // Log-uniform: about half the draws below 0.1 = the geometric middle of [0.01, 1].
    const below = c.filter((x) => (x.learning_rate as number) < 0.1).length;
    expect(below).toBeGreaterThan(70);
    expect(below).toBeLessThan(130);
  });

  it("samples distinct grid points when every entry is a list", () => {
    const space = { a: [1, 2, 3], b: ["x", "y"] };
    const c = randomCandidates(space, 4, 1);
    expect(new Set(c.map((x) => JSON.stringify(x))).size).toBe(4);
    expect(randomCandidates(space, 10, 1)).toEqual(expandGrid(space));
  });

  it("rejects malformed ranges", () => {
    expect(() => randomCandidates({ a: { dist: "int", low: 5, high: 2 } }, 3, 0)).toThrow(
      /low 5 above high 2/,
    );
    expect(() => randomCandidates({ a: { dist: "loguniform", low: 0, high: 1 } }, 3, 0)).toThrow(/low > 0/);
  });
});
