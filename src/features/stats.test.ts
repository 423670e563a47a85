import { describe, expect, it } from "vitest";
import { isConstant, meanVar, medianSorted, quantileSorted, sortedPresent } from "./stats.js";

describe("stats", () => {
  it("sorts present values and drops NaN", () => {
    expect(Array.from(sortedPresent(Float64Array.from([3, Number.NaN, -1, 2])))).toEqual([-1, 2, 3]);
  });

  it("median averages the two middle values of an even count", () => {
    expect(medianSorted(Float64Array.from([1, 3, 10]))).toBe(3);
    expect(medianSorted(Float64Array.from([1, 2, 4, 10]))).toBe(3);
    expect(medianSorted(new Float64Array(0))).toBeNaN();
  });

  it("quantiles interpolate linearly between order statistics (numpy default)", () => {
    const s = Float64Array.from([1, 2, 4, 7, 11, 16]);
    // h = 5 * 0.25 = 1.25 -> 2 + 0.25 * (4 - 2); h = 3.75 -> 7 + 0.75 * (11 - 7)
    expect(quantileSorted(s, 0.25)).toBe(2.5);
    expect(quantileSorted(s, 0.75)).toBe(10);
    expect(quantileSorted(s, 0)).toBe(1);
    expect(quantileSorted(s, 1)).toBe(16);
    expect(quantileSorted(Float64Array.from([5]), 0.3)).toBe(5);
  });

  it("mean and population variance skip NaN", () => {
    const mv = meanVar(Float64Array.from([2, 4, 4, Number.NaN, 4, 5, 5, 7, 9]));
    expect(mv).toEqual({ n: 8, mean: 5, variance: 4 });
  });

  it("treats rounding noise of a constant column as constant", () => {
    const mv = meanVar(new Float64Array(10).fill(0.1));
    expect(mv.variance).toBeLessThan(1e-30);
    expect(isConstant(mv)).toBe(true);
    expect(isConstant(meanVar(Float64Array.from([0.1, 0.1000001])))).toBe(false);
  });
});
