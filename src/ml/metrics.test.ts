import { describe, expect, it } from "vitest";
import type { NetwardenError } from "../core/index.js";
import {
  averagePrecision,
  calibrationTable,
  classificationReport,
  greaterIsBetter,
  logLoss,
  METRIC_NAMES,
  rocAuc,
  score,
} from "./metrics.js";

/** One-hot probabilities (predict exactly `pred`). */
function oneHot(pred: number[], K: number): Float64Array {
  const p = new Float64Array(pred.length * K);
  pred.forEach((c, i) => {
    p[i * K + c] = 1;
  });
  return p;
}

/** Binary probabilities [1 - s, s] for scores s. */
function binaryProba(s: number[]): Float64Array {
  return Float64Array.from(s.flatMap((v) => [1 - v, v]));
}

describe("counts-based metrics", () => {
  // true:  0 0 1 1 2 2 2
  // pred:  0 1 1 1 2 0 2   → confusion [[1,1,0],[0,2,0],[1,0,2]]
  const y = Int32Array.of(0, 0, 1, 1, 2, 2, 2);
  const proba = oneHot([0, 1, 1, 1, 2, 0, 2], 3);
  const r = classificationReport(y, proba, ["a", "b", "c"]);

  it("builds the confusion matrix with rows = true, columns = predicted", () => {
    expect(r.confusion).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 2],
    ]);
  });

  it("computes per-class precision, recall, F1 and support", () => {
    // precision: a 1/2, b 2/3, c 2/2; recall: a 1/2, b 2/2, c 2/3
    expect(r.perClass.map((c) => c.precision)).toEqual([0.5, 2 / 3, 1]);
    expect(r.perClass.map((c) => c.recall)).toEqual([0.5, 1, 2 / 3]);
    expect(r.perClass[0].f1).toBeCloseTo(0.5, 12);
    expect(r.perClass[1].f1).toBeCloseTo(0.8, 12);
    expect(r.perClass[2].f1).toBeCloseTo(0.8, 12);
    expect(r.perClass.map((c) => c.support)).toEqual([2, 2, 3]);
  });

  it("averages: accuracy, balanced accuracy, macro and weighted", () => {
    expect(r.accuracy).toBeCloseTo(5 / 7, 12);
    expect(r.balancedAccuracy).toBeCloseTo((0.5 + 1 + 2 / 3) / 3, 12);
    expect(r.macro.f1).toBeCloseTo((0.5 + 0.8 + 0.8) / 3, 12);
    expect(r.weighted.f1).toBeCloseTo((2 * 0.5 + 2 * 0.8 + 3 * 0.8) / 7, 12);
    expect(r.macro.precision).toBeCloseTo((0.5 + 2 / 3 + 1) / 3, 12);
    expect(score("f1_macro", y, proba, 3)).toBeCloseTo(0.7, 12);
    expect(score("f1_weighted", y, proba, 3)).toBeCloseTo(5 / 7, 12);
    expect(score("accuracy", y, proba, 3)).toBeCloseTo(5 / 7, 12);
    expect(score("balanced_accuracy", y, proba, 3)).toBeCloseTo(13 / 18, 12);
  });

  it("gives 0 precision (not NaN) to a class never predicted", () => {
    const rr = classificationReport(Int32Array.of(0, 1, 1), oneHot([1, 1, 1], 2), ["n", "p"]);
    expect(rr.perClass[0].precision).toBe(0);
    expect(rr.perClass[0].f1).toBe(0);
    expect(rr.binary?.precision).toBeCloseTo(2 / 3, 12);
    expect(rr.binary?.recall).toBe(1);
  });
});

describe("curve metrics", () => {
  // y: 1 0 1 1 0 0, scores .8 .8 .7 .3 .3 .1 (two tied pairs).
  // ROC points (FPR, TPR): (1/3,1/3) (1/3,2/3) (2/3,1) (1,1): area 1/18 + 0 + 5/18 + 6/18 = 2/3.
  const pos = Uint8Array.of(1, 0, 1, 1, 0, 0);
  const s = Float64Array.of(0.8, 0.8, 0.7, 0.3, 0.3, 0.1);

  it("ROC-AUC integrates tied scores by the trapezoid rule", () => {
    expect(rocAuc(pos, s)).toBeCloseTo(2 / 3, 12);
    expect(rocAuc(Uint8Array.of(1, 0), Float64Array.of(0.5, 0.5))).toBe(0.5);
    expect(rocAuc(Uint8Array.of(1, 1), Float64Array.of(0.2, 0.5))).toBeNaN();
  });

  it("average precision is sklearn's step sum", () => {
    // thresholds .8: P 1/2 R 1/3; .7: P 2/3 R 2/3; .3: P 3/5 R 1.
    expect(averagePrecision(pos, s)).toBeCloseTo((1 / 2 + 2 / 3 + 3 / 5) / 3, 12);
  });

  it("binary report uses the positive class's probabilities", () => {
    const y = Int32Array.from(pos);
    const proba = binaryProba(Array.from(s));
    const r = classificationReport(y, proba, ["neg", "pos"]);
    expect(r.rocAuc).toBeCloseTo(2 / 3, 12);
    expect(r.prAuc).toBeCloseTo(0.5888888888888889, 12);
    expect(score("roc_auc", y, proba, 2)).toBeCloseTo(2 / 3, 12);
    expect(score("pr_auc", y, proba, 2)).toBeCloseTo(0.5888888888888889, 12);
    // Brier: (.2² + .8² + .3² + .7² + .3² + .1²) / 6
    expect(r.binary?.brier).toBeCloseTo((0.04 + 0.64 + 0.09 + 0.49 + 0.09 + 0.01) / 6, 12);
    // Choosing class 0 as positive turns the ranking around.
    expect(score("roc_auc", y, proba, 2, { positiveClass: 0 })).toBeCloseTo(2 / 3, 12);
    expect(r.binary?.positiveClass).toBe("pos");
  });

  it("multi-class ROC-AUC is the one-vs-rest macro average", () => {
    const y = Int32Array.of(0, 1, 2, 2, 1, 0);
    const P = Float64Array.of(
      0.7,
      0.2,
      0.1,
      0.3,
      0.4,
      0.3,
      0.1,
      0.3,
      0.6,
      0.3,
      0.4,
      0.3,
      0.2,
      0.5,
      0.3,
      0.5,
      0.1,
      0.4,
    );
    // class a: 1; class b: 7.5/8; class c: 6/8 (worked pair by pair).
    expect(score("roc_auc", y, P, 3)).toBeCloseTo((1 + 7.5 / 8 + 6 / 8) / 3, 12);
    expect(classificationReport(y, P, ["a", "b", "c"]).binary).toBeUndefined();
    const expectedLoss =
      -(Math.log(0.7) + Math.log(0.4) + Math.log(0.6) + Math.log(0.3) + 2 * Math.log(0.5)) / 6;
    expect(logLoss(y, P, 3)).toBeCloseTo(expectedLoss, 12);
    expect(score("log_loss", y, P, 3)).toBeCloseTo(0.7290097441707841, 12);
  });

  it("clips zero probabilities in log loss", () => {
    expect(logLoss(Int32Array.of(1), Float64Array.of(1, 0), 2)).toBeCloseTo(-Math.log(1e-15), 9);
  });
});

describe("calibration table", () => {
  it("bins probabilities into 10 equal-width bins", () => {
    const pos = Uint8Array.of(0, 1, 1, 1, 0);
    const s = Float64Array.of(0.05, 0.15, 0.95, 1.0, 0.12);
    const t = calibrationTable(pos, s);
    expect(t).toHaveLength(10);
    expect(t[0]).toEqual({ lower: 0, upper: 0.1, count: 1, meanPredicted: 0.05, observedRate: 0 });
    expect(t[1].count).toBe(2);
    expect(t[1].meanPredicted).toBeCloseTo(0.135, 12);
    expect(t[1].observedRate).toBe(0.5);
    expect(t[5]).toMatchObject({ count: 0, meanPredicted: null, observedRate: null });
    expect(t[9]).toMatchObject({ count: 2, meanPredicted: 0.975, observedRate: 1 });
  });
});

describe("score", () => {
  it("knows which metrics are better when lower", () => {
    expect(METRIC_NAMES.filter((m) => !greaterIsBetter(m))).toEqual(["log_loss"]);
  });

  it("refuses binary-only metrics on multi-class targets and unknown names", () => {
    const y = Int32Array.of(0, 1, 2);
    const P = oneHot([0, 1, 2], 3);
    expect(() => score("f1", y, P, 3)).toThrow(/needs a binary target/);
    try {
      score("acuracy" as "accuracy", y, P, 3);
      expect.unreachable();
    } catch (e) {
      expect((e as NetwardenError).code).toBe("NW_CONFIG_INVALID_VALUE");
      expect((e as NetwardenError).hint).toContain("`accuracy`");
    }
  });

  it("computes binary precision, recall and F1 of the positive class", () => {
    const y = Int32Array.of(1, 1, 1, 0, 0);
    const P = oneHot([1, 1, 0, 1, 0], 2); // tp 2, fn 1, fp 1
    expect(score("precision", y, P, 2)).toBeCloseTo(2 / 3, 12);
    expect(score("recall", y, P, 2)).toBeCloseTo(2 / 3, 12);
    expect(score("f1", y, P, 2)).toBeCloseTo(2 / 3, 12);
    expect(score("recall", y, P, 2, { positiveClass: 0 })).toBe(0.5);
  });

  it("rejects mis-shaped probabilities", () => {
    expect(() => score("accuracy", Int32Array.of(0, 1), new Float64Array(3), 2)).toThrow(/hold 3 values/);
  });
});
