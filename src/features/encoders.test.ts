import { describe, expect, it } from "vitest";
import { categoricalColumn, numericColumn, Table } from "../data/index.js";
import { chooseLevels, OneHotEncoder, OrdinalEncoder } from "./encoders.js";
import { columnsOf, oneRowTable, reversedDictionaries, thrown, viaJson } from "./test-support/helpers.js";

const N = Number.NaN;

// counts: a 3, b 2, c 1, d 1 (c and d tie: ordered by value); one missing
function table(): Table {
  return new Table([
    numericColumn("n", [1, 2, 3, 4, 5, 6, 7, 8]),
    categoricalColumn("s", ["b", "a", "c", "a", "b", "a", null, "d"]),
  ]);
}

describe("chooseLevels", () => {
  const counts = [
    { value: "a", count: 3 },
    { value: "b", count: 2 },
    { value: "c", count: 1 },
    { value: "d", count: 1 },
  ];
  it("keeps everything without limits, or when all levels fit", () => {
    expect(chooseLevels(counts, 8)).toEqual({ levels: ["a", "b", "c", "d"], infrequent: [] });
    expect(chooseLevels(counts, 8, 4)).toEqual({ levels: ["a", "b", "c", "d"], infrequent: [] });
  });
  it("counts the pooled level within max_categories (as sklearn)", () => {
    expect(chooseLevels(counts, 8, 3)).toEqual({ levels: ["a", "b"], infrequent: ["c", "d"] });
    expect(chooseLevels(counts, 8, 1)).toEqual({ levels: [], infrequent: ["a", "b", "c", "d"] });
  });
  it("pools levels below min_frequency, as a count or a share of rows", () => {
    expect(chooseLevels(counts, 8, undefined, 2)).toEqual({ levels: ["a", "b"], infrequent: ["c", "d"] });
    expect(chooseLevels(counts, 8, undefined, 0.3)).toEqual({ levels: ["a"], infrequent: ["b", "c", "d"] });
    expect(chooseLevels(counts, 8, 2, 2)).toEqual({ levels: ["a"], infrequent: ["b", "c", "d"] });
  });
});

describe("OneHotEncoder", () => {
  it("one column per level, by descending frequency then value; missing is all zeros", () => {
    const f = new OneHotEncoder().fit(table());
    expect(f.outputNames("s")).toEqual(["s=a", "s=b", "s=c", "s=d"]);
    const out = f.transform(table());
    expect(out.names).toEqual(["n", "s=a", "s=b", "s=c", "s=d"]);
    expect(columnsOf(out)).toEqual({
      n: [1, 2, 3, 4, 5, 6, 7, 8],
      "s=a": [0, 1, 0, 1, 0, 1, 0, 0],
      "s=b": [1, 0, 0, 0, 1, 0, 0, 0],
      "s=c": [0, 0, 1, 0, 0, 0, 0, 0],
      "s=d": [0, 0, 0, 0, 0, 0, 0, 1],
    });
  });

  it("pools rare levels into <col>=__other__ (sklearn: a, b, infrequent [c, d])", () => {
    for (const f of [
      new OneHotEncoder({ max_categories: 3 }).fit(table()),
      new OneHotEncoder({ min_frequency: 2 }).fit(table()),
    ]) {
      expect(f.encoded).toEqual([{ name: "s", levels: ["a", "b"], infrequent: ["c", "d"] }]);
      const out = columnsOf(f.transform(table()));
      expect(out["s=__other__"]).toEqual([0, 0, 1, 0, 0, 0, 0, 1]);
    }
  });

  it("ignores unknown values (all zeros) or names them under handle_unknown error", () => {
    const q = new Table([numericColumn("n", [0, 0]), categoricalColumn("s", ["b", "zzz"])]);
    const ignore = columnsOf(new OneHotEncoder({ max_categories: 3 }).fit(table()).transform(q));
    expect(ignore).toEqual({ n: [0, 0], "s=a": [0, 0], "s=b": [1, 0], "s=__other__": [0, 0] });
    const strict = new OneHotEncoder({ handle_unknown: "error" }).fit(table());
    const e = thrown(() => strict.transform(q));
    expect(e.code).toBe("NW_TRANSFORM_INVALID");
    expect(e.message).toContain("`s`");
    expect(e.message).toContain('"zzz"');
    expect(e.where).toBe("column `s`, row 2");
    expect(e.details).toEqual({ column: "s", row: 1, value: "zzz" });
    // a missing value is not an unknown one
    const missing = new Table([numericColumn("n", [0]), categoricalColumn("s", [null])]);
    expect(columnsOf(strict.transform(missing))["s=a"]).toEqual([0]);
  });

  it("gives identical numbers for rows sent one by one with other dictionaries", () => {
    const f = new OneHotEncoder({ max_categories: 3 }).fit(table());
    const full = columnsOf(f.transform(table()));
    expect(columnsOf(f.transform(reversedDictionaries(table())))).toEqual(full);
    for (let i = 0; i < table().nRows; i++) {
      const one = columnsOf(f.transform(oneRowTable(table(), i, ["zz", "a"])));
      for (const name of Object.keys(full)) expect(one[name]).toEqual([full[name][i]]);
    }
  });

  it("refuses a level literally named __other__ when levels are pooled", () => {
    const t = new Table([categoricalColumn("s", ["__other__", "__other__", "a", "b"])]);
    expect(thrown(() => new OneHotEncoder({ max_categories: 2 }).fit(t)).code).toBe("NW_TRANSFORM_INVALID");
    expect(new OneHotEncoder().fit(t).outputNames("s")).toEqual(["s=__other__", "s=a", "s=b"]);
  });

  it("round-trips through JSON and rejects malformed JSON", () => {
    const f = new OneHotEncoder({ max_categories: 3, handle_unknown: "error" }).fit(table());
    const g = OneHotEncoder.load(viaJson(f.toJSON()));
    expect(g.handleUnknown).toBe("error");
    expect(columnsOf(g.transform(table()))).toEqual(columnsOf(f.transform(table())));
    const bad = { ...f.toJSON(), columns: [{ name: "s", levels: ["a", "a"], infrequent: [] }] };
    expect(thrown(() => OneHotEncoder.load(bad)).code).toBe("NW_MODEL_FORMAT");
  });

  it("refuses bad options", () => {
    expect(thrown(() => new OneHotEncoder({ max_categories: 0 })).code).toBe("NW_TRANSFORM_INVALID");
    expect(thrown(() => new OneHotEncoder({ min_frequency: -1 })).code).toBe("NW_TRANSFORM_INVALID");
    expect(thrown(() => new OneHotEncoder({ handle_unknown: "skip" as "ignore" })).code).toBe(
      "NW_TRANSFORM_INVALID",
    );
  });
});

describe("OrdinalEncoder", () => {
  it("codes levels 0..n-1 by descending frequency then value; missing and unknown are NaN", () => {
    const f = new OrdinalEncoder().fit(table());
    expect(columnsOf(f.transform(table())).s).toEqual([1, 0, 2, 0, 1, 0, N, 3]);
    const q = new Table([categoricalColumn("s", ["zzz", "d", null])]);
    expect(columnsOf(f.transform(q)).s).toEqual([N, 3, N]);
    expect(columnsOf(f.transform(reversedDictionaries(table())))).toEqual(columnsOf(f.transform(table())));
  });

  it("gives pooled levels one shared code after the kept ones", () => {
    const f = new OrdinalEncoder({ max_categories: 3 }).fit(table());
    expect(columnsOf(f.transform(table())).s).toEqual([1, 0, 2, 0, 1, 0, N, 2]);
  });

  it("errors on unknown values under handle_unknown error, and round-trips", () => {
    const f = new OrdinalEncoder({ handle_unknown: "error" }).fit(table());
    expect(thrown(() => f.transform(new Table([categoricalColumn("s", ["a", "q"])]))).where).toBe(
      "column `s`, row 2",
    );
    const g = OrdinalEncoder.load(viaJson(f.toJSON()));
    expect(columnsOf(g.transform(table()))).toEqual(columnsOf(f.transform(table())));
  });

  it("encodes a numeric column sent as numbers by its text", () => {
    const t = new Table([categoricalColumn("port", ["80", "443", "80"])]);
    const f = new OrdinalEncoder().fit(t);
    expect(columnsOf(f.transform(new Table([numericColumn("port", [443, 80, 22])]))).port).toEqual([1, 0, N]);
  });
});
