import { describe, expect, it } from "vitest";
import { minimizeLbfgs } from "./lbfgs.js";

describe("minimizeLbfgs", () => {
  it("finds the minimum of an ill-conditioned quadratic", () => {
    // f = Σ cᵢ (xᵢ - i)², minimum at x = (0, 1, 2, 3).
    const c = [1, 10, 100, 1000];
    const res = minimizeLbfgs(
      (x, g) => {
        let f = 0;
        for (let i = 0; i < 4; i++) {
          f += c[i] * (x[i] - i) ** 2;
          g[i] = 2 * c[i] * (x[i] - i);
        }
        return f;
      },
      new Float64Array(4),
      { maxIter: 200, tol: 1e-9 },
    );
    expect(res.converged).toBe(true);
    for (let i = 0; i < 4; i++) expect(res.x[i]).toBeCloseTo(i, 8);
  });

  it("solves Rosenbrock's valley", () => {
    const res = minimizeLbfgs(
      (x, g) => {
        const a = 1 - x[0];
        const b = x[1] - x[0] * x[0];
        g[0] = -2 * a - 400 * x[0] * b;
        g[1] = 200 * b;
        return a * a + 100 * b * b;
      },
      Float64Array.of(-1.2, 1),
      { maxIter: 500, tol: 1e-8 },
    );
    expect(res.x[0]).toBeCloseTo(1, 5);
    expect(res.x[1]).toBeCloseTo(1, 5);
  });

  it("reports an unfinished run", () => {
    const iters: number[] = [];
    const res = minimizeLbfgs(
      (x, g) => {
        g[0] = 4 * x[0] ** 3;
        return x[0] ** 4;
      },
      Float64Array.of(3),
      { maxIter: 3, tol: 1e-30, onIteration: (i) => iters.push(i) },
    );
    expect(res.iterations).toBe(3);
    expect(res.converged).toBe(false);
    expect(iters).toEqual([1, 2, 3]);
  });
});
