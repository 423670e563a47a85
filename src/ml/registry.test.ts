import { describe, expect, it } from "vitest";
import type { NetwardenError } from "../core/index.js";
import { GbdtLearner } from "./gbdt/gbdt.js";
import { fromRows } from "./matrix.js";
import { createLearner, learnerKinds, loadModel, paramSpecs } from "./registry.js";
import type { SerializedModel } from "./types.js";

function err(fn: () => unknown): NetwardenError {
  try {
    fn();
  } catch (e) {
    return e as NetwardenError;
  }
  throw new Error("expected an error");
}

describe("registry", () => {
  it("lists kinds and their parameter specs", () => {
    expect(learnerKinds()).toEqual(expect.arrayContaining(["gbdt", "knn", "logreg"]));
    expect(learnerKinds()).toEqual([...learnerKinds()].sort());
    expect(paramSpecs("gbdt").n_estimators.default).toBe(100);
    expect(paramSpecs("logreg").C.default).toBe(1);
  });

  it("creates learners with defaults filled in", () => {
    const l = createLearner("gbdt", { max_depth: 4 });
    expect(l).toBeInstanceOf(GbdtLearner);
    expect(l.params).toMatchObject({ max_depth: 4, n_estimators: 100, grow_policy: "depthwise" });
    expect(createLearner("logreg").params).toEqual({
      C: 1,
      max_iter: 200,
      tol: 1e-6,
      fit_intercept: true,
      class_weight: null,
    });
  });

  it("names the known kinds for an unknown one", () => {
    const e = err(() => createLearner("xgboost"));
    expect(e.code).toBe("NW_LEARNER_UNKNOWN");
    expect(e.hint).toContain(learnerKinds().join(", "));
    expect(err(() => createLearner("gbtd")).hint).toContain("Did you mean `gbdt`?");
  });

  it("passes parameter errors through", () => {
    expect(err(() => createLearner("logreg", { C: -1 })).code).toBe("NW_LEARNER_INVALID_PARAM");
  });
});

describe("loadModel", () => {
  const X = fromRows([[0], [1], [2], [3]]);
  const y = Int32Array.of(0, 0, 1, 1);

  it("refuses malformed envelopes and states with NW_MODEL_FORMAT", async () => {
    const good = (await createLearner("gbdt", { n_estimators: 2 }).fit(X, y, { nClasses: 2 })).toJSON();
    const lr = (await createLearner("logreg").fit(X, y, { nClasses: 2 })).toJSON();
    const cases: [unknown, RegExp][] = [
      [null, /not a JSON object/],
      [{ ...good, format: "other/v9" }, /format is "other\/v9"/],
      [{ ...good, kind: "svm" }, /unknown kind "svm"/],
      [{ ...good, nFeatures: 0 }, /nFeatures/],
      [{ ...good, nClasses: 1 }, /nClasses/],
      [{ ...good, featureNames: ["a", "b"] }, /featureNames/],
      [{ ...good, state: null }, /state is missing/],
      [{ ...good, state: { ...(good.state as object), baseScore: [0, 1] } }, /baseScore/],
      [{ ...good, state: { ...(good.state as object), nRounds: 3 } }, /tree count/],
      [{ ...good, nFeatures: 5, state: good.state }, /no error expected/],
      [{ ...lr, state: { ...(lr.state as object), coef: [1, 2] } }, /coef must be 1 finite numbers/],
      [{ ...lr, state: { ...(lr.state as object), converged: "yes" } }, /converged/],
    ];
    for (const [json, msg] of cases) {
      if (msg.source === "no error expected") {
        // More declared features than the trees use is legal: the model simply ignores them.
        expect(() => loadModel(json as SerializedModel)).not.toThrow();
        continue;
      }
      const e = err(() => loadModel(json as SerializedModel));
      expect(e.code).toBe("NW_MODEL_FORMAT");
      expect(e.message).toMatch(msg);
    }
  });

  it("rejects trees that point at features the model does not have", async () => {
    const m = (
      await createLearner("gbdt", { n_estimators: 1, min_child_weight: 0 }).fit(X, y, { nClasses: 2 })
    ).toJSON();
    const state = m.state as { trees: { feature: number[] } };
    const json = {
      ...m,
      state: {
        ...state,
        trees: { ...state.trees, feature: state.trees.feature.map((f) => (f >= 0 ? 3 : f)) },
      },
    };
    expect(err(() => loadModel(json)).message).toMatch(/node 0 has feature 3/);
  });
});
