import { describe, expect, it } from "vitest";
import { type NetwardenError, Rng } from "../../core/index.js";
import { GbdtLearner } from "../gbdt/gbdt.js";
import { fromRows } from "../matrix.js";
import type { FittedModel, Matrix, SerializedModel } from "../types.js";
import { permutationImportance } from "./permutation.js";

/** y = (x0 > 0); x1 is noise the model never reads. */
const stub: FittedModel = {
  kind: "stub",
  nFeatures: 2,
  nClasses: 2,
  predictProba(X: Matrix) {
    const out = new Float64Array(X.nRows * 2);
    for (let i = 0; i < X.nRows; i++) {
      const x0 = X.layout === "row" ? X.data[i * 2] : X.data[i];
      out[2 * i + (x0 > 0 ? 1 : 0)] = 1;
    }
    return out;
  },
  predict: () => new Int32Array(0),
  toJSON: () => ({}) as SerializedModel,
};

function data(n: number, seed: number) {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const x0 = rng.normal();
    rows.push([x0, rng.normal()]);
    y[i] = x0 > 0 ? 1 : 0;
  }
  return { X: fromRows(rows), y };
}

describe("permutationImportance", () => {
  it("is zero for a feature the model ignores and large for the decisive one", () => {
    const { X, y } = data(400, 1);
    const r = permutationImportance(stub, X, y, "accuracy", { repeats: 4, seed: 3 });
    expect(r.baseline).toBe(1);
    expect(Array.from(r.drops.subarray(4, 8))).toEqual([0, 0, 0, 0]);
    expect(r.mean[1]).toBe(0);
    expect(r.std[1]).toBe(0);
    // Shuffling a balanced decisive feature leaves about half the rows right.
    expect(r.mean[0]).toBeGreaterThan(0.4);
    expect(r.mean[0]).toBeLessThan(0.6);
    // Each drop is 1 − accuracy of the shuffled predictions: a multiple of 1/400.
    for (const d of r.drops.subarray(0, 4))
      expect(Math.abs(d * 400 - Math.round(d * 400))).toBeLessThan(1e-9);
  });

  it("ranks a learned model's features the same way, on log-loss too", async () => {
    const train = data(600, 2);
    const test = data(300, 3);
    const model = await new GbdtLearner({ n_estimators: 20, max_depth: 3 }).fit(train.X, train.y, {
      nClasses: 2,
    });
    const acc = permutationImportance(model, test.X, test.y, "accuracy", { repeats: 5, seed: 1 });
    expect(acc.mean[0]).toBeGreaterThan(0.3);
    expect(Math.abs(acc.mean[1])).toBeLessThan(0.03);
    const ll = permutationImportance(model, test.X, test.y, "log_loss", { repeats: 5, seed: 1 });
    // log-loss rises when x0 is shuffled: reported as a positive importance.
    expect(ll.mean[0]).toBeGreaterThan(1);
    expect(ll.mean[0]).toBeGreaterThan(20 * Math.abs(ll.mean[1]));
  });

  it("is deterministic per seed and leaves X untouched", () => {
    const { X, y } = data(200, 4);
    const before = Float64Array.from(X.data);
    const a = permutationImportance(stub, X, y, "accuracy", { repeats: 3, seed: 9 });
    const b = permutationImportance(stub, X, y, "accuracy", { repeats: 3, seed: 9 });
    const c = permutationImportance(stub, X, y, "accuracy", { repeats: 3, seed: 10 });
    expect(Array.from(a.drops)).toEqual(Array.from(b.drops));
    expect(Array.from(a.drops)).not.toEqual(Array.from(c.drops));
    expect(Array.from(X.data)).toEqual(Array.from(before));
  });

  it("rejects bad input with coded errors", () => {
    const { X, y } = data(10, 5);
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as NetwardenError).code;
      }
      return "none";
    };
    expect(code(() => permutationImportance(stub, X, y.subarray(1), "accuracy"))).toBe(
      "NW_LEARNER_INVALID_INPUT",
    );
    expect(code(() => permutationImportance(stub, X, y, "accuracy", { repeats: 0 }))).toBe(
      "NW_LEARNER_INVALID_PARAM",
    );
    expect(code(() => permutationImportance(stub, X, y, "acuracy" as "accuracy"))).toBe(
      "NW_CONFIG_INVALID_VALUE",
    );
  });
});
