import { describe, expect, it } from "vitest";
import { type NetwardenError, Rng } from "../../core/index.js";
import { GbdtLearner } from "../gbdt/gbdt.js";
import { LogisticLearner } from "../linear/logistic.js";
import { OnnxTreeModel } from "../onnx/index.js";
import { loadModel } from "../registry.js";
import { loadPhishing } from "../test-support/datasets.js";
import { allocNodes, EnsembleBuilder } from "../tree/ensemble.js";
import type { FittedModel, Matrix } from "../types.js";
import { AUTO_BINARY_NUMBERS, decodeModel, decodeSerialized, encodeModel, modelForm } from "./codec.js";

function err(fn: () => unknown): NetwardenError {
  try {
    fn();
  } catch (e) {
    return e as NetwardenError;
  }
  throw new Error("expected an error");
}

/** A forest of complete random trees: large enough that only the binary form makes sense. */
function bigForest(nTrees: number, depth: number, nFeatures: number, K: number): OnnxTreeModel {
  const rng = new Rng(5);
  const size = 2 ** (depth + 1) - 1;
  const builder = new EnsembleBuilder(K, K);
  for (let t = 0; t < nTrees; t++) {
    const nd = allocNodes(size, K);
    // Heap order: node i's children are 2i + 1 and 2i + 2 (adjacent, after their parent).
    for (let i = 0; i < size; i++) {
      if (2 * i + 1 < size) {
        nd.feature[i] = rng.int(nFeatures);
        nd.threshold[i] = rng.next() < 0.01 ? Number.POSITIVE_INFINITY : rng.normal();
        nd.left[i] = 2 * i + 1;
        nd.right[i] = 2 * i + 2;
        nd.defaultLeft[i] = rng.int(2);
      } else {
        nd.feature[i] = -1;
        for (let k = 0; k < K; k++) nd.value[i * K + k] = rng.next() / nTrees;
      }
    }
    builder.add(nd, size, 0);
  }
  return new OnnxTreeModel({
    nFeatures,
    nClasses: K,
    classLabels: Array.from({ length: K }, (_, k) => k),
    ensemble: builder.build(),
    base: new Float64Array(K),
    link: "identity",
    inputType: "double",
    source: { producer: "test", producerVersion: "0", op: "hand-made" },
  });
}

function probe(nRows: number, nCols: number): Matrix {
  const rng = new Rng(9);
  const data = new Float64Array(nRows * nCols);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() < 0.05 ? Number.NaN : rng.normal();
  return { data, nRows, nCols, layout: "row" };
}

function expectSameModel(a: FittedModel, b: FittedModel, X: Matrix) {
  expect(b.kind).toBe(a.kind);
  expect(Array.from(b.predictProba(X))).toEqual(Array.from(a.predictProba(X)));
  expect(JSON.stringify(b.toJSON())).toBe(JSON.stringify(a.toJSON()));
}

describe("encodeModel / decodeModel", () => {
  it("round-trips fitted models in both forms with identical probabilities", async () => {
    const { X, y } = loadPhishing();
    const models: FittedModel[] = [
      await new GbdtLearner({ n_estimators: 20, max_depth: 4 }).fit(X, y, { nClasses: 2 }),
      await new LogisticLearner().fit(X, y, { nClasses: 2 }),
    ];
    for (const m of models) {
      const auto = encodeModel(m);
      expect(modelForm(auto)).toBe("json");
      expect(new TextDecoder().decode(auto)).toBe(JSON.stringify(m.toJSON()));
      const bin = encodeModel(m, { form: "binary" });
      expect(modelForm(bin)).toBe("binary");
      expectSameModel(m, decodeModel(auto), X);
      expectSameModel(m, decodeModel(bin), X);
    }
  });

  it("writes large models in binary, smaller than JSON, and loads them back exactly", () => {
    const model = bigForest(200, 9, 20, 3);
    const X = probe(500, 20);
    const json = JSON.stringify(model.toJSON());
    const bytes = encodeModel(model);
    expect(modelForm(bytes)).toBe("binary");
    expect(bytes.length).toBeLessThan(json.length);

    let t = performance.now();
    const back = decodeModel(bytes);
    const binaryMs = performance.now() - t;
    t = performance.now();
    loadModel(JSON.parse(json));
    const jsonMs = performance.now() - t;
    const nodes = model.ensemble.nodes.feature.length;
    console.log(
      `model with ${nodes} nodes: binary ${(bytes.length / 1e6).toFixed(1)} MB loads in ${binaryMs.toFixed(0)} ms; ` +
        `JSON ${(json.length / 1e6).toFixed(1)} MB loads in ${jsonMs.toFixed(0)} ms`,
    );
    expectSameModel(model, back, X);
    // The toJSON form of an encoded model encodes to the same bytes.
    expect(Buffer.from(encodeModel(model.toJSON())).equals(Buffer.from(bytes))).toBe(true);
  });

  it("chooses the form by the amount of numbers", () => {
    const small = bigForest(2, 3, 4, 2);
    expect(modelForm(encodeModel(small))).toBe("json");
    const nodes = small.ensemble.nodes.feature.length;
    expect(nodes * 8).toBeLessThan(AUTO_BINARY_NUMBERS);
    expect(modelForm(encodeModel(small, { form: "binary" }))).toBe("binary");
    expect(modelForm(encodeModel(bigForest(40, 6, 4, 2)))).toBe("binary");
  });

  it("reads binary bytes at any offset of a larger buffer", () => {
    const model = bigForest(30, 6, 5, 2);
    const bytes = encodeModel(model, { form: "binary" });
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    expectSameModel(model, decodeModel(padded.subarray(3)), probe(50, 5));
  });

  it("keeps nulls, non-finite values and every number type exact", () => {
    const model = bigForest(10, 5, 4, 2);
    const json = model.toJSON();
    const state = json.state as Record<string, unknown>;
    const odd = Array.from({ length: 100 }, (_, i) =>
      i % 4 === 0 ? null : i % 4 === 1 ? -(2 ** 40) + i : i % 4 === 2 ? 0.1 * i : Math.fround(0.3 * i),
    );
    const withExtras = { ...json, state: { ...state, extra: { odd, bytes: odd.map((_, i) => i % 256) } } };
    const back = decodeSerialized(encodeModel(withExtras, { form: "binary" }));
    expect(back).toEqual(JSON.parse(JSON.stringify(withExtras)));
  });

  it("refuses damaged, truncated and foreign files with NW_MODEL_FORMAT", () => {
    const bytes = encodeModel(bigForest(30, 6, 5, 2), { form: "binary" });
    const flipped = Uint8Array.from(bytes);
    flipped[bytes.length >> 1] ^= 1;
    const newer = Uint8Array.from(bytes);
    newer[4] = 9;
    const cases: [Uint8Array, RegExp][] = [
      [flipped, /checksum mismatch/],
      [bytes.subarray(0, bytes.length - 100), /checksum mismatch/],
      [bytes.subarray(0, 20), /truncated/],
      [newer, /format version 9 is not supported/],
      [new TextEncoder().encode("{ not json"), /not valid JSON/],
      [new Uint8Array(0), /no bytes/],
      [new TextEncoder().encode('{"format":"netwarden.model/v1","kind":"svm"}'), /unknown kind "svm"/],
    ];
    for (const [b, msg] of cases) {
      const e = err(() => decodeModel(b));
      expect(e.code).toBe("NW_MODEL_FORMAT");
      expect(e.message).toMatch(msg);
    }
  });
});
