import { describe, expect, it } from "vitest";
import { fromRows } from "../matrix.js";
import { loadModel } from "../registry.js";
import { AdaBoostLearner, type AdaBoostModel } from "./adaboost.js";

describe("adaboost (SAMME) by hand", () => {
  // Four points on a line, labels 0 1 1 0: no stump is perfect, and each stump gets exactly one
  // point wrong in the first round.
  const X = fromRows([[1], [2], [3], [4]]);
  const y = Int32Array.of(0, 1, 1, 0);

  it("weights trees by log((1 − e)/e) + log(K − 1) and reweights the mistakes", async () => {
    const m = (await new AdaBoostLearner({ n_estimators: 2 }).fit(X, y, { nClasses: 2 })) as AdaBoostModel;
    // Round 1: uniform weights ¼; the best stump errs on one point: e₁ = ¼,
    // α₁ = log(0.75/0.25) + log(1) = log 3.
    const a = m.estimatorWeights;
    expect(a).toHaveLength(2);
    expect(a[0]).toBeCloseTo(Math.log(3), 14);
    expect(m.history.train_error?.[0].value).toBeCloseTo(0.25, 15);
    // The wrong point's weight is multiplied by e^α₁ = 3: weights ∝ (1, 1, 1, 3) / 6 → the misfit
    // now weighs ½. The second stump must get it right and errs on 1 of the ⅙ points: e₂ = 1/6,
    // α₂ = log 5.
    expect(m.history.train_error?.[1].value).toBeCloseTo(1 / 6, 14);
    expect(a[1]).toBeCloseTo(Math.log(5), 14);
  });

  it("scores like scikit-learn: softmax of Σ α·(1 or −1/(K−1)) / (Σα·(K−1))", async () => {
    const m = (await new AdaBoostLearner({ n_estimators: 2 }).fit(X, y, { nClasses: 2 })) as AdaBoostModel;
    const [a1, a2] = m.estimatorWeights;
    const raw = m.decisionScores(X);
    const p = m.predictProba(X);
    for (let i = 0; i < 4; i++) {
      // Binary: the two scores are ±s with s = (±α₁ ± α₂)/(α₁ + α₂); p₁ = sigmoid(2s).
      const s = raw[2 * i + 1];
      expect(raw[2 * i]).toBeCloseTo(-s, 15);
      expect([a1 + a2, a1 - a2, a2 - a1, -a1 - a2].some((v) => Math.abs(v / (a1 + a2) - s) < 1e-12)).toBe(
        true,
      );
      expect(p[2 * i + 1]).toBeCloseTo(1 / (1 + Math.exp(-2 * s)), 14);
    }
  });

  it("stops at a perfect tree and gives it weight 1", async () => {
    const m = (await new AdaBoostLearner({ n_estimators: 10 }).fit(X, Int32Array.of(0, 0, 1, 1), {
      nClasses: 2,
    })) as AdaBoostModel;
    expect(m.estimatorWeights).toEqual([1]);
    expect(Array.from(m.predict(X))).toEqual([0, 0, 1, 1]);
  });

  it("handles several classes and round-trips through JSON", async () => {
    const X3 = fromRows([[0], [1], [2], [3], [4], [5], [6], [7], [8]]);
    const y3 = Int32Array.of(0, 0, 0, 1, 1, 1, 2, 2, 2);
    const m = await new AdaBoostLearner({ n_estimators: 20, learning_rate: 0.5 }).fit(X3, y3, {
      nClasses: 3,
    });
    expect(Array.from(m.predict(X3))).toEqual(Array.from(y3));
    const p = m.predictProba(X3);
    for (let i = 0; i < 9; i++) expect(p[3 * i] + p[3 * i + 1] + p[3 * i + 2]).toBeCloseTo(1, 14);
    const back = loadModel(JSON.parse(JSON.stringify(m.toJSON())));
    expect(back.predictProba(X3)).toEqual(p);
    expect(back.history).toEqual(m.history);
  });

  it("fails with a coded error when the first tree is no better than chance", async () => {
    // Identical features, alternating labels: every stump has error ½.
    const Xc = fromRows([[1], [1], [1], [1]]);
    await expect(
      new AdaBoostLearner().fit(Xc, Int32Array.of(0, 1, 0, 1), { nClasses: 2 }),
    ).rejects.toMatchObject({
      code: "NW_LEARNER_INVALID_INPUT",
    });
  });
});
