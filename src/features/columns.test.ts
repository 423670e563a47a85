import { describe, expect, it } from "vitest";
import { isNetwardenError } from "../core/index.js";
import { categoricalColumn, numericColumn, Table } from "../data/index.js";
import { asCategorical, asNumeric, inputColumn, levelCounts, replaceColumns } from "./columns.js";

function thrown(f: () => unknown) {
  try {
    f();
  } catch (e) {
    if (isNetwardenError(e)) return e;
    throw e;
  }
  throw new Error("expected an error");
}

describe("type conversion of inputs", () => {
  it("parses numeric texts, keeping missing as NaN", () => {
    const c = asNumeric(categoricalColumn("x", ["1.5", null, " -2 ", "1e3", "1.5"]));
    expect(Array.from(c.values)).toEqual([1.5, Number.NaN, -2, 1000, 1.5]);
  });

  it("names the column, row and value that is not a number", () => {
    const e = thrown(() => asNumeric(categoricalColumn("dur", ["1", "abc"])));
    expect(e.code).toBe("NW_TRANSFORM_INVALID");
    expect(e.message).toContain("`dur`");
    expect(e.message).toContain('"abc"');
    expect(e.where).toBe("column `dur`, row 2");
    for (const bad of ["", "0x10", "Infinity", "1,5"]) {
      expect(thrown(() => asNumeric(categoricalColumn("x", [bad]))).code).toBe("NW_TRANSFORM_INVALID");
    }
  });

  it("ignores unused dictionary entries that are not numbers", () => {
    const c = {
      type: "categorical" as const,
      name: "x",
      codes: Int32Array.from([1]),
      categories: ["abc", "2"],
    };
    expect(Array.from(asNumeric(c).values)).toEqual([2]);
  });

  it("turns numbers into their shortest text, with -0 as 0", () => {
    const c = asCategorical(numericColumn("p", [80, 1.5, Number.NaN, -0, 0, 80]));
    expect(c.categories).toEqual(["80", "1.5", "0"]);
    expect(Array.from(c.codes)).toEqual([0, 1, -1, 2, 2, 0]);
  });

  it("reports a missing input column with NW_TRANSFORM_INVALID", () => {
    const t = new Table([numericColumn("a", [1])]);
    const e = thrown(() => inputColumn(t, "sbytes"));
    expect(e.code).toBe("NW_TRANSFORM_INVALID");
    expect(e.message).toContain("`sbytes`");
  });
});

describe("levelCounts", () => {
  it("counts by string value, by descending count then value", () => {
    // "a" is listed twice in the dictionary and "z" is unused: neither may matter
    const c = {
      type: "categorical" as const,
      name: "s",
      codes: Int32Array.from([0, 1, 2, 3, 1, -1, 3]),
      categories: ["b", "a", "c", "a", "z"],
    };
    expect(levelCounts(c)).toEqual([
      { value: "a", count: 4 },
      { value: "b", count: 1 },
      { value: "c", count: 1 },
    ]);
  });
});

describe("replaceColumns", () => {
  it("keeps position and refuses outputs that clash with another column", () => {
    const t = new Table([numericColumn("a", [1]), numericColumn("b", [2]), numericColumn("c", [3])]);
    const r = replaceColumns(t, new Map([["b", [numericColumn("b=x", [1]), numericColumn("b=y", [0])]]]));
    expect(r.names).toEqual(["a", "b=x", "b=y", "c"]);
    const e = thrown(() => replaceColumns(t, new Map([["b", [numericColumn("c", [1])]]])));
    expect(e.code).toBe("NW_TRANSFORM_INVALID");
  });
});
