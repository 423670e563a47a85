import { describe, expect, it } from "vitest";
import type { NetwardenError } from "../../core/index.js";
import { stratifiedHoldout } from "../folds.js";
import { fromRows, takeRows } from "../matrix.js";
import { loadModel } from "../registry.js";
import { loadPhishing } from "../test-support/datasets.js";
import { LogisticLearner } from "./logistic.js";

// Reference values: scikit-learn 1.9.1, LogisticRegression(C=…, tol=1e-12, max_iter=10000) on
// exactly these rows (lbfgs, the default solver).
const X = fromRows([
  [0.5, 1.0],
  [1.5, -0.5],
  [-1.0, 0.3],
  [2.0, 1.2],
  [-0.7, -1.1],
  [0.1, 0.4],
  [1.1, 0.9],
  [-1.5, 0.2],
  [0.3, -0.8],
  [-0.2, 1.5],
]);
const y = Int32Array.of(1, 1, 0, 1, 0, 0, 1, 0, 1, 0);
const TIGHT = { tol: 1e-10, max_iter: 1000 };

function expectClose(actual: Float64Array, expected: number[], digits: number) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i], digits);
}

describe("logistic regression against hand-worked optima", () => {
  it("two symmetric points: intercept 0 and w = 2 / (1 + e^w)", async () => {
    // Objective Σ log(1 + e^{-w}) + w²/2 over x = ±1 (y = 1 at +1): by symmetry b = 0, and the
    // gradient w − 2σ(−w) vanishes where w = 2 / (1 + eʷ) ≈ 0.6748316143.
    const m = await new LogisticLearner(TIGHT).fit(fromRows([[1], [-1]]), Int32Array.of(1, 0), {
      nClasses: 2,
    });
    const w = m.coef[0];
    expect(w).toBeCloseTo(2 / (1 + Math.exp(w)), 9);
    expect(w).toBeCloseTo(0.6748316143423994, 8);
    expect(m.intercept[0]).toBeCloseTo(0, 9);
  });

  it("the unpenalised intercept makes mean predicted probability equal the base rate", async () => {
    const m = await new LogisticLearner(TIGHT).fit(X, y, { nClasses: 2 });
    const p = m.predictProba(X);
    let mean = 0;
    for (let i = 0; i < 10; i++) mean += p[2 * i + 1] / 10;
    expect(mean).toBeCloseTo(0.5, 8);
  });
});

describe("logistic regression against scikit-learn", () => {
  it("binary, C = 1 and C = 0.1", async () => {
    const a = await new LogisticLearner({ ...TIGHT, C: 1 }).fit(X, y, { nClasses: 2 });
    expectClose(a.coef, [1.416820145660288, -0.13734535470709539], 6);
    expectClose(a.intercept, [-0.23803122651549546], 6);
    const b = await new LogisticLearner({ ...TIGHT, C: 0.1 }).fit(X, y, { nClasses: 2 });
    expectClose(b.coef, [0.3415265392044774, 0.005983158494887257], 6);
    expectClose(b.intercept, [-0.0732335451298745], 6);
    expect(a.converged).toBe(true);
  });

  it("binary with sample weights", async () => {
    const sampleWeight = Float64Array.of(1, 2, 1, 0.5, 1, 3, 1, 1, 2, 1);
    const m = await new LogisticLearner(TIGHT).fit(X, y, { nClasses: 2, sampleWeight });
    expectClose(m.coef, [1.539167265746049, -0.4382110892246412], 6);
    expectClose(m.intercept, [-0.3847073808718019], 6);
  });

  it("binary with balanced class weights", async () => {
    const yb = Int32Array.of(1, 1, 0, 1, 0, 0, 1, 1, 1, 1);
    const m = await new LogisticLearner({ ...TIGHT, class_weight: "balanced" }).fit(X, yb, { nClasses: 2 });
    expectClose(m.coef, [0.7743737088433005, 0.4737363183853611], 6);
    expectClose(m.intercept, [-0.06165617731960147], 6);
  });

  it("multinomial, three classes", async () => {
    const y3 = Int32Array.of(0, 1, 2, 1, 0, 2, 1, 0, 2, 2);
    const m = await new LogisticLearner(TIGHT).fit(X, y3, { nClasses: 3 });
    expectClose(
      m.coef,
      [
        -0.7066161687124735, -0.18004528512986584, 1.1485595822087795, 0.07457914146521845,
        -0.4419434134963061, 0.10546614366464746,
      ],
      6,
    );
    expectClose(m.intercept, [0.19855137913527587, -0.6819196342125502, 0.483368255077275], 6);
    const p = m.predictProba(X);
    for (let i = 0; i < 10; i++) expect(p[3 * i] + p[3 * i + 1] + p[3 * i + 2]).toBeCloseTo(1, 14);
  });
});

describe("logistic regression: model behaviour", () => {
  it("round-trips through JSON and records its loss per iteration", async () => {
    const m = await new LogisticLearner().fit(X, y, { nClasses: 2, featureNames: ["u", "v"] });
    const back = loadModel(JSON.parse(JSON.stringify(m.toJSON())));
    expect(back.predictProba(X)).toEqual(m.predictProba(X));
    const loss = (m.history.train_loss ?? []).map((p) => p.value);
    expect(loss.length).toBe(m.iterations);
    for (let i = 1; i < loss.length; i++) expect(loss[i]).toBeLessThanOrEqual(loss[i - 1]);
  });

  it("can leave the intercept out", async () => {
    const m = await new LogisticLearner({ fit_intercept: false }).fit(X, y, { nClasses: 2 });
    expect(m.intercept[0]).toBe(0);
  });

  it("refuses missing values with a hint to impute", async () => {
    const Xn = fromRows([[1], [Number.NaN], [0]]);
    try {
      await new LogisticLearner().fit(Xn, Int32Array.of(1, 0, 0), { nClasses: 2, featureNames: ["dur"] });
      expect.unreachable();
    } catch (e) {
      const err = e as NetwardenError;
      expect(err.code).toBe("NW_LEARNER_INVALID_INPUT");
      expect(err.where).toBe("logreg fit X row 1, column dur");
      expect(err.hint).toMatch(/imputer/);
    }
  });

  it("phishing: stratified 80/20 split reaches ≥ 0.91 test accuracy", async () => {
    const d = loadPhishing();
    const s = stratifiedHoldout(d.y, 0.2, 42);
    const m = await new LogisticLearner().fit(
      takeRows(d.X, s.train),
      Int32Array.from(s.train, (i) => d.y[i]),
      { nClasses: 2 },
    );
    const pred = m.predict(takeRows(d.X, s.test));
    let ok = 0;
    s.test.forEach((row, k) => {
      if (pred[k] === d.y[row]) ok++;
    });
    expect(ok / s.test.length).toBeGreaterThanOrEqual(0.91);
    expect(m.converged).toBe(true);
  });
});
