import { beforeAll, describe, expect, it } from "vitest";
import type { NetwardenError } from "../../core/index.js";
import type { TreeScoring } from "../explain/index.js";
import { GbdtLearner } from "../gbdt/gbdt.js";
import { LogisticLearner } from "../linear/logistic.js";
import { takeRows, toLayout } from "../matrix.js";
import { argmaxRows } from "../metrics.js";
import { loadPhishing, loadUnswNumeric, type TestDataset } from "../test-support/datasets.js";
import { allocNodes, TreeEnsemble } from "../tree/ensemble.js";
import type { FittedModel, Matrix, SerializedModel } from "../types.js";
import { exportOnnx } from "./export.js";
import { decodeOnnx } from "./proto.js";
import { maxDiff, ortProba, ortRun } from "./test-support/ort.js";

/** Standardised copy of X (logistic regression wants scaled inputs). */
function standardise(X: Matrix): Matrix {
  const c = toLayout(X, "col");
  const data = Float64Array.from(c.data);
  for (let j = 0; j < c.nCols; j++) {
    const col = data.subarray(j * c.nRows, (j + 1) * c.nRows);
    let mean = 0;
    for (const v of col) mean += v / col.length;
    let sd = 0;
    for (const v of col) sd += (v - mean) ** 2 / col.length;
    sd = Math.sqrt(sd) || 1;
    for (let i = 0; i < col.length; i++) col[i] = (col[i] - mean) / sd;
  }
  return { ...c, data };
}

let phishing: TestDataset;
let unsw: { X: Matrix; y: Int32Array };

beforeAll(() => {
  phishing = loadPhishing();
  const u = loadUnswNumeric();
  const rows = Int32Array.from({ length: 3000 }, (_, i) => i * 27);
  unsw = { X: takeRows(u.X, rows), y: Int32Array.from(rows, (r) => u.y[r]) };
});

describe("exportOnnx", () => {
  it("gbdt binary: onnxruntime's probabilities equal ours on phishing", async () => {
    const { X, y } = phishing;
    const model = await new GbdtLearner({ n_estimators: 60, max_depth: 5 }).fit(X, y, { nClasses: 2 });
    const ours = model.predictProba(X);
    const { proba, label } = await ortRun(exportOnnx(model), X);
    expect(maxDiff(ours, proba)).toBeLessThanOrEqual(1e-6);
    expect(label.map(Number)).toEqual(Array.from(model.predict(X)));
  });

  it("gbdt multi-class with missing values: equal on a UNSW sample", async () => {
    const model = await new GbdtLearner({ n_estimators: 15, max_depth: 6 }).fit(unsw.X, unsw.y, {
      nClasses: 10,
    });
    const data = Float64Array.from(unsw.X.data);
    for (let q = 0; q < data.length; q += 5) data[q] = Number.NaN;
    const Xn: Matrix = { ...unsw.X, data };
    const ours = model.predictProba(Xn);
    const names = Array.from({ length: 10 }, (_, k) => `class-${k}`);
    const { proba, label } = await ortRun(exportOnnx(model, { classLabels: names }), Xn);
    expect(maxDiff(ours, proba)).toBeLessThanOrEqual(1e-6);
    // String labels come out as the arg-max of the probabilities.
    expect(label).toEqual(Array.from(argmaxRows(proba, 10), (k) => names[k]));
  });

  it("logreg binary and multinomial: equal on phishing and a UNSW sample", async () => {
    const Xp = standardise(phishing.X);
    const bin = await new LogisticLearner().fit(Xp, phishing.y, { nClasses: 2 });
    expect(maxDiff(bin.predictProba(Xp), await ortProba(exportOnnx(bin), Xp))).toBeLessThanOrEqual(1e-6);
    const Xu = standardise(unsw.X);
    const multi = await new LogisticLearner({ max_iter: 100 }).fit(Xu, unsw.y, { nClasses: 10 });
    expect(maxDiff(multi.predictProba(Xu), await ortProba(exportOnnx(multi), Xu))).toBeLessThanOrEqual(1e-6);
  });

  it("writes vector leaves, identity links and base values in every binary and multi-class form", async () => {
    // Two stumps (x0 ≤ 0.5; x1 ≤ −1, missing right) whose leaves are what forests store.
    const cases: { K: number; W: number; base: number[]; leaves: number[][]; link?: "softmax" }[] = [
      {
        K: 2,
        W: 2,
        base: [0, 0],
        leaves: [
          [0.4, 0.1],
          [0.05, 0.45],
          [0.5, 0],
          [0.2, 0.3],
        ],
      },
      {
        K: 2,
        W: 2,
        base: [0.1, -0.1],
        leaves: [
          [0.3, 0.1],
          [0.05, 0.45],
          [0.5, 0],
          [0.2, 0.3],
        ],
      },
      {
        K: 3,
        W: 3,
        base: [0, 0, 0],
        leaves: [
          [0.3, 0.1, 0.1],
          [0, 0.2, 0.3],
          [0.5, 0, 0],
          [0.1, 0.1, 0.3],
        ],
      },
      { K: 2, W: 1, base: [0.4], leaves: [[-0.1], [0.3], [0.25], [-0.2]] },
      // AdaBoost-style: vector leaves of votes, softmax link.
      {
        K: 2,
        W: 2,
        base: [0.5, -0.5],
        leaves: [
          [1, -1],
          [-2, 2],
          [0.5, 0],
          [0, 3],
        ],
        link: "softmax",
      },
      {
        K: 3,
        W: 3,
        base: [0.1, 0, -0.1],
        leaves: [
          [1, 0, -1],
          [0, 2, 0],
          [0.5, 0, 0],
          [0, 0, 3],
        ],
        link: "softmax",
      },
    ];
    const X: Matrix = {
      data: Float64Array.of(0, 0, 1, 0, 0, -2, Number.NaN, Number.NaN, 1, 5),
      nRows: 5,
      nCols: 2,
      layout: "row",
    };
    // Leaves reached per row: tree 0 → leaf 0 or 1, tree 1 → leaf 2 or 3.
    const reached = [
      [0, 3],
      [1, 3],
      [0, 2],
      [0, 3],
      [1, 3],
    ];
    for (const { K, W, base, leaves, link } of cases) {
      const nodes = allocNodes(6, W);
      nodes.feature.set([0, -1, -1, 1, -1, -1]);
      nodes.threshold.set([0.5, 0, 0, -1, 0, 0]);
      nodes.left.set([1, -1, -1, 4, -1, -1]);
      nodes.right.set([2, -1, -1, 5, -1, -1]);
      nodes.defaultLeft.set([1, 0, 0, 0, 0, 0]);
      [1, 2, 4, 5].forEach((node, q) => {
        nodes.value.set(leaves[q], node * W);
      });
      const ensemble = new TreeEnsemble(W, Int32Array.of(0, 3), Int32Array.of(0, 0), nodes, W);
      const model = handModel(K, { ensemble, base: Float64Array.from(base), link: link ?? "identity" });
      const want: number[] = [];
      for (const [a, b] of reached) {
        const raw = base.map((v, k) => v + leaves[a][k] + leaves[b][k]);
        const e = raw.map(Math.exp);
        const total = e.reduce((x, y) => x + y);
        want.push(...(link ? e.map((v) => v / total) : W === 1 ? [1 - raw[0], raw[0]] : raw));
      }
      const names = link ? Array.from({ length: K }, (_, k) => `c${k}`) : undefined;
      const { proba, label } = await ortRun(exportOnnx(model, { classLabels: names }), X);
      expect(maxDiff(Float64Array.from(want), proba), `K=${K} W=${W} ${link}`).toBeLessThanOrEqual(1e-7);
      const best = Array.from(argmaxRows(Float64Array.from(want), K));
      expect(label).toEqual(names ? best.map((k) => names[k]) : best.map(BigInt));
    }
  });

  it("names classes and features in the model", () => {
    const model = handModel(3, {
      ensemble: leafOnly(),
      base: new Float64Array(3),
      link: "softmax",
    });
    const proto = decodeOnnx(
      exportOnnx(model, { classLabels: ["a", "b", "c"], featureNames: ["x", "y"] }),
      "test",
    );
    expect(proto.metadataProps.map((p) => [p.key, p.value])).toEqual([
      ["netwarden.kind", "hand"],
      ["netwarden.feature_names", '["x","y"]'],
    ]);
    expect(proto.graph?.output?.[0].type?.tensorType?.elemType).toBe(8);
  });

  it("refuses models it cannot write and bad options", () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as NetwardenError;
      }
      throw new Error("expected an error");
    };
    const odd = { ...handModel(2, undefined), kind: "knn" } as FittedModel;
    expect(err(() => exportOnnx(odd)).code).toBe("NW_MODEL_EXPORT");
    expect(err(() => exportOnnx(odd)).message).toMatch(/knn model cannot be exported/);
    const trees = handModel(2, {
      ensemble: leafOnly(),
      base: new Float64Array(1),
      link: "logistic",
    });
    expect(err(() => exportOnnx(trees, { classLabels: ["a"] })).message).toMatch(/1 class labels/);
  });
});

/** One tree that is a single leaf. */
function leafOnly(): TreeEnsemble {
  const nodes = allocNodes(1);
  nodes.feature[0] = -1;
  return new TreeEnsemble(1, Int32Array.of(0), Int32Array.of(0), nodes);
}

function handModel(K: number, scoring: TreeScoring | undefined): FittedModel {
  return {
    kind: "hand",
    nFeatures: 2,
    nClasses: K,
    predictProba: () => new Float64Array(0),
    predict: () => new Int32Array(0),
    toJSON: () => ({}) as SerializedModel,
    ...(scoring ? { treeScoring: () => scoring } : {}),
  };
}
