import { describe, expect, it } from "vitest";
import { type NetwardenError, Rng } from "../../core/index.js";
import { stratifiedHoldout } from "../folds.js";
import { fromColumns, fromRows, takeRows, toLayout } from "../matrix.js";
import { classificationReport } from "../metrics.js";
import { loadModel } from "../registry.js";
import { loadPhishing, loadUnswNumeric } from "../test-support/datasets.js";
import type { Matrix } from "../types.js";
import { GbdtLearner, type GbdtModel } from "./gbdt.js";
import { featureBlocks } from "./hist.js";

interface Trees {
  feature: number[];
  threshold: (number | null)[];
  value: number[];
  gain: number[];
  cover: number[];
  defaultLeft: number[];
  roots: number[];
}
const trees = (m: GbdtModel) => m.toJSON().state as { trees: Trees; baseScore: number[] };

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

/** Noise: labels unrelated to the features, so more rounds only overfit. */
function noise(n: number, seed: number) {
  const rng = new Rng(seed);
  const cols = [0, 1, 2].map(() => Float64Array.from({ length: n }, () => rng.normal()));
  return { X: fromColumns(cols), y: Int32Array.from({ length: n }, () => rng.int(2)) };
}

describe("gbdt: hand-checkable trees", () => {
  // One feature, perfectly separable at 0.5. With base_score 0.5 every margin starts at 0,
  // p = 0.5, g = p - y = ±0.5, h = p(1 - p) = 0.25.
  const X = fromColumns([Float64Array.of(0, 0, 1, 1)]);
  const y = Int32Array.of(0, 0, 1, 1);

  it("learns one split with leaf values -G/H when lambda = 0", async () => {
    const m = await new GbdtLearner({
      n_estimators: 1,
      learning_rate: 1,
      reg_lambda: 0,
      min_child_weight: 0,
      base_score: 0.5,
    }).fit(X, y, { nClasses: 2 });
    const t = trees(m).trees;
    expect(t.feature).toEqual([0, -1, -1]);
    expect(t.threshold[0]).toBe(0.5);
    // left: G = 0.5 + 0.5 = 1, H = 0.5 → -2; right: G = -1, H = 0.5 → +2
    expect(t.value).toEqual([0, -2, 2]);
    // gain = G_L²/H_L + G_R²/H_R - G²/H = 2 + 2 - 0
    expect(t.gain[0]).toBe(4);
    expect(t.cover).toEqual([1, 0.5, 0.5]);
    const p = m.predictProba(fromColumns([Float64Array.of(0, 1, 0.4, 0.6)]));
    const lo = 1 / (1 + Math.exp(2));
    expect(p[1]).toBeCloseTo(lo, 15);
    expect(p[3]).toBeCloseTo(1 - lo, 15);
    expect(p[5]).toBeCloseTo(lo, 15); // 0.4 is below the midpoint threshold
    expect(p[7]).toBeCloseTo(1 - lo, 15);
  });

  it("shrinks leaves by lambda and the learning rate", async () => {
    const m = await new GbdtLearner({
      n_estimators: 1,
      learning_rate: 0.3,
      reg_lambda: 1,
      min_child_weight: 0,
      base_score: 0.5,
    }).fit(X, y, { nClasses: 2 });
    // -G/(H + λ) · η = -1 / 1.5 · 0.3
    const v = trees(m).trees.value;
    expect(v[1]).toBeCloseTo(-0.2, 15);
    expect(v[2]).toBeCloseTo(0.2, 15);
  });

  it("starts from the class prior when base_score is null", async () => {
    const m = await new GbdtLearner({ n_estimators: 1 }).fit(
      fromColumns([Float64Array.of(0, 0, 0, 1)]),
      Int32Array.of(0, 1, 1, 1),
      { nClasses: 2 },
    );
    expect(trees(m).baseScore[0]).toBeCloseTo(Math.log(3), 14);
  });

  it("learns where missing values go", async () => {
    const x = Float64Array.of(1, 2, 3, 4, Number.NaN, Number.NaN);
    const opts = { n_estimators: 1, learning_rate: 1, reg_lambda: 0, min_child_weight: 0, base_score: 0.5 };
    // Missing rows behave like the high values → threshold 2.5, missing right.
    const a = await new GbdtLearner(opts).fit(fromColumns([x]), Int32Array.of(0, 0, 1, 1, 1, 1), {
      nClasses: 2,
    });
    expect(trees(a).trees.threshold[0]).toBe(2.5);
    expect(trees(a).trees.defaultLeft[0]).toBe(0);
    // Missing rows behave like the low values → missing left.
    const b = await new GbdtLearner(opts).fit(fromColumns([x]), Int32Array.of(1, 1, 0, 0, 1, 1), {
      nClasses: 2,
    });
    expect(trees(b).trees.threshold[0]).toBe(2.5);
    expect(trees(b).trees.defaultLeft[0]).toBe(1);
    const p = b.predictProba(fromColumns([Float64Array.of(Number.NaN, 3)]));
    expect(p[1]).toBeGreaterThan(0.5);
    expect(p[3]).toBeLessThan(0.5);
  });

  it("splits missing against present when only missingness matters", async () => {
    const x = Float64Array.of(5, 5, 5, Number.NaN, Number.NaN);
    const m = await new GbdtLearner({ n_estimators: 1, learning_rate: 1, min_child_weight: 0 }).fit(
      fromColumns([x]),
      Int32Array.of(0, 0, 0, 1, 1),
      { nClasses: 2 },
    );
    const t = trees(m).trees;
    expect(t.feature[0]).toBe(0);
    expect(t.threshold[0]).toBeNull(); // +Infinity: every present value goes left
    const p = m.predictProba(fromColumns([Float64Array.of(Number.NaN, 5, 1e9)]));
    expect(p[1]).toBeGreaterThan(0.5);
    expect(p[3]).toBeLessThan(0.5);
    expect(p[5]).toBeLessThan(0.5);
  });

  it("respects max_depth, max_leaves and min_samples_leaf", async () => {
    const { X: Xn, y: yn } = noise(400, 1);
    const stumps = await new GbdtLearner({ n_estimators: 3, max_depth: 1 }).fit(Xn, yn, { nClasses: 2 });
    expect(trees(stumps).trees.feature.length).toBe(9);
    const leaves = await new GbdtLearner({
      n_estimators: 3,
      grow_policy: "lossguide",
      max_leaves: 4,
      max_depth: 0,
    }).fit(Xn, yn, { nClasses: 2 });
    const f = trees(leaves).trees.feature;
    expect(f.filter((v) => v < 0).length).toBe(12);
    const big = await new GbdtLearner({ n_estimators: 1, min_samples_leaf: 150, min_child_weight: 0 }).fit(
      Xn,
      yn,
      {
        nClasses: 2,
      },
    );
    // 400 rows with ≥ 150 per leaf: at most 2 leaves.
    expect(trees(big).trees.feature.filter((v) => v < 0).length).toBeLessThanOrEqual(2);
  });

  it("gives gain importance only to the informative feature", async () => {
    const rng = new Rng(9);
    const n = 300;
    const cols = [0, 1, 2].map(() => Float64Array.from({ length: n }, () => rng.normal()));
    const yy = Int32Array.from(cols[1], (v) => (v > 0.3 ? 1 : 0));
    const m = await new GbdtLearner({ n_estimators: 5, max_depth: 1 }).fit(fromColumns(cols), yy, {
      nClasses: 2,
    });
    expect(Array.from(m.featureImportance())).toEqual([0, 1, 0]);
  });
});

describe("gbdt: options and reproducibility", () => {
  const { X, y } = noise(600, 2);

  it("is deterministic: same data, params and seed give identical JSON", async () => {
    const params = { n_estimators: 15, subsample: 0.7, colsample_bytree: 0.67, seed: 11 };
    const a = JSON.stringify((await new GbdtLearner(params).fit(X, y, { nClasses: 2 })).toJSON());
    const b = JSON.stringify((await new GbdtLearner(params).fit(X, y, { nClasses: 2 })).toJSON());
    expect(a).toBe(b);
    const c = JSON.stringify(
      (await new GbdtLearner({ ...params, seed: 12 }).fit(X, y, { nClasses: 2 })).toJSON(),
    );
    expect(c).not.toBe(a);
  });

  it("round-trips through JSON with identical probabilities", async () => {
    const m = await new GbdtLearner({ n_estimators: 10, subsample: 0.8 }).fit(X, y, {
      nClasses: 2,
      featureNames: ["a", "b", "c"],
    });
    const back = loadModel(JSON.parse(JSON.stringify(m.toJSON())));
    expect(back.predictProba(X)).toEqual(m.predictProba(X));
    expect(back.toJSON()).toEqual(m.toJSON());
    expect(back.history).toEqual(m.history);
  });

  it("predicts the same for row- and column-major, Float64 and Float32 input", async () => {
    const m = await new GbdtLearner({ n_estimators: 10 }).fit(X, y, { nClasses: 2 });
    const R = toLayout(X, "row");
    const F32: Matrix = { ...R, data: Float32Array.from(R.data) };
    const p = m.predictProba(X);
    expect(m.predictProba(R)).toEqual(p);
    // Float32 rounding may only matter exactly at a threshold, and thresholds sit between values.
    expect(m.predictProba(F32)).toEqual(p);
    const one = m.predictProba(takeRows(R, Int32Array.of(17)));
    expect(Array.from(one)).toEqual([p[34], p[35]]);
  });

  it("stops early at the best validation round and keeps only those trees", async () => {
    const valid = noise(300, 3);
    const m = await new GbdtLearner({ n_estimators: 200, early_stopping_rounds: 5, learning_rate: 0.3 }).fit(
      X,
      y,
      {
        nClasses: 2,
        validation: valid,
      },
    );
    const best = m.bestRound as number;
    expect(best).toBeGreaterThanOrEqual(1);
    expect(m.nRounds).toBe(best);
    const vl = (m.history.valid_logloss ?? []).map((p) => p.value);
    expect(vl.length).toBe(best + 5);
    expect(Math.min(...vl)).toBe(vl[best - 1]);
    expect(m.history.train_logloss?.length).toBe(best + 5);
    // The kept model is exactly the model trained for `best` rounds.
    const plain = await new GbdtLearner({ n_estimators: best, learning_rate: 0.3 }).fit(X, y, {
      nClasses: 2,
    });
    expect(m.predictProba(valid.X)).toEqual(plain.predictProba(valid.X));
  });

  it("records a decreasing training loss per round", async () => {
    const m = await new GbdtLearner({ n_estimators: 20 }).fit(X, y, { nClasses: 2 });
    const tl = (m.history.train_logloss ?? []).map((p) => p.value);
    expect(tl).toHaveLength(20);
    for (let i = 1; i < tl.length; i++) expect(tl[i]).toBeLessThan(tl[i - 1]);
    expect(m.history.valid_logloss).toBeUndefined();
  });

  it("treats weight 2 like a duplicated row", async () => {
    const Xs = fromRows([[0], [1], [2], [3], [4], [5]]);
    const ys = Int32Array.of(0, 1, 0, 1, 1, 1);
    const w = Float64Array.of(1, 2, 1, 1, 2, 1);
    const Xd = fromRows([[0], [1], [1], [2], [3], [4], [4], [5]]);
    const yd = Int32Array.of(0, 1, 1, 0, 1, 1, 1, 1);
    const params = { n_estimators: 5, min_child_weight: 0 };
    const a = await new GbdtLearner(params).fit(Xs, ys, { nClasses: 2, sampleWeight: w });
    const b = await new GbdtLearner(params).fit(Xd, yd, { nClasses: 2 });
    const pa = a.predictProba(Xs);
    const pb = b.predictProba(Xs);
    for (let i = 0; i < pa.length; i++) expect(pa[i]).toBeCloseTo(pb[i], 12);
  });

  it("balanced class weights raise the rare class's recall", async () => {
    const rng = new Rng(4);
    const n = 1000;
    const x = Float64Array.from({ length: n }, () => rng.normal());
    const yy = Int32Array.from(x, (v) => (v + rng.normal() > 2 ? 1 : 0));
    const Xi = fromColumns([x]);
    const params = { n_estimators: 20, max_depth: 2 };
    const plain = await new GbdtLearner(params).fit(Xi, yy, { nClasses: 2 });
    const bal = await new GbdtLearner({ ...params, class_weight: "balanced" }).fit(Xi, yy, { nClasses: 2 });
    const recall = (m: GbdtModel) =>
      classificationReport(yy, m.predictProba(Xi), ["0", "1"]).perClass[1].recall;
    expect(recall(bal)).toBeGreaterThan(recall(plain) + 0.2);
  });
});

describe("gbdt: threads", () => {
  it("gives the same model bit for bit on 1, 2 and 3 threads", async () => {
    const d = loadPhishing();
    const rows = Int32Array.from({ length: 4000 }, (_, i) => i * 2);
    const X = takeRows(d.X, rows);
    const y = Int32Array.from(rows, (i) => d.y[i]);
    const cases = [
      { n_estimators: 8, subsample: 0.8, colsample_bytree: 0.7, seed: 3 },
      { n_estimators: 4, grow_policy: "lossguide", max_leaves: 16, max_depth: 0, min_samples_leaf: 5 },
    ];
    for (const params of cases) {
      const json = async (t: number) =>
        JSON.stringify(
          (await new GbdtLearner({ ...params, n_threads: t }).fit(X, y, { nClasses: 2 })).toJSON(),
        );
      const one = await json(1);
      expect(await json(2)).toBe(one);
      expect(await json(3)).toBe(one);
    }
  });

  it("grows a multi-class round's trees side by side with the same result on any thread count", async () => {
    const rng = new Rng(21);
    const n = 5000;
    const cols = Array.from({ length: 12 }, () => Float64Array.from({ length: n }, () => rng.normal()));
    for (let i = 0; i < n; i += 7) cols[3][i] = Number.NaN;
    const y = Int32Array.from({ length: n }, (_, i) =>
      cols[0][i] + rng.normal() > 0.5 ? 2 : cols[1][i] > 0 ? 1 : 0,
    );
    const X = fromColumns(cols);
    const valid = noise(300, 4);
    const vX = fromColumns([
      ...Array.from({ length: 4 }, () => new Float64Array(300)),
      ...Array.from({ length: 8 }, () => Float64Array.from({ length: 300 }, () => rng.normal())),
    ]);
    const params = { n_estimators: 6, subsample: 0.7, colsample_bytree: 0.5, seed: 5 };
    const json = async (t: number) =>
      JSON.stringify(
        (
          await new GbdtLearner({ ...params, n_threads: t }).fit(X, y, {
            nClasses: 3,
            validation: { X: vX, y: Int32Array.from(valid.y, (v) => v + 1) },
          })
        ).toJSON(),
      );
    const one = await json(1);
    expect(await json(2)).toBe(one);
    expect(await json(3)).toBe(one);
  });

  it("splits wide data into feature blocks of at most 65,535 histogram slots", async () => {
    // 300 continuous features × 255 bins need two blocks even on one thread; three threads
    // need three. The model must not depend on the blocking.
    const rng = new Rng(8);
    const n = 400;
    const cols = Array.from({ length: 300 }, () => Float64Array.from({ length: n }, () => rng.normal()));
    const y = Int32Array.from({ length: n }, (_, i) => (cols[7][i] + cols[250][i] > 0 ? 1 : 0));
    const X = fromColumns(cols);
    const fitJson = async (t: number) =>
      (
        await new GbdtLearner({ n_estimators: 3, max_depth: 3, n_threads: t }).fit(X, y, { nClasses: 2 })
      ).toJSON();
    const one = await fitJson(1);
    expect(await fitJson(3)).toEqual(one);
    const f = (one.state as { trees: Trees }).trees.feature;
    expect([7, 250]).toContain(f[0]);
    const nBins = new Uint16Array(300).fill(255);
    for (const t of [1, 3]) {
      const blocks = featureBlocks(nBins, t);
      expect(blocks.length - 1).toBeGreaterThanOrEqual(Math.max(2, t));
      expect(blocks[blocks.length - 1]).toBe(300);
      for (let b = 0; b + 1 < blocks.length; b++)
        expect((blocks[b + 1] - blocks[b]) * 256).toBeLessThanOrEqual(65_535);
    }
  });

  it("does not record the thread count in the model", async () => {
    const m = await new GbdtLearner({ n_estimators: 1, n_threads: 2 }).fit(
      fromRows([[0], [1], [2], [3]]),
      Int32Array.of(0, 0, 1, 1),
      { nClasses: 2 },
    );
    expect(m.toJSON().params).not.toHaveProperty("n_threads");
    expect(new GbdtLearner({ n_threads: 2 }).params.n_threads).toBe(2);
  });
});

describe("gbdt: input and parameter errors", () => {
  const X = fromRows([[1], [2], [3]]);
  const code = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      return [(e as NetwardenError).code, (e as Error).message];
    }
    return ["no error", ""];
  };
  it("refuses unusable training input", async () => {
    const l = new GbdtLearner({ n_estimators: 1 });
    expect(await code(() => l.fit(X, Int32Array.of(0, 1), { nClasses: 2 }))).toEqual([
      "NW_LEARNER_INVALID_INPUT",
      "X has 3 rows but 2 labels",
    ]);
    expect((await code(() => l.fit(X, Int32Array.of(0, 1, 2), { nClasses: 2 })))[1]).toMatch(
      /label 2 at row 2/,
    );
    expect((await code(() => l.fit(X, Int32Array.of(1, 1, 1), { nClasses: 2 })))[1]).toMatch(/same label/);
    expect((await code(() => l.fit(fromRows([]), new Int32Array(0), { nClasses: 2 })))[1]).toMatch(
      /zero rows/,
    );
    const badW = { nClasses: 2, sampleWeight: Float64Array.of(1, Number.NaN, 1) };
    expect((await code(() => l.fit(X, Int32Array.of(0, 1, 0), badW)))[1]).toMatch(/sampleWeight at row 1/);
    const shortW = { nClasses: 2, sampleWeight: Float64Array.of(1) };
    expect((await code(() => l.fit(X, Int32Array.of(0, 1, 0), shortW)))[1]).toMatch(/1 values for 3 rows/);
    const es = new GbdtLearner({ early_stopping_rounds: 3 });
    expect((await code(() => es.fit(X, Int32Array.of(0, 1, 0), { nClasses: 2 })))[1]).toMatch(
      /no validation data/,
    );
  });

  it("refuses inconsistent parameters", async () => {
    expect(await code(async () => new GbdtLearner({ max_depth: 0 }))).toEqual([
      "NW_LEARNER_INVALID_PARAM",
      "max_depth must be ≥ 1 with grow_policy depthwise",
    ]);
    expect((await code(async () => new GbdtLearner({ max_bins: 256 })))[0]).toBe("NW_LEARNER_INVALID_PARAM");
  });

  it("refuses prediction input of the wrong width", async () => {
    const m = await new GbdtLearner({ n_estimators: 1 }).fit(X, Int32Array.of(0, 1, 0), { nClasses: 2 });
    expect(() => m.predict(fromRows([[1, 2]]))).toThrow(/X has 2 columns, the model expects 1/);
  });
});

describe("gbdt on real data", () => {
  it("phishing: stratified 80/20 split, defaults reach ≥ 0.96 test accuracy", async () => {
    const d = loadPhishing();
    const { Xtr, ytr, Xte, yte } = split(d.X, d.y, 0.2, 42);
    const m = await new GbdtLearner().fit(Xtr, ytr, { nClasses: 2, featureNames: d.featureNames });
    expect(accuracy(m.predict(Xte), yte)).toBeGreaterThanOrEqual(0.96);
    const r = classificationReport(yte, m.predictProba(Xte), d.classNames);
    expect(r.rocAuc).toBeGreaterThan(0.99);
    // SSLfinal_State and URL_of_Anchor are the known strongest phishing signals.
    const imp = m.featureImportance();
    const top = [...imp.keys()].sort((a, b) => imp[b] - imp[a]).slice(0, 2);
    expect(top.map((j) => d.featureNames[j]).sort()).toEqual(["SSLfinal_State", "URL_of_Anchor"]);
  });

  it("phishing with lossguide growth is as good", async () => {
    const d = loadPhishing();
    const { Xtr, ytr, Xte, yte } = split(d.X, d.y, 0.2, 42);
    const m = await new GbdtLearner({ grow_policy: "lossguide" }).fit(Xtr, ytr, { nClasses: 2 });
    expect(accuracy(m.predict(Xte), yte)).toBeGreaterThanOrEqual(0.96);
  });

  it("UNSW-NB15 attack_cat (10 classes, numeric columns): far above the majority class", async () => {
    const u = loadUnswNumeric();
    // A stratified sample keeps the test quick: 12k rows to train, 8k to test.
    const s = stratifiedHoldout(u.y, 0.25, 7);
    const sample = Int32Array.from(s.test);
    const ys = Int32Array.from(sample, (i) => u.y[i]);
    const { Xtr, ytr, Xte, yte } = split(takeRows(u.X, sample), ys, 0.4, 8);
    const K = u.classNames.length;
    const m = await new GbdtLearner({ n_estimators: 25 }).fit(Xtr, ytr, { nClasses: K });
    const counts = new Array(K).fill(0);
    for (const c of yte) counts[c]++;
    const majority = Math.max(...counts) / yte.length;
    const acc = accuracy(m.predict(Xte), yte);
    expect(majority).toBeCloseTo(37000 / 82332, 2);
    expect(acc).toBeGreaterThan(majority + 0.3);
    const p = m.predictProba(Xte);
    for (let i = 0; i < yte.length; i += 97) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += p[i * K + k];
      expect(sum).toBeCloseTo(1, 12);
    }
    expect(trees(m).trees.roots).toHaveLength(25 * K);
  });
});
