import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { NetwardenError } from "../../core/index.js";
import { GbdtLearner } from "../gbdt/gbdt.js";
import { fromRows, takeRows } from "../matrix.js";
import { loadModel } from "../registry.js";
import { loadUnswNumeric } from "../test-support/datasets.js";
import type { Matrix } from "../types.js";
import { exportOnnx } from "./export.js";
import { importOnnx, prevFloat32, prevFloat64 } from "./import.js";
import { OnnxTreeModel } from "./model.js";
import { ATTR, decodeOnnx, encodeOnnx, stringAttr } from "./proto.js";
import { maxDiff, ortProba } from "./test-support/ort.js";

const FIXTURES = join("src", "ml", "onnx", "fixtures");

function fixture(name: string): { bytes: Uint8Array; X: Matrix; proba: Float64Array } {
  const bytes = new Uint8Array(readFileSync(join(FIXTURES, `${name}.onnx`)));
  const json = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8")) as {
    X: (number | null)[][];
    proba: number[][];
  };
  const X = fromRows(json.X.map((r) => r.map((v) => (v === null ? Number.NaN : v))));
  return { bytes, X, proba: Float64Array.from(json.proba.flat()) };
}

function err(fn: () => unknown): NetwardenError {
  try {
    fn();
  } catch (e) {
    return e as NetwardenError;
  }
  throw new Error("expected an error");
}

/** The fixture with its tree node's attributes edited. */
function edited(name: string, edit: (attrs: ReturnType<typeof decodeOnnx>["graph"]) => void): Uint8Array {
  const model = decodeOnnx(fixture(name).bytes, "test");
  edit(model.graph);
  return encodeOnnx(model);
}

describe("importOnnx", () => {
  const cases: [string, number, string][] = [
    ["sklearn_gb_binary", 2, "logistic"],
    ["sklearn_gb_multi", 3, "softmax"],
    ["sklearn_rf_binary", 2, "identity"],
    ["sklearn_rf_multi", 3, "identity"],
    ["xgboost_binary", 2, "logistic"],
    ["xgboost_multi", 3, "softmax"],
  ];
  for (const [name, K, link] of cases) {
    it(`${name}: predicts what Python's onnxruntime predicted`, async () => {
      const { bytes, X, proba } = fixture(name);
      const model = importOnnx(bytes, { where: `${name}.onnx` });
      expect(model).toBeInstanceOf(OnnxTreeModel);
      expect(model.nClasses).toBe(K);
      expect(model.nFeatures).toBe(4);
      expect(model.inputType).toBe("float");
      expect(model.treeScoring().link).toBe(link);
      const ours = model.predictProba(X);
      expect(maxDiff(ours, proba)).toBeLessThanOrEqual(1e-6);
      // And what onnxruntime-node predicts from the same file (it cannot return ZipMap's maps).
      if (!name.endsWith("gb_multi")) {
        expect(maxDiff(ours, await ortProba(bytes, X, "float32"))).toBeLessThanOrEqual(1e-6);
      }
      // Survives netwarden's own JSON form and ONNX export.
      const back = loadModel(JSON.parse(JSON.stringify(model.toJSON())));
      expect(back.kind).toBe("onnx_tree_ensemble");
      expect(Array.from(back.predictProba(X))).toEqual(Array.from(ours));
      const Xf: Matrix = { ...X, data: Float64Array.from(Float32Array.from(X.data)) };
      expect(maxDiff(ours, await ortProba(exportOnnx(model), Xf))).toBeLessThanOrEqual(1e-6);
    });
  }

  it("reads sklearn's vector leaves as vector leaves and boosting trees as scalar ones", () => {
    expect(importOnnx(fixture("sklearn_rf_multi").bytes).ensemble.leafWidth).toBe(3);
    expect(importOnnx(fixture("xgboost_multi").bytes).ensemble.leafWidth).toBe(1);
    expect(importOnnx(fixture("xgboost_multi").bytes).source.producer).toBe("OnnxMLTools");
  });

  it("round-trips netwarden's own export exactly, feature names and labels included", async () => {
    const { X, y, featureNames } = loadUnswNumeric();
    const rows = Int32Array.from({ length: 2000 }, (_, i) => i * 41);
    const Xs = takeRows(X, rows);
    const ys = Int32Array.from(rows, (r) => y[r]);
    const model = await new GbdtLearner({ n_estimators: 5, max_depth: 4 }).fit(Xs, ys, { nClasses: 10 });
    const labels = Array.from({ length: 10 }, (_, k) => `class ${k}`);
    const back = importOnnx(exportOnnx(model, { classLabels: labels, featureNames }));
    expect(back.inputType).toBe("double");
    expect(back.classLabels).toEqual(labels);
    expect(back.toJSON().featureNames).toEqual(featureNames);
    expect(Array.from(back.predictProba(Xs))).toEqual(Array.from(model.predictProba(Xs)));
  });

  it("refuses operators it does not understand, naming them", () => {
    const e = err(() => importOnnx(fixture("sklearn_scaler_logreg").bytes, { where: "scaler.onnx" }));
    expect(e.code).toBe("NW_MODEL_FORMAT");
    expect(e.message).toMatch(/unsupported operator `Scaler` \(ai\.onnx\.ml\)/);
    expect(e.where).toBe("scaler.onnx");
  });

  it("refuses unsupported node modes, transforms and attributes, naming them", () => {
    const tree = (g: ReturnType<typeof decodeOnnx>["graph"]) => g?.node?.[0]?.attribute ?? [];
    const eq = edited("xgboost_binary", (g) => {
      const modes = tree(g).find((a) => a.name === "nodes_modes");
      if (modes?.strings) modes.strings[0] = new TextEncoder().encode("BRANCH_EQ");
    });
    expect(err(() => importOnnx(eq)).message).toMatch(/unsupported node mode `BRANCH_EQ`/);
    const probit = edited("xgboost_binary", (g) => {
      const attrs = tree(g);
      const i = attrs.findIndex((a) => a.name === "post_transform");
      attrs[i] = stringAttr("post_transform", "PROBIT");
    });
    expect(err(() => importOnnx(probit)).message).toMatch(/unsupported post_transform `PROBIT`/);
    const extra = edited("sklearn_gb_multi", (g) => {
      tree(g).push({ name: "aggregate_function", type: ATTR.STRING, s: new TextEncoder().encode("AVERAGE") });
    });
    expect(err(() => importOnnx(extra)).message).toMatch(
      /unsupported TreeEnsembleClassifier attribute `aggregate_function`/,
    );
    const cyclic = edited("sklearn_gb_binary", (g) => {
      const t = tree(g).find((a) => a.name === "nodes_truenodeids");
      if (t?.ints) t.ints[1] = 0;
    });
    expect(err(() => importOnnx(cyclic)).code).toBe("NW_MODEL_FORMAT");
    for (const bad of [new Uint8Array(0), Uint8Array.of(1, 2, 3, 255, 255)]) {
      expect(err(() => importOnnx(bad)).code).toBe("NW_MODEL_FORMAT");
    }
  });

  it("rejects damaged saved state", () => {
    const json = importOnnx(fixture("sklearn_gb_binary").bytes).toJSON();
    const state = json.state as Record<string, unknown>;
    for (const [key, value, msg] of [
      ["link", "probit", /link/],
      ["base", [1, 2], /base must be 1/],
      ["classLabels", ["a"], /classLabels/],
      ["inputType", "half", /inputType/],
    ] as const) {
      const e = err(() => loadModel({ ...json, state: { ...state, [key]: value } }));
      expect(e.code).toBe("NW_MODEL_FORMAT");
      expect(e.message).toMatch(msg);
    }
  });
});

describe("prevFloat32 / prevFloat64", () => {
  it("step to the next representable value below", () => {
    expect(prevFloat32(1)).toBe(1 - 2 ** -24);
    expect(prevFloat32(-1)).toBe(-(1 + 2 ** -23));
    expect(prevFloat32(0)).toBe(-(2 ** -149));
    expect(prevFloat64(1)).toBe(1 - 2 ** -53);
    expect(prevFloat64(-2)).toBe(-(2 + 2 ** -51));
    expect(prevFloat64(0)).toBe(-Number.MIN_VALUE);
  });
});
