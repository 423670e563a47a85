import { describe, expect, it } from "vitest";
import { Rng } from "../../core/index.js";
import { GbdtLearner } from "../gbdt/gbdt.js";
import { fromRows, getRow, takeRows } from "../matrix.js";
import { loadPhishing, loadUnswNumeric } from "../test-support/datasets.js";
import { allocNodes, TreeEnsemble, type TreeNodes } from "../tree/ensemble.js";
import type { Explanation, Matrix } from "../types.js";
import { type ShapTrees, shapExpectedValue, treeShap } from "./treeshap.js";

/** A tree written as nested objects: a leaf is a number (or a vector); covers are leaf counts. */
type Spec = { f: number; t: number; dl?: 0 | 1; l: Spec; r: Spec } | { v: number | number[]; c: number };

/** Flattens trees into one node set, children after parents (right = left + 1). */
function build(specs: Spec[], nOutputs: number, treeOutput: number[], leafWidth = 1): TreeEnsemble {
  let size = 0;
  const count = (s: Spec): number => ("v" in s ? 1 : 1 + count(s.l) + count(s.r));
  for (const s of specs) size += count(s);
  const nodes = allocNodes(size, leafWidth);
  let next = 0;
  const roots: number[] = [];
  const place = (s: Spec, at: number): number => {
    if ("v" in s) {
      nodes.feature[at] = -1;
      const v = typeof s.v === "number" ? [s.v] : s.v;
      for (let k = 0; k < leafWidth; k++) nodes.value[at * leafWidth + k] = v[k];
      nodes.cover[at] = s.c;
      return s.c;
    }
    const l = next;
    next += 2;
    nodes.feature[at] = s.f;
    nodes.threshold[at] = s.t;
    nodes.defaultLeft[at] = s.dl ?? 1;
    nodes.left[at] = l;
    nodes.right[at] = l + 1;
    nodes.cover[at] = place(s.l, l) + place(s.r, l + 1);
    return nodes.cover[at];
  };
  for (const s of specs) {
    const root = next++;
    roots.push(root);
    place(s, root);
  }
  return new TreeEnsemble(nOutputs, Int32Array.from(roots), Int32Array.from(treeOutput), nodes, leafWidth);
}

/**
 * Shapley values by enumerating every feature subset S, with the path-dependent value function:
 * features in S follow x, the others split the background by cover.
 */
function bruteForce(trees: ShapTrees, x: Float64Array, nFeatures: number): Float64Array {
  const K = trees.nOutputs;
  const W = trees.leafWidth;
  const { feature, threshold, left, right, defaultLeft, value, cover } = trees.nodes;
  const v = (mask: number): Float64Array => {
    const out = new Float64Array(K);
    const walk = (node: number, w: number, t: number) => {
      if (feature[node] < 0) {
        if (W === 1) out[trees.treeOutput[t]] += w * value[node];
        else for (let k = 0; k < W; k++) out[k] += w * value[node * W + k];
        return;
      }
      const f = feature[node];
      if (mask & (1 << f)) {
        const xv = x[f];
        const goLeft = Number.isNaN(xv) ? defaultLeft[node] === 1 : xv <= threshold[node];
        walk(goLeft ? left[node] : right[node], w, t);
      } else {
        const cl = cover[left[node]];
        const cr = cover[right[node]];
        walk(left[node], (w * cl) / (cl + cr), t);
        walk(right[node], (w * cr) / (cl + cr), t);
      }
    };
    trees.roots.forEach((root, t) => {
      walk(root, 1, t);
    });
    return out;
  };
  const M = nFeatures;
  const fact = [1];
  for (let i = 1; i <= M; i++) fact.push(fact[i - 1] * i);
  const phi = new Float64Array(K * M);
  for (let i = 0; i < M; i++) {
    for (let S = 0; S < 1 << M; S++) {
      if (S & (1 << i)) continue;
      let size = 0;
      for (let b = 0; b < M; b++) if (S & (1 << b)) size++;
      const weight = (fact[size] * fact[M - size - 1]) / fact[M];
      const with_ = v(S | (1 << i));
      const without = v(S);
      for (let k = 0; k < K; k++) phi[k * M + i] += weight * (with_[k] - without[k]);
    }
  }
  return phi;
}

/** Random tree over `nFeatures` features: splits repeat features, leaves get random covers. */
function randomTree(rng: Rng, depth: number, nFeatures: number, width: number): Spec {
  if (depth === 0 || rng.next() < 0.15) {
    const v = Array.from({ length: width }, () => Math.round(rng.normal() * 100) / 10);
    return { v: width === 1 ? v[0] : v, c: 1 + rng.int(20) };
  }
  return {
    f: rng.int(nFeatures),
    t: rng.int(5) - 2,
    dl: rng.int(2) as 0 | 1,
    l: randomTree(rng, depth - 1, nFeatures, width),
    r: randomTree(rng, depth - 1, nFeatures, width),
  };
}

function expectAdditive(e: Explanation, raw: Float64Array, nRows: number, nFeatures: number, tol: number) {
  const K = e.nOutputs;
  let worst = 0;
  for (let i = 0; i < nRows; i++) {
    for (let k = 0; k < K; k++) {
      let s = e.expectedValue[k];
      const o = (i * K + k) * nFeatures;
      for (let f = 0; f < nFeatures; f++) s += e.values[o + f];
      worst = Math.max(worst, Math.abs(s - raw[i * K + k]));
    }
  }
  expect(worst).toBeLessThanOrEqual(tol);
}

describe("treeShap", () => {
  it("matches a single split worked by hand", () => {
    // x0 ≤ 0.5 → 2 (cover 1), else 8 (cover 3): E = (1·2 + 3·8) / 4 = 6.5.
    const trees = build([{ f: 0, t: 0.5, l: { v: 2, c: 1 }, r: { v: 8, c: 3 } }], 1, [0]);
    const X = fromRows([
      [0, 7],
      [1, 7],
      [Number.NaN, 0],
    ]);
    const e = treeShap(trees, X, Float64Array.of(0.25));
    expect(Array.from(e.expectedValue)).toEqual([6.75]);
    // Left: 2 − 6.5; right: 8 − 6.5; NaN goes left (default); feature 1 never matters.
    expect(Array.from(e.values)).toEqual([-4.5, 0, 1.5, 0, -4.5, 0]);
  });

  it("gives the brute-force Shapley values on small trees, scalar leaves", () => {
    const rng = new Rng(7);
    const M = 4;
    for (let trial = 0; trial < 30; trial++) {
      const nTrees = 1 + rng.int(3);
      const specs = Array.from({ length: nTrees }, () => randomTree(rng, 1 + rng.int(4), M, 1));
      const trees = build(
        specs,
        2,
        specs.map((_, t) => t % 2),
      );
      const rows = Array.from({ length: 4 }, () =>
        Array.from({ length: M }, () => (rng.next() < 0.15 ? Number.NaN : rng.int(7) - 3)),
      );
      const X = fromRows(rows);
      const base = Float64Array.of(0.5, -1);
      const e = treeShap(trees, X, base);
      for (let i = 0; i < rows.length; i++) {
        const x = getRow(X, i);
        const want = bruteForce(trees, x, M);
        const got = e.values.subarray(i * 2 * M, (i + 1) * 2 * M);
        for (let q = 0; q < want.length; q++) expect(got[q]).toBeCloseTo(want[q], 10);
        expectAdditive({ ...e, values: got }, trees.predictRaw(fromRows([rows[i]]), base), 1, M, 1e-9);
      }
    }
  });

  it("gives the brute-force Shapley values on small trees, vector leaves", () => {
    const rng = new Rng(11);
    const M = 5;
    for (let trial = 0; trial < 20; trial++) {
      const specs = Array.from({ length: 1 + rng.int(3) }, () => randomTree(rng, 2 + rng.int(3), M, 3));
      const trees = build(
        specs,
        3,
        specs.map(() => 0),
        3,
      );
      const rows = Array.from({ length: 3 }, () =>
        Array.from({ length: M }, () => (rng.next() < 0.1 ? Number.NaN : rng.int(7) - 3)),
      );
      const X = fromRows(rows);
      const base = Float64Array.of(0, 0, 0);
      const e = treeShap(trees, X, base);
      expect(e.nOutputs).toBe(3);
      for (let i = 0; i < rows.length; i++) {
        const x = getRow(X, i);
        const want = bruteForce(trees, x, M);
        const got = e.values.subarray(i * 3 * M, (i + 1) * 3 * M);
        for (let q = 0; q < want.length; q++) expect(got[q]).toBeCloseTo(want[q], 10);
        expectAdditive({ ...e, values: got }, trees.predictRaw(fromRows([rows[i]]), base), 1, M, 1e-9);
      }
    }
  });

  it("expected value is the cover-weighted mean leaf", () => {
    const trees = build(
      [
        {
          f: 0,
          t: 0,
          l: { v: [1, 2], c: 1 },
          r: { f: 1, t: 0, l: { v: [3, 0], c: 1 }, r: { v: [5, 4], c: 2 } },
        },
      ],
      2,
      [0],
      2,
    );
    // Output 0: (1 + 3 + 2·5) / 4 = 3.5; output 1: (2 + 0 + 8) / 4 = 2.5.
    expect(Array.from(shapExpectedValue(trees, Float64Array.of(1, 0)))).toEqual([4.5, 2.5]);
  });

  it("adds up to the raw score of a phishing gbdt", async () => {
    const { X, y, featureNames } = loadPhishing();
    const model = await new GbdtLearner({ n_estimators: 40, max_depth: 5, learning_rate: 0.3 }).fit(X, y, {
      nClasses: 2,
      featureNames,
    });
    const rows = Int32Array.from({ length: 300 }, (_, i) => i * 31);
    const Xs = takeRows(X, rows);
    const e = model.explain(Xs);
    expect(e.nOutputs).toBe(1);
    expectAdditive(e, model.predictMargin(Xs), Xs.nRows, X.nCols, 1e-9);
    // The two features the phishing literature finds decisive carry the largest mean |contribution|.
    const meanAbs = new Float64Array(X.nCols);
    for (let i = 0; i < Xs.nRows; i++)
      for (let f = 0; f < X.nCols; f++) meanAbs[f] += Math.abs(e.values[i * X.nCols + f]);
    const ranked = featureNames.map((name, f) => ({ name, v: meanAbs[f] })).sort((a, b) => b.v - a.v);
    expect(
      ranked
        .slice(0, 2)
        .map((r) => r.name)
        .sort(),
    ).toEqual(["SSLfinal_State", "URL_of_Anchor"]);
  });

  it("adds up to the raw scores of a multi-class UNSW gbdt, missing values included", async () => {
    const { X, y } = loadUnswNumeric();
    const rows = Int32Array.from({ length: 4000 }, (_, i) => i * 20);
    const Xs = takeRows(X, rows);
    const ys = Int32Array.from(rows, (r) => y[r]);
    const model = await new GbdtLearner({ n_estimators: 8, max_depth: 6 }).fit(Xs, ys, { nClasses: 10 });
    const probe: Matrix = takeRows(
      Xs,
      Int32Array.from({ length: 200 }, (_, i) => i * 19),
    );
    // Knock out some values so default directions are exercised.
    const data = Float64Array.from(probe.data);
    for (let q = 0; q < data.length; q += 7) data[q] = Number.NaN;
    const Xp: Matrix = { ...probe, data };
    const e = model.explain(Xp);
    expect(e.nOutputs).toBe(10);
    expectAdditive(e, model.predictMargin(Xp), Xp.nRows, Xp.nCols, 1e-9);
  });

  it("handles nodes whose covers do not add up (rounded stores)", () => {
    const trees = build([{ f: 0, t: 0, l: { v: 1, c: 1 }, r: { v: 3, c: 3 } }], 1, [0]);
    (trees.nodes as TreeNodes).cover[0] = 4.000001;
    const X = fromRows([[1]]);
    const e = treeShap(trees, X, Float64Array.of(0));
    expect(e.expectedValue[0] + e.values[0]).toBeCloseTo(3, 12);
  });
});
