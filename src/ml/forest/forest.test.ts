import { describe, expect, it } from "vitest";
import { type NetwardenError, Rng } from "../../core/index.js";
import { stratifiedHoldout, stratifiedKFold } from "../folds.js";
import { fromColumns, fromRows, takeRows } from "../matrix.js";
import { classificationReport } from "../metrics.js";
import { createLearner, loadModel } from "../registry.js";
import { loadPhishing, loadUnswNumeric } from "../test-support/datasets.js";
import type { FittedModel, Matrix } from "../types.js";
import { impurity } from "./cart.js";
import { DecisionTreeLearner, ForestLearner, type TreeModel } from "./forest.js";
import { featuresPerSplit } from "./params.js";

interface Trees {
  feature: number[];
  threshold: (number | null)[];
  value: number[];
  gain: number[];
  cover: number[];
  defaultLeft: number[];
  roots: number[];
  leafWidth: number;
}
const trees = (m: FittedModel) => (m.toJSON().state as { trees: Trees }).trees;

function accuracy(pred: Int32Array, y: Int32Array): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) ok++;
  return ok / y.length;
}

function split(X: Matrix, y: Int32Array, testFraction: number, seed: number) {
  const s = stratifiedHoldout(y, testFraction, seed);
  return {
    Xtr: takeRows(X, s.train),
    ytr: Int32Array.from(s.train, (i) => y[i]),
    Xte: takeRows(X, s.test),
    yte: Int32Array.from(s.test, (i) => y[i]),
  };
}

async function code(fn: () => unknown): Promise<[string, string]> {
  try {
    await fn();
  } catch (e) {
    return [(e as NetwardenError).code, (e as Error).message];
  }
  return ["no error", ""];
}

describe("CART impurity by hand", () => {
  it("computes Gini and entropy of class weights", () => {
    // Two classes 3:1 → Gini 1 − (9 + 1)/16 = 0.375; entropy −(¾ log₂ ¾ + ¼ log₂ ¼) ≈ 0.811278.
    expect(impurity("gini", [3, 1], 4)).toBe(0.375);
    expect(impurity("entropy", [3, 1], 4)).toBeCloseTo(0.8112781244591328, 15);
    expect(impurity("gini", [2, 2, 2, 2], 8)).toBe(0.75);
    expect(impurity("entropy", [2, 2, 2, 2], 8)).toBe(2);
    expect(impurity("gini", [5, 0], 5)).toBe(0);
  });
});

describe("decision_tree: hand-checkable trees", () => {
  // x separates the classes at 2.5: rows 0..3 → x = 1, 2, 3, 4 with labels 0, 0, 1, 1 and a
  // fifth row x = 4 of class 0 so the right leaf is impure.
  const X = fromColumns([Float64Array.of(1, 2, 3, 4, 4)]);
  const y = Int32Array.of(0, 0, 1, 1, 0);

  it("a stump has the right threshold, leaf distributions, covers and gain", async () => {
    const m = await new DecisionTreeLearner({ max_depth: 1 }).fit(X, y, { nClasses: 2 });
    const t = trees(m);
    expect(t.leafWidth).toBe(2);
    expect(t.feature).toEqual([0, -1, -1]);
    expect(t.threshold[0]).toBe(2.5);
    // Left: two rows of class 0 → (1, 0); right: x ∈ {3, 4, 4} with labels 1, 1, 0 → (1/3, 2/3).
    expect(t.value.slice(2, 4)).toEqual([1, 0]);
    expect(t.value[4]).toBeCloseTo(1 / 3, 15);
    expect(t.value[5]).toBeCloseTo(2 / 3, 15);
    expect(t.cover).toEqual([5, 2, 3]);
    // Gini decrease: 5 · (1 − (9 + 4)/25) − 2 · 0 − 3 · (1 − (1 + 4)/9) = 2.4 − 4/3.
    expect(t.gain[0]).toBeCloseTo(2.4 - 4 / 3, 14);
    expect(Array.from(m.predictProba(fromRows([[0], [10]])))).toEqual([1, 0, t.value[4], t.value[5]]);
  });

  it("entropy picks its own best split", async () => {
    // Gini and entropy disagree here: split A (x ≤ 1.5) isolates 1 of the 2 minority rows, split B
    // (x ≤ 3.5) puts both in a mixed half. Checked by hand with impurity() below.
    const x = Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const yy = Int32Array.of(1, 0, 0, 1, 0, 0, 0, 0);
    const scores = (crit: "gini" | "entropy", cut: number) => {
      const l = [0, 0];
      const r = [0, 0];
      x.forEach((v, i) => {
        (v <= cut ? l : r)[yy[i]]++;
      });
      const nl = l[0] + l[1];
      const nr = r[0] + r[1];
      return nl * impurity(crit, l, nl) + nr * impurity(crit, r, nr);
    };
    const best = (crit: "gini" | "entropy") => {
      let b = 0;
      for (let c = 1; c < 8; c++) if (scores(crit, c + 0.5) < scores(crit, b + 0.5) - 1e-12) b = c;
      return b + 0.5;
    };
    for (const crit of ["gini", "entropy"] as const) {
      const m = await new DecisionTreeLearner({ max_depth: 1, criterion: crit }).fit(fromColumns([x]), yy, {
        nClasses: 2,
      });
      expect(trees(m).threshold[0]).toBe(best(crit));
    }
  });

  it("grows until leaves are pure and learns XOR", async () => {
    const Xx = fromRows([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    const yx = Int32Array.of(0, 1, 1, 0);
    const m = await new DecisionTreeLearner().fit(Xx, yx, { nClasses: 2 });
    expect(Array.from(m.predict(Xx))).toEqual([0, 1, 1, 0]);
    expect(trees(m).feature.filter((f) => f < 0)).toHaveLength(4);
  });

  it("sends missing values where they belong and unseen ones to the heavier child", async () => {
    const x = Float64Array.of(1, 2, 3, 4, Number.NaN, Number.NaN);
    const m = await new DecisionTreeLearner({ max_depth: 1 }).fit(
      fromColumns([x]),
      Int32Array.of(0, 0, 1, 1, 1, 1),
      {
        nClasses: 2,
      },
    );
    const t = trees(m);
    expect(t.threshold[0]).toBe(2.5);
    expect(t.defaultLeft[0]).toBe(0);
    expect(Array.from(m.predict(fromColumns([Float64Array.of(Number.NaN, 1)])))).toEqual([1, 0]);
    // No missing value in training: NaN follows the child with more weight (class 1, 3 rows).
    const m2 = await new DecisionTreeLearner({ max_depth: 1 }).fit(
      fromColumns([Float64Array.of(1, 2, 3, 4, 5)]),
      Int32Array.of(0, 0, 1, 1, 1),
      { nClasses: 2 },
    );
    expect(trees(m2).defaultLeft[0]).toBe(0);
    expect(Array.from(m2.predict(fromColumns([Float64Array.of(Number.NaN)])))).toEqual([1]);
  });

  it("respects min_samples_leaf and min_samples_split", async () => {
    const n = 40;
    const rng = new Rng(3);
    const Xn = fromColumns([Float64Array.from({ length: n }, () => rng.normal())]);
    const yn = Int32Array.from({ length: n }, () => rng.int(2));
    const leafy = await new DecisionTreeLearner({ min_samples_leaf: 8 }).fit(Xn, yn, { nClasses: 2 });
    const t = trees(leafy);
    t.feature.forEach((f, i) => {
      if (f < 0) expect(t.cover[i]).toBeGreaterThanOrEqual(8);
    });
    const shallow = await new DecisionTreeLearner({ min_samples_split: 41 }).fit(Xn, yn, { nClasses: 2 });
    expect(trees(shallow).feature).toEqual([-1]);
  });

  it("max_features follows scikit-learn's rules", () => {
    expect(featuresPerSplit("sqrt", 42)).toBe(6);
    expect(featuresPerSplit("log2", 42)).toBe(5);
    expect(featuresPerSplit(null, 42)).toBe(42);
    expect(featuresPerSplit(10, 42)).toBe(10);
    expect(featuresPerSplit(100, 42)).toBe(42);
    expect(featuresPerSplit(0.5, 42)).toBe(21);
    expect(featuresPerSplit(0.01, 42)).toBe(1);
  });
});

describe("random_forest and extra_trees", () => {
  const rng = new Rng(5);
  const n = 600;
  const cols = [0, 1, 2, 3].map(() => Float64Array.from({ length: n }, () => rng.normal()));
  const X = fromColumns(cols);
  const y = Int32Array.from({ length: n }, (_, i) =>
    cols[0][i] + 0.5 * cols[1][i] + 0.3 * rng.normal() > 0 ? 1 : 0,
  );

  it("is deterministic for a seed and differs across seeds and kinds", async () => {
    const fitJson = async (kind: "random_forest" | "extra_trees", seed: number) =>
      JSON.stringify(
        (
          await new ForestLearner(kind, { n_estimators: 10, seed, n_threads: 1 }).fit(X, y, { nClasses: 2 })
        ).toJSON(),
      );
    expect(await fitJson("random_forest", 1)).toBe(await fitJson("random_forest", 1));
    expect(await fitJson("random_forest", 2)).not.toBe(await fitJson("random_forest", 1));
    expect(await fitJson("extra_trees", 1)).not.toBe(await fitJson("random_forest", 1));
  });

  it("averages leaf distributions into probabilities that sum to 1", async () => {
    const m = await new ForestLearner("random_forest", { n_estimators: 15 }).fit(X, y, { nClasses: 2 });
    expect(m.ensemble.nTrees).toBe(15);
    const p = m.predictProba(X);
    for (let i = 0; i < n; i++) expect(p[2 * i] + p[2 * i + 1]).toBeCloseTo(1, 12);
    expect(accuracy(m.predict(X), y)).toBeGreaterThan(0.95);
    const imp = m.featureImportance();
    expect(imp[0]).toBeGreaterThan(imp[2]);
    expect(imp[1]).toBeGreaterThan(imp[3]);
    expect(imp.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it("extra trees without bootstrap see every row; out-of-bag needs bootstrap", async () => {
    expect(new ForestLearner("extra_trees").params.bootstrap).toBe(false);
    expect(new ForestLearner("random_forest").params.bootstrap).toBe(true);
    const m = await new ForestLearner("extra_trees", { n_estimators: 3, max_depth: 1 }).fit(X, y, {
      nClasses: 2,
    });
    expect(trees(m).cover.filter((_, i) => trees(m).roots.includes(i))).toEqual([n, n, n]);
    expect((await code(() => new ForestLearner("extra_trees", { oob_score: true })))[1]).toMatch(
      /needs bootstrap/,
    );
  });

  it("bootstrap draws max_samples rows; balanced_subsample reweights each sample", async () => {
    const m = await new ForestLearner("random_forest", {
      n_estimators: 4,
      max_samples: 100,
      max_depth: 1,
    }).fit(X, y, {
      nClasses: 2,
    });
    const t = trees(m);
    for (const r of t.roots) expect(t.cover[r]).toBe(100);
    const b = await new ForestLearner("random_forest", {
      n_estimators: 4,
      max_depth: 1,
      class_weight: "balanced_subsample",
    }).fit(X, y, { nClasses: 2 });
    // Balanced weights make each bootstrap sample weigh as many rows as were drawn.
    for (const r of trees(b).roots) expect(trees(b).cover[r]).toBeCloseTo(n, 9);
    expect((await code(() => new ForestLearner("random_forest", { max_samples: 1.5 })))[0]).toBe(
      "NW_LEARNER_INVALID_PARAM",
    );
  });

  it("out-of-bag accuracy is close to held-out accuracy", async () => {
    const d = loadPhishing();
    const { Xtr, ytr, Xte, yte } = split(d.X, d.y, 0.3, 1);
    const m = (await new ForestLearner("random_forest", { n_estimators: 30, oob_score: true }).fit(Xtr, ytr, {
      nClasses: 2,
    })) as TreeModel;
    const oob = m.oobScore as number;
    expect(oob).toBeGreaterThan(0.9);
    expect(Math.abs(oob - accuracy(m.predict(Xte), yte))).toBeLessThan(0.03);
    expect(m.history.oob_accuracy?.[0]).toEqual({ step: 30, value: oob });
    const back = loadModel(JSON.parse(JSON.stringify(m.toJSON()))) as TreeModel;
    expect(back.oobScore).toBe(oob);
    expect(back.predictProba(Xte)).toEqual(m.predictProba(Xte));
  });

  it("gives the same forest bit for bit on 1, 2 and 3 threads", async () => {
    const d = loadPhishing();
    const sub = takeRows(
      d.X,
      Int32Array.from({ length: 3000 }, (_, i) => i * 3),
    );
    const ys = Int32Array.from({ length: 3000 }, (_, i) => d.y[i * 3]);
    for (const kind of ["random_forest", "extra_trees"] as const) {
      const json = async (t: number) =>
        JSON.stringify(
          (
            await new ForestLearner(kind, {
              n_estimators: 24,
              n_threads: t,
              oob_score: kind === "random_forest",
            }).fit(sub, ys, { nClasses: 2 })
          ).toJSON(),
        );
      const one = await json(1);
      expect(await json(2)).toBe(one);
      expect(await json(3)).toBe(one);
    }
  });
});

describe("tree learners on real data", () => {
  it("phishing, 3-fold CV: every tree family above its floor; forests ≥ 0.96", async () => {
    const d = loadPhishing();
    const floors: Record<string, number> = {
      decision_tree: 0.94,
      random_forest: 0.96,
      extra_trees: 0.96,
      adaboost: 0.91,
    };
    for (const [kind, floor] of Object.entries(floors)) {
      let acc = 0;
      const folds = stratifiedKFold(d.y, 3, 11);
      for (const f of folds) {
        const m = await createLearner(
          kind,
          kind === "random_forest" || kind === "extra_trees" ? { n_estimators: 40 } : {},
        ).fit(
          takeRows(d.X, f.train),
          Int32Array.from(f.train, (i) => d.y[i]),
          { nClasses: 2 },
        );
        acc +=
          accuracy(
            m.predict(takeRows(d.X, f.test)),
            Int32Array.from(f.test, (i) => d.y[i]),
          ) / folds.length;
      }
      expect(acc, kind).toBeGreaterThanOrEqual(floor);
    }
  });

  it("UNSW-NB15 attack_cat sample: a forest far above the majority class, every class scored", async () => {
    const u = loadUnswNumeric();
    const s = stratifiedHoldout(u.y, 0.25, 7);
    const ys = Int32Array.from(s.test, (i) => u.y[i]);
    const { Xtr, ytr, Xte, yte } = split(takeRows(u.X, s.test), ys, 0.4, 8);
    const K = u.classNames.length;
    const m = await createLearner("random_forest", { n_estimators: 30, max_depth: 20 }).fit(Xtr, ytr, {
      nClasses: K,
    });
    const r = classificationReport(yte, m.predictProba(Xte), u.classNames);
    // Majority (Normal) is 45 %; gradient boosting and forests reach about 0.86 on this sample.
    expect(r.accuracy).toBeGreaterThan(0.8);
    expect(r.macro.f1).toBeGreaterThan(0.4);
  });
});

describe("tree learners: input and parameter errors", () => {
  const X = fromRows([[1], [2], [3]]);
  const kinds = ["decision_tree", "random_forest", "extra_trees", "adaboost"];

  it("names the problem for unusable training input", async () => {
    for (const kind of kinds) {
      const l = createLearner(kind, kind === "decision_tree" ? {} : { n_estimators: 2 });
      expect(await code(() => l.fit(X, Int32Array.of(0, 1), { nClasses: 2 })), kind).toEqual([
        "NW_LEARNER_INVALID_INPUT",
        "X has 3 rows but 2 labels",
      ]);
      const nan = Float64Array.of(0, Number.NaN, 1) as unknown as Int32Array;
      expect((await code(() => l.fit(X, nan, { nClasses: 2 })))[1]).toMatch(/labels must be an Int32Array/);
      expect((await code(() => l.fit(X, Int32Array.of(1, 1, 1), { nClasses: 2 })))[1]).toMatch(/same label/);
      expect((await code(() => l.fit(fromRows([]), new Int32Array(0), { nClasses: 2 })))[1]).toMatch(
        /zero rows/,
      );
      expect((await code(() => l.fit(X, Int32Array.of(0, 1, 5), { nClasses: 2 })))[1]).toMatch(
        /label 5 at row 2/,
      );
    }
  });

  it("names unknown and out-of-range hyper-parameters", async () => {
    for (const kind of kinds) {
      const [c, msg] = await code(() => createLearner(kind, { n_estimator: 5 }));
      expect(c).toBe("NW_LEARNER_UNKNOWN_PARAM");
      expect(msg).toContain("n_estimator");
    }
    expect((await code(() => createLearner("random_forest", { random_state: 1 })))[0]).toBe(
      "NW_LEARNER_UNKNOWN_PARAM",
    );
    expect((await code(() => createLearner("random_forest", { max_features: "half" })))[1]).toMatch(
      /max_features.*"sqrt", "log2"/,
    );
    expect((await code(() => createLearner("random_forest", { max_features: 2.5 })))[1]).toMatch(
      /max_features/,
    );
    expect((await code(() => createLearner("decision_tree", { criterion: "mse" })))[0]).toBe(
      "NW_LEARNER_INVALID_PARAM",
    );
    expect(createLearner("random_forest", { max_features: "log2" }).params.max_features).toBe("log2");
    expect(createLearner("random_forest", { max_features: 0.3 }).params.max_features).toBe(0.3);
  });

  it("refuses prediction input of the wrong width and damaged model files", async () => {
    const m = await createLearner("random_forest", { n_estimators: 2 }).fit(X, Int32Array.of(0, 1, 0), {
      nClasses: 2,
    });
    expect(() => m.predict(fromRows([[1, 2]]))).toThrow(/X has 2 columns, the model expects 1/);
    const json = m.toJSON();
    const state = json.state as { trees: { leafWidth: number }; oobScore: null };
    expect(() => loadModel({ ...json, state: { ...state, oobScore: 2 } })).toThrow(/oobScore/);
    expect(() => loadModel({ ...json, nClasses: 3 })).toThrow(/expected 3/);
  });
});

describe("forests: WebAssembly histogram kernel", () => {
  it("grows the JavaScript loop's trees bit for bit (random forest, decision tree, class weights)", async () => {
    const u = loadUnswNumeric();
    const rows = Int32Array.from({ length: 5000 }, (_, i) => i * 16);
    const X = takeRows(u.X, rows);
    const y = Int32Array.from(rows, (i) => u.y[i]);
    const K = u.classNames.length;
    const fits: [string, Record<string, unknown>][] = [
      ["random_forest", { n_estimators: 4, seed: 3, n_threads: 1 }],
      [
        "random_forest",
        { n_estimators: 3, criterion: "entropy", class_weight: "balanced", seed: 5, n_threads: 1 },
      ],
      ["decision_tree", { max_depth: 12 }],
    ];
    for (const [kind, params] of fits) {
      const json = async () =>
        JSON.stringify((await createLearner(kind as never, params).fit(X, y, { nClasses: K })).toJSON());
      const withKernel = await json();
      process.env.NETWARDEN_WASM = "off";
      try {
        expect(await json()).toBe(withKernel);
      } finally {
        delete process.env.NETWARDEN_WASM;
      }
    }
  });
});
