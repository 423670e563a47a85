import { describe, expect, it } from "vitest";
import { Rng } from "../../core/index.js";
import { softmaxRows } from "../matrix.js";
import type { Matrix } from "../types.js";
import { type CompactModel, compactAddRow, compactModel, compactPays, compactPredict } from "./compact.js";
import { CompactKernel } from "./compact-kernel.js";
import { allocNodes, EnsembleBuilder, type TreeEnsemble } from "./ensemble.js";

const F = 5;

/**
 * A random tree: every node splits while depth < maxDepth and a coin says so, on a random
 * feature at one of `cuts` thresholds, with a random missing direction; leaves get W values.
 */
function randomTree(rng: Rng, maxDepth: number, W: number, cuts: number, nf: number) {
  const nd = allocNodes(2 ** (maxDepth + 1), W);
  let size = 1;
  const grow = (i: number, depth: number) => {
    if (depth < maxDepth && (depth < 2 || rng.next() < 0.8)) {
      const l = size;
      size += 2;
      nd.feature[i] = rng.int(nf);
      nd.threshold[i] = rng.int(cuts) / 4 - 1;
      nd.defaultLeft[i] = rng.next() < 0.5 ? 1 : 0;
      nd.left[i] = l;
      nd.right[i] = l + 1;
      grow(l, depth + 1);
      grow(l + 1, depth + 1);
    } else {
      nd.feature[i] = -1;
      for (let k = 0; k < W; k++) nd.value[i * W + k] = rng.next() - 0.5;
    }
  };
  grow(0, 0);
  return { nd, size };
}

function randomEnsemble(
  seed: number,
  trees: number,
  maxDepth: number,
  K: number,
  vector: boolean,
  cuts = 12,
  nf = F,
) {
  const rng = new Rng(seed);
  const W = vector ? K : 1;
  const b = new EnsembleBuilder(K, W);
  for (let t = 0; t < trees; t++) {
    const { nd, size } = randomTree(rng, maxDepth, W, cuts, nf);
    b.add(nd, size, t % K);
  }
  return b.build();
}

/** Scalar trees of depths 2 to 8 by turns: batches walk some of them below their SIMD levels. */
function mixedDepths(seed: number, trees: number) {
  const rng = new Rng(seed);
  const b = new EnsembleBuilder(3, 1);
  for (let t = 0; t < trees; t++) {
    const { nd, size } = randomTree(rng, [2, 3, 4, 5, 8][t % 5], 1, 12, F);
    b.add(nd, size, t % 3);
  }
  return b.build();
}

/** Rows whose values hit thresholds exactly, fall between them, or are missing. */
function randomRows(seed: number, n: number, float32 = false, nf = F): Matrix {
  const rng = new Rng(seed);
  const data = float32 ? new Float32Array(n * nf) : new Float64Array(n * nf);
  for (let i = 0; i < n * nf; i++) {
    const u = rng.next();
    data[i] = u < 0.1 ? Number.NaN : u < 0.5 ? rng.int(12) / 4 - 1 : rng.next() * 4 - 1.5;
  }
  return { data, nRows: n, nCols: nf, layout: "row" };
}

/** The float walk the compact predictor must reproduce bit for bit. */
function reference(e: TreeEnsemble, X: Matrix, base: Float64Array, nTrees = e.nTrees): Float64Array {
  const K = e.nOutputs;
  const W = e.leafWidth;
  const out = new Float64Array(X.nRows * K);
  const { feature, threshold, left, defaultLeft, value } = e.nodes;
  for (let i = 0; i < X.nRows; i++) {
    out.set(base, i * K);
    for (let t = 0; t < nTrees; t++) {
      let a = e.roots[t];
      while (feature[a] >= 0) {
        const x = X.data[X.layout === "row" ? i * X.nCols + feature[a] : feature[a] * X.nRows + i];
        a = Number.isNaN(x)
          ? defaultLeft[a]
            ? left[a]
            : left[a] + 1
          : x > threshold[a]
            ? left[a] + 1
            : left[a];
      }
      if (W === 1) out[i * K + e.treeOutput[t]] += value[a];
      else for (let k = 0; k < K; k++) out[i * K + k] += value[a * K + k];
    }
  }
  return out;
}

function toCol(X: Matrix): Matrix {
  const data = new Float64Array(X.data.length);
  for (let i = 0; i < X.nRows; i++)
    for (let j = 0; j < X.nCols; j++) data[j * X.nRows + i] = X.data[i * X.nCols + j];
  return { data, nRows: X.nRows, nCols: X.nCols, layout: "col" };
}

/** Every row of X scored alone (the single-row path), row-major like a batch. */
function singleRows(cm: CompactModel, X: Matrix, base: Float64Array, nTrees: number): Float64Array {
  const K = cm.nOutputs;
  const out = new Float64Array(X.nRows * K);
  for (let i = 0; i < X.nRows; i++) {
    out.set(base, i * K);
    compactAddRow(cm, X.data, i * X.nCols, 1, out, i * K, nTrees);
  }
  return out;
}

describe("compact predictor", () => {
  const base = Float64Array.of(0.25, -1, 3);
  const cases = [
    { name: "shallow scalar trees (perfect layout)", e: randomEnsemble(1, 30, 6, 3, false), perfect: true },
    { name: "shallow vector trees (perfect layout)", e: randomEnsemble(2, 9, 4, 3, true), perfect: true },
    { name: "scalar trees of depths 2 to 8 (perfect layout)", e: mixedDepths(24, 40), perfect: true },
    {
      name: "depth-10 scalar trees (perfect layout, top and lower blocks)",
      e: randomEnsemble(5, 24, 10, 3, false, 200),
      perfect: true,
    },
    {
      name: "depth-8 vector trees (perfect layout, top and lower blocks)",
      e: randomEnsemble(6, 9, 8, 3, true),
      perfect: true,
    },
    { name: "deep scalar trees (node layout)", e: randomEnsemble(3, 11, 14, 3, false), perfect: false },
    { name: "deep vector trees (node layout)", e: randomEnsemble(4, 7, 13, 3, true), perfect: false },
  ];

  for (const { name, e, perfect } of cases) {
    it(`reproduces the float walk bit for bit: ${name}`, () => {
      const cm = compactModel(e);
      expect(cm).not.toBeNull();
      expect((cm?.perfectDepth ?? -1) >= 0).toBe(perfect);
      const X = randomRows(7, 1000);
      const want = reference(e, X, base);
      expect(compactPredict(cm as never, X, base, e.nTrees)).toEqual(want);
      expect(compactPredict(cm as never, toCol(X), base, e.nTrees)).toEqual(want);
      // Single rows, through the ensemble's own entry point.
      for (let i = 0; i < 50; i++) {
        const row: Matrix = { data: X.data.subarray(i * F, i * F + F), nRows: 1, nCols: F, layout: "row" };
        expect(Array.from(e.predictRaw(row, base))).toEqual(Array.from(want.subarray(i * 3, i * 3 + 3)));
      }
      // The first trees only.
      expect(compactPredict(cm as never, X, base, 5)).toEqual(reference(e, X, base, 5));
    });
  }

  it("walks perfect scalar trees in WebAssembly, and without it gives the same sums", () => {
    const e = randomEnsemble(1, 30, 6, 3, false);
    const cm = compactModel(e) as NonNullable<ReturnType<typeof compactModel>>;
    expect(CompactKernel.create(cm, 256)?.blocks).toBe(true);
    // Vector leaves (forests) walk single rows over the nodes; their batches stay in JavaScript.
    expect(CompactKernel.create(compactModel(randomEnsemble(2, 9, 4, 3, true)) as never, 256)?.blocks).toBe(
      false,
    );
    const X = randomRows(7, 300);
    const withKernel = compactPredict(cm, X, base, e.nTrees);
    const rowsWithKernel = singleRows(cm, X, base, e.nTrees);
    expect(rowsWithKernel).toEqual(withKernel);
    // Node walks (deep trees; vector leaves): single rows in WebAssembly, then in JavaScript.
    const nodeForms = [randomEnsemble(3, 11, 14, 3, false), randomEnsemble(4, 7, 13, 3, true)];
    // All the trees, and the first five (lanes past the last tree idle).
    const nodeRows = nodeForms.flatMap((n) =>
      [n.nTrees, 5].map((t) => singleRows(compactModel(n) as CompactModel, X, base, t)),
    );
    process.env.NETWARDEN_WASM = "off";
    try {
      nodeForms.forEach((n, i) => {
        expect(singleRows(compactModel(n) as CompactModel, X, base, n.nTrees)).toEqual(nodeRows[2 * i]);
        expect(singleRows(compactModel(n) as CompactModel, X, base, 5)).toEqual(nodeRows[2 * i + 1]);
      });
      expect(CompactKernel.create(cm, 256)).toBeNull();
      // A model compiled while kernels are off walks in JavaScript.
      const js = compactModel(e) as NonNullable<ReturnType<typeof compactModel>>;
      expect(compactPredict(js, X, base, e.nTrees)).toEqual(withKernel);
      expect(singleRows(js, X, base, e.nTrees)).toEqual(rowsWithKernel);
      expect(singleRows(js, X, base, 13)).toEqual(compactPredict(cm, X, base, 13));
    } finally {
      delete process.env.NETWARDEN_WASM;
    }
  });

  it("splits a large batch over worker threads with the same sums, for float32 input too", () => {
    const e = randomEnsemble(13, 200, 6, 3, false);
    const cm = compactModel(e);
    const X = randomRows(8, 40_000, true);
    const got = compactPredict(cm as never, X, base, e.nTrees);
    expect(got.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(got).toEqual(reference(e, X, base));
    const one = new Float64Array(3);
    one.set(base);
    compactAddRow(cm as never, X.data, 39_999 * F, 1, one, 0, e.nTrees);
    expect(Array.from(one)).toEqual(Array.from(got.subarray(39_999 * 3)));
  });

  it("returns each row's softmax when asked, the same numbers as applying it afterwards", () => {
    const e = randomEnsemble(15, 120, 8, 3, false, 40);
    const cm = compactModel(e) as CompactModel;
    for (const X of [randomRows(16, 300), randomRows(17, 40_000, true)]) {
      const want = reference(e, X, base);
      softmaxRows(want, 0, X.nRows, 3);
      expect(compactPredict(cm, X, base, e.nTrees, "softmax")).toEqual(want);
      const one: Matrix = { data: X.data.subarray(0, F), nRows: 1, nCols: F, layout: "row" };
      expect(Array.from(e.predictSoftmax(one, base))).toEqual(Array.from(want.subarray(0, 3)));
    }
  });

  it("keeps every single-row result intact (ten outputs: views on shared blocks)", () => {
    const e = randomEnsemble(18, 40, 6, 10, false);
    const base10 = new Float64Array(10).fill(0.5);
    const X = randomRows(19, 3000);
    const kept = Array.from({ length: X.nRows }, (_, i) =>
      e.predictRaw({ data: X.data.subarray(i * F, i * F + F), nRows: 1, nCols: F, layout: "row" }, base10),
    );
    const batch = reference(e, X, base10);
    expect(new Set(kept.map((r) => r.buffer)).size).toBeGreaterThan(1);
    kept.forEach((r, i) => {
      expect(Array.from(r)).toEqual(Array.from(batch.subarray(i * 10, i * 10 + 10)));
    });
  });

  it("adds pure leaves (one value not zero) without their zeros, even from a −0 base", () => {
    // Few trees and few dense leaves, so that some rows' first output only ever gets zeros.
    const e = randomEnsemble(20, 12, 12, 4, true);
    const rng = new Rng(21);
    const { value, feature } = e.nodes;
    for (let i = 0; i < feature.length; i++) {
      if (feature[i] >= 0) continue;
      const kind = rng.next() < 0.05 ? 2 : rng.int(2);
      for (let k = 0; k < 4; k++) value[i * 4 + k] = kind === 2 ? value[i * 4 + k] : kind === 1 ? -0 : 0;
      // Two common values (their leaves' words carry them) and many distinct ones (past the 16
      // bits a word has for them, their leaves are looked up).
      if (kind === 0) value[i * 4 + rng.int(4)] = [1, 0.25, rng.next()][rng.int(3)];
    }
    const X = randomRows(22, 400, false);
    for (const b of [new Float64Array(4), Float64Array.of(-0, 0.5, -0, 0)]) {
      const cm = compactModel(e) as CompactModel;
      expect(CompactKernel.create(cm, 256)?.blocks).toBe(false);
      const want = reference(e, X, b);
      const got = singleRows(cm, X, b, e.nTrees);
      // Bit for bit, the sign of zero included.
      expect(Array.from(got, (v, i) => Object.is(v, want[i])).every(Boolean)).toBe(true);
    }
  });

  it("walks a tree whose node offsets do not fit 16 bits in JavaScript, with the same sums", () => {
    // A full tree of depth 16: the last clumps below the top lie more than 65,535 nodes away.
    const D = 16;
    const nd = allocNodes(2 ** (D + 1), 1);
    const rng = new Rng(23);
    let size = 1;
    const grow = (i: number, depth: number) => {
      if (depth === D) {
        nd.feature[i] = -1;
        nd.value[i] = rng.next();
        return;
      }
      const l = size;
      size += 2;
      nd.feature[i] = depth % F;
      nd.threshold[i] = rng.int(12) / 4 - 1;
      nd.left[i] = l;
      nd.right[i] = l + 1;
      grow(l, depth + 1);
      grow(l + 1, depth + 1);
    };
    grow(0, 0);
    const b = new EnsembleBuilder(1, 1);
    b.add(nd, size, 0);
    const e = b.build();
    const cm = compactModel(e) as CompactModel;
    expect(cm.perfectDepth).toBe(-1);
    expect(CompactKernel.create(cm, 256)).toBeNull();
    const X = randomRows(24, 200);
    const one = Float64Array.of(0.5);
    expect(singleRows(cm, X, one, 1)).toEqual(reference(e, X, one));
  });

  it("falls back to the float walk when a feature has more than 255 thresholds", () => {
    const e = randomEnsemble(9, 40, 9, 3, false, 1000);
    expect(compactModel(e)).toBeNull();
    const X = randomRows(10, 200);
    expect(e.predictRaw(X, base)).toEqual(reference(e, X, base));
  });

  it("keeps the node layout when more than 128 features are split on (perfect words are u16)", () => {
    const wide = (nf: number) => randomEnsemble(11, 60, 6, 3, false, 12, nf);
    const e128 = wide(128);
    const cm128 = compactModel(e128);
    expect(cm128?.used.length).toBe(128);
    expect(cm128?.perfectDepth).toBeGreaterThanOrEqual(0);
    const X128 = randomRows(12, 500, false, 128);
    expect(compactPredict(cm128 as never, X128, base, e128.nTrees)).toEqual(reference(e128, X128, base));
    const e = wide(180);
    const cm = compactModel(e);
    expect(cm?.perfectDepth).toBe(-1);
    const X = randomRows(12, 500, false, 180);
    expect(compactPredict(cm as never, X, base, e.nTrees)).toEqual(reference(e, X, base));
  });

  it("leaves models too small to pay for coding rows to the float walk", () => {
    const stump = compactModel(randomEnsemble(14, 1, 1, 1, false)) as never;
    expect(compactPays(stump)).toBe(false);
    expect(compactPays(compactModel(cases[0].e) as never)).toBe(true);
  });
});
