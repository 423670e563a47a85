import { describe, expect, it } from "vitest";
import { categoricalColumn, numericColumn, Table } from "../data/index.js";
import { SimpleImputer } from "./imputers.js";
import { columnsOf, oneRowTable, thrown, viaJson } from "./test-support/helpers.js";

const NaN_ = Number.NaN;

function table(): Table {
  return new Table([
    numericColumn("x", [1, 2, NaN_, 10, 4]),
    categoricalColumn("s", ["b", "a", null, "b", "a"]),
    numericColumn("y", [NaN_, 5, 5, 5, 7]),
  ]);
}

describe("SimpleImputer", () => {
  it("mean and median of numeric columns (sklearn: 4.25 and 3)", () => {
    const mean = new SimpleImputer({ strategy: "mean" }).fit(table());
    expect(mean.columns).toEqual(["x", "y"]);
    expect(mean.values).toEqual({ x: 4.25, y: 5.5 });
    const median = new SimpleImputer({ strategy: "median", columns: ["x"] }).fit(table());
    expect(median.values).toEqual({ x: 3 });
    const out = median.transform(table());
    expect(columnsOf(out.select(["x"]))).toEqual({ x: [1, 2, 3, 10, 4] });
    // untouched columns pass through, in place
    expect(out.names).toEqual(["x", "s", "y"]);
    expect(columnsOf(out.select(["y"]))).toEqual({ y: [NaN_, 5, 5, 5, 7] });
  });

  it("most_frequent breaks ties by the smaller value, as sklearn", () => {
    const f = new SimpleImputer({ strategy: "most_frequent" }).fit(table());
    expect(f.values).toEqual({ s: "a" });
    const out = f.transform(table());
    expect([0, 1, 2, 3, 4].map((i) => out.value("s", i))).toEqual(["b", "a", "a", "b", "a"]);
  });

  it("constant fills 0 for numbers and __missing__ for categories by default", () => {
    const f = new SimpleImputer({ strategy: "constant" }).fit(table());
    expect(f.values).toEqual({ x: 0, s: "__missing__", y: 0 });
    const out = f.transform(table());
    expect(out.value("s", 2)).toBe("__missing__");
    expect(out.value("x", 2)).toBe(0);
    const g = new SimpleImputer({ strategy: "constant", fill_value: -1 }).fit(table());
    expect(g.columns).toEqual(["x", "y"]);
    expect(g.transform(table()).value("y", 0)).toBe(-1);
  });

  it("fills by category string, whatever the dictionary of the table at hand", () => {
    const f = new SimpleImputer({ strategy: "most_frequent" }).fit(table());
    const request = oneRowTable(table(), 2, ["q", "r"]);
    const out = f.transform(request);
    expect(out.value("s", 0)).toBe("a");
  });

  it("round-trips through JSON", () => {
    const f = new SimpleImputer({ strategy: "median" }).fit(table());
    const g = SimpleImputer.load(viaJson(f.toJSON()));
    expect(columnsOf(g.transform(table()).select(["x", "y"]))).toEqual(
      columnsOf(f.transform(table()).select(["x", "y"])),
    );
    expect(JSON.stringify(g.toJSON())).toBe(JSON.stringify(f.toJSON()));
  });

  it("refuses what it cannot fit", () => {
    const allMissing = new Table([numericColumn("x", [NaN_, NaN_])]);
    const e = thrown(() => new SimpleImputer({ strategy: "mean" }).fit(allMissing));
    expect(e.code).toBe("NW_TRANSFORM_INVALID");
    expect(e.message).toContain("`x`");
    expect(
      thrown(() => new SimpleImputer({ strategy: "most_frequent", columns: ["x"] }).fit(table())).code,
    ).toBe("NW_TRANSFORM_INVALID");
    expect(
      thrown(() => new SimpleImputer({ strategy: "constant", fill_value: "?", columns: ["x"] }).fit(table()))
        .code,
    ).toBe("NW_TRANSFORM_INVALID");
    expect(thrown(() => new SimpleImputer({ strategy: "mode" as "mean" })).code).toBe("NW_TRANSFORM_INVALID");
    expect(thrown(() => new SimpleImputer({ strategy: "median", fill_value: 1 })).code).toBe(
      "NW_TRANSFORM_INVALID",
    );
  });

  it("load reports malformed JSON as NW_MODEL_FORMAT with the path", () => {
    const good = new SimpleImputer({ strategy: "median" }).fit(table()).toJSON();
    const bad = { ...good, columns: [{ name: "x", type: "numeric", value: "3" }] };
    const e = thrown(() => SimpleImputer.load(bad));
    expect(e.code).toBe("NW_MODEL_FORMAT");
    expect(e.where).toBe("simple_imputer.columns[0].value");
    expect(thrown(() => SimpleImputer.load({ ...good, strategy: "mode" })).code).toBe("NW_MODEL_FORMAT");
  });
});
