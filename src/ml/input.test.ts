import { describe, expect, it } from "vitest";
import { checkFitInput, rowWeights } from "./input.js";
import { fromRows } from "./matrix.js";

describe("rowWeights", () => {
  it("balanced weights are n / (classes present · class count)", () => {
    const w = rowWeights(Int32Array.of(0, 0, 0, 1), 2, undefined, "balanced");
    expect(Array.from(w)).toEqual([4 / 6, 4 / 6, 4 / 6, 2]);
    // A class absent from y (class 2 of 3) does not count.
    expect(Array.from(rowWeights(Int32Array.of(0, 1, 1, 1), 3, undefined, "balanced"))).toEqual([
      2,
      2 / 3,
      2 / 3,
      2 / 3,
    ]);
  });
  it("multiplies sample weights in and copies them", () => {
    const sw = Float64Array.of(2, 1, 1, 1);
    const w = rowWeights(Int32Array.of(0, 0, 0, 1), 2, sw, "balanced");
    expect(w[0]).toBeCloseTo(8 / 6, 15);
    expect(Array.from(rowWeights(Int32Array.of(0, 1), 2, Float64Array.of(3, 4), null))).toEqual([3, 4]);
    expect(sw[0]).toBe(2);
  });
});

describe("checkFitInput", () => {
  const X = fromRows([[1], [2]]);
  it("accepts consistent input and names each problem otherwise", () => {
    expect(() => checkFitInput("k", X, Int32Array.of(0, 1), { nClasses: 2 })).not.toThrow();
    expect(() => checkFitInput("k", X, Int32Array.of(0, 1), { nClasses: 1 })).toThrow(/nClasses is 1/);
    expect(() => checkFitInput("k", X, [0, 1] as unknown as Int32Array, { nClasses: 2 })).toThrow(
      /Int32Array/,
    );
    expect(() => checkFitInput("k", X, Int32Array.of(0, -1), { nClasses: 2 })).toThrow(/label -1 at row 1/);
    expect(() =>
      checkFitInput("k", X, Int32Array.of(0, 1), { nClasses: 2, sampleWeight: Float64Array.of(0, 0) }),
    ).toThrow(/all sample weights are zero/);
    expect(() =>
      checkFitInput("k", X, Int32Array.of(0, 1), { nClasses: 2, featureNames: ["a", "b"] }),
    ).toThrow(/2 feature names for 1 columns/);
    const validation = { X: fromRows([[1, 2]]), y: Int32Array.of(0) };
    expect(() => checkFitInput("k", X, Int32Array.of(0, 1), { nClasses: 2, validation })).toThrow(
      /validation X has 2 columns/,
    );
  });
});
