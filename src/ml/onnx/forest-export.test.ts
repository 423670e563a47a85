import { beforeAll, describe, expect, it } from "vitest";
import { AdaBoostLearner, DecisionTreeLearner, ForestLearner } from "../forest/index.js";
import { takeRows } from "../matrix.js";
import { loadPhishing, loadUnswNumeric } from "../test-support/datasets.js";
import type { FittedModel, Learner, Matrix } from "../types.js";
import { exportOnnx } from "./export.js";
import { maxDiff, ortProba } from "./test-support/ort.js";

let phishing: { X: Matrix; y: Int32Array };
let unsw: { X: Matrix; y: Int32Array };

beforeAll(() => {
  phishing = loadPhishing();
  const u = loadUnswNumeric();
  const rows = Int32Array.from({ length: 3000 }, (_, i) => i * 27);
  unsw = { X: takeRows(u.X, rows), y: Int32Array.from(rows, (r) => u.y[r]) };
});

const learners: [string, () => Learner][] = [
  ["random_forest", () => new ForestLearner("random_forest", { n_estimators: 20, seed: 3, n_threads: 1 })],
  ["extra_trees", () => new ForestLearner("extra_trees", { n_estimators: 20, seed: 3, n_threads: 1 })],
  ["decision_tree", () => new DecisionTreeLearner({ max_depth: 8, seed: 3 })],
  ["adaboost", () => new AdaBoostLearner({ n_estimators: 30, max_depth: 2, seed: 3 })],
];

/** Raw scores the explanation must add up to: the ensemble's margins before the link. */
function rawScores(model: FittedModel, X: Matrix): Float64Array {
  const s = (
    model as unknown as {
      treeScoring(): {
        ensemble: { predictRaw(X: Matrix, b: Float64Array): Float64Array };
        base: Float64Array;
      };
    }
  ).treeScoring();
  return s.ensemble.predictRaw(X, s.base);
}

describe.each(learners)("%s", (_kind, make) => {
  it("exports to ONNX with probabilities equal to ours (≤ 1e-6), binary and multi-class", async () => {
    const bin = await make().fit(phishing.X, phishing.y, { nClasses: 2 });
    expect(
      maxDiff(bin.predictProba(phishing.X), await ortProba(exportOnnx(bin), phishing.X)),
    ).toBeLessThanOrEqual(1e-6);
    const multi = await make().fit(unsw.X, unsw.y, { nClasses: 10 });
    expect(
      maxDiff(multi.predictProba(unsw.X), await ortProba(exportOnnx(multi), unsw.X)),
    ).toBeLessThanOrEqual(1e-6);
  });

  it("explains every row additively: contributions + expected value = raw score (≤ 1e-9)", async () => {
    const model = await make().fit(unsw.X, unsw.y, { nClasses: 10 });
    const rows = takeRows(
      unsw.X,
      Int32Array.from({ length: 60 }, (_, i) => i * 41),
    );
    const ex = model.explain!(rows);
    const raw = rawScores(model, rows);
    const F = rows.nCols;
    let worst = 0;
    for (let i = 0; i < rows.nRows; i++) {
      for (let k = 0; k < ex.nOutputs; k++) {
        let sum = ex.expectedValue[k];
        for (let f = 0; f < F; f++) sum += ex.values[(i * ex.nOutputs + k) * F + f];
        worst = Math.max(worst, Math.abs(sum - raw[i * ex.nOutputs + k]));
      }
    }
    expect(worst).toBeLessThanOrEqual(1e-9);
  });
});
