import { describe, expect, it } from "vitest";
import { categoricalColumn, numericColumn, Table } from "../data/index.js";
import { RobustScaler, StandardScaler } from "./scalers.js";
import { columnsOf, thrown, viaJson } from "./test-support/helpers.js";

const N = Number.NaN;

describe("StandardScaler", () => {
  it("uses the mean and the ddof=0 deviation of present values (sklearn: 5 and 2)", () => {
    const t = new Table([
      numericColumn("x", [2, 4, 4, N, 4, 5, 5, 7, 9]),
      categoricalColumn("s", ["a", "b", "a", "b", "a", "b", "a", "b", "a"]),
    ]);
    const f = new StandardScaler().fit(t);
    expect(f.columns).toEqual(["x"]);
    expect(f.stats).toEqual([{ name: "x", center: 5, scale: 2 }]);
    const out = f.transform(t);
    expect(columnsOf(out.select(["x"])).x).toEqual([-1.5, -0.5, -0.5, N, -0.5, 0, 0, 1, 2]);
    expect(out.column("s")).toBe(t.column("s"));
  });

  it("only centres a constant column, even when rounding leaves a tiny variance", () => {
    const t = new Table([
      numericColumn("k", new Array(10).fill(0.1)),
      numericColumn("z", [3, 3, 3, 3, 3, 3, 3, 3, 3, 3]),
    ]);
    const f = new StandardScaler().fit(t);
    expect(f.stats.map((s) => s.scale)).toEqual([1, 1]);
    const q = new Table([numericColumn("k", [1.1]), numericColumn("z", [5])]);
    const out = columnsOf(f.transform(q));
    expect(out.k[0]).toBeCloseTo(1, 14);
    expect(out.z).toEqual([2]);
  });

  it("round-trips through JSON", () => {
    const t = new Table([numericColumn("x", [0.3, 1.7, -2.2, 9.1])]);
    const f = new StandardScaler().fit(t);
    const g = StandardScaler.load(viaJson(f.toJSON()));
    expect(columnsOf(g.transform(t))).toEqual(columnsOf(f.transform(t)));
    expect(
      thrown(() =>
        StandardScaler.load({ kind: "standard_scaler", columns: [{ name: "x", center: 0, scale: 0 }] }),
      ).code,
    ).toBe("NW_MODEL_FORMAT");
    expect(thrown(() => StandardScaler.load({ kind: "robust_scaler", columns: [] })).code).toBe(
      "NW_MODEL_FORMAT",
    );
  });

  it("refuses statistics that would not be finite", () => {
    const t = new Table([numericColumn("x", [1, Number.POSITIVE_INFINITY])]);
    expect(thrown(() => new StandardScaler().fit(t)).code).toBe("NW_TRANSFORM_INVALID");
  });
});

describe("RobustScaler", () => {
  // present values 1, 2, 4, 7, 11, 16: median (4 + 7) / 2 = 5.5; q25 at h = 1.25 is 2.5,
  // q75 at h = 3.75 is 10, so IQR = 7.5 (sklearn gives the same center_ and scale_)
  const t = new Table([numericColumn("x", [1, 2, 4, 7, 11, N, 16])]);

  it("centres on the median and divides by the interpolated IQR", () => {
    const f = new RobustScaler().fit(t);
    expect(f.stats).toEqual([{ name: "x", center: 5.5, scale: 7.5 }]);
    const out = columnsOf(f.transform(new Table([numericColumn("x", [1, 16, N])])));
    expect(out.x[0]).toBeCloseTo(-0.6, 15);
    expect(out.x[1]).toBeCloseTo(1.4, 15);
    expect(out.x[2]).toBeNaN();
  });

  it("takes another quantile range (10–90: 1.5 to 13.5, sklearn scale 12)", () => {
    const f = new RobustScaler({ quantile_range: [10, 90] }).fit(t);
    expect(f.stats[0].scale).toBeCloseTo(12, 12);
    expect(thrown(() => new RobustScaler({ quantile_range: [75, 25] })).code).toBe("NW_TRANSFORM_INVALID");
  });

  it("leaves a column with zero IQR centred only", () => {
    const f = new RobustScaler().fit(new Table([numericColumn("x", [0, 0, 0, 0, 0, 0, 0, 0, 0, 100])]));
    expect(f.stats).toEqual([{ name: "x", center: 0, scale: 1 }]);
  });

  it("round-trips through JSON", () => {
    const f = new RobustScaler({ quantile_range: [10, 90] }).fit(t);
    const g = RobustScaler.load(viaJson(f.toJSON()));
    expect(g.quantileRange).toEqual([10, 90]);
    expect(columnsOf(g.transform(t))).toEqual(columnsOf(f.transform(t)));
  });
});
