import { afterEach, describe, expect, it } from "vitest";
import { takeRows } from "../matrix.js";
import { loadUnswNumeric } from "../test-support/datasets.js";
import { wasmEnabled } from "../wasm.js";
import { GbdtLearner } from "./gbdt.js";

describe("gbdt: WebAssembly histogram kernel", () => {
  afterEach(() => {
    delete process.env.NETWARDEN_WASM;
  });

  it("gives the JavaScript loop's model bit for bit (all features, column sampling, multi-class)", async () => {
    const u = loadUnswNumeric();
    const rows = Int32Array.from({ length: 6000 }, (_, i) => i * 13);
    const X = takeRows(u.X, rows);
    const y = Int32Array.from(rows, (i) => u.y[i]);
    const K = u.classNames.length;
    const cases = [
      { n_estimators: 3, max_depth: 6 },
      { n_estimators: 3, colsample_bytree: 0.6, subsample: 0.8, seed: 4 },
      { n_estimators: 2, grow_policy: "lossguide", max_leaves: 24, max_depth: 0 },
    ];
    for (const params of cases) {
      const train = async () =>
        JSON.stringify(
          (await new GbdtLearner({ ...params, n_threads: 1 }).fit(X, y, { nClasses: K })).toJSON(),
        );
      expect(wasmEnabled()).toBe(true);
      const withKernel = await train();
      process.env.NETWARDEN_WASM = "off";
      expect(wasmEnabled()).toBe(false);
      const withJs = await train();
      delete process.env.NETWARDEN_WASM;
      expect(withKernel).toBe(withJs);
    }
  });
});
