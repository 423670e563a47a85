import { describe, expect, it } from "vitest";
import type { ColumnSpec } from "../data/index.js";
import { categoricalColumn, numericColumn, Table } from "../data/index.js";
import {
  defaultPreprocessSpec,
  fitPreprocessor,
  loadPreprocessor,
  type PreprocessSpec,
} from "./preprocessor.js";
import { columnsOf, oneRowTable, reversedDictionaries, thrown, viaJson } from "./test-support/helpers.js";

const N = Number.NaN;

function spec(name: string, type: ColumnSpec["type"]): ColumnSpec {
  return { name, role: "feature", type, nullable: true };
}

const FEATURES = [spec("dur", "numeric"), spec("flag", "binary"), spec("proto", "categorical")];

// dur: median of 1, 3, 5, 7 is 4; imputed 1, 4, 3, 7, 5 has mean 4 and deviation 2.
// flag: mean 0.6, deviation √0.24. proto: tcp 2, then __missing__, icmp, udp once each.
function train(): Table {
  return new Table([
    categoricalColumn("label", ["x", "y", "x", "y", "x"]),
    numericColumn("dur", [1, N, 3, 7, 5]),
    numericColumn("flag", [0, 1, 1, 0, 1]),
    categoricalColumn("proto", ["tcp", "udp", "tcp", null, "icmp"]),
  ]);
}

const SEED = { seed: 42 };

describe("defaultPreprocessSpec", () => {
  it("trees: median, no scaling, ordinal; linear: median, standard, one-hot of at most 32", () => {
    expect(defaultPreprocessSpec("tree")).toEqual({
      numeric: { impute: "median", scale: "none" },
      categorical: { impute: "none", encode: "ordinal", handle_unknown: "ignore" },
    });
    expect(defaultPreprocessSpec("linear")).toEqual({
      numeric: { impute: "median", scale: "standard" },
      categorical: { impute: "constant", encode: "onehot", max_categories: 32, handle_unknown: "ignore" },
    });
  });
});

describe("fitPreprocessor", () => {
  it("linear defaults: imputes, standardises and one-hot encodes in input order", () => {
    const p = fitPreprocessor(train(), FEATURES, defaultPreprocessSpec("linear"), SEED);
    expect(p.inputColumns).toEqual([
      { name: "dur", type: "numeric" },
      { name: "flag", type: "numeric" },
      { name: "proto", type: "categorical" },
    ]);
    expect(p.outputNames).toEqual([
      "dur",
      "flag",
      "proto=tcp",
      "proto=__missing__",
      "proto=icmp",
      "proto=udp",
    ]);
    const out = p.transform(train());
    expect(out.names).toEqual(p.outputNames);
    const c = columnsOf(out);
    expect(c.dur).toEqual([-1.5, 0, -0.5, 1.5, 0.5]);
    const s = Math.sqrt(0.24);
    c.flag.forEach((v, i) => {
      expect(v).toBeCloseTo(([0, 1, 1, 0, 1][i] - 0.6) / s, 14);
    });
    expect(c["proto=tcp"]).toEqual([1, 0, 1, 0, 0]);
    expect(c["proto=__missing__"]).toEqual([0, 0, 0, 1, 0]);
    expect(c["proto=icmp"]).toEqual([0, 0, 0, 0, 1]);
    expect(c["proto=udp"]).toEqual([0, 1, 0, 0, 0]);
  });

  it("tree defaults: median impute, raw scale, ordinal codes with NaN for missing", () => {
    const p = fitPreprocessor(train(), FEATURES, defaultPreprocessSpec("tree"), SEED);
    expect(p.outputNames).toEqual(["dur", "flag", "proto"]);
    expect(columnsOf(p.transform(train()))).toEqual({
      dur: [1, 4, 3, 7, 5],
      flag: [0, 1, 1, 0, 1],
      proto: [0, 2, 0, N, 1],
    });
  });

  it("applies per-column overrides", () => {
    const s: PreprocessSpec = {
      ...defaultPreprocessSpec("linear"),
      columns: {
        dur: { impute: "constant", fill_value: -1, scale: "none" },
        flag: { scale: "robust", impute: undefined },
        proto: { encode: "ordinal" },
      },
    };
    const p = fitPreprocessor(train(), FEATURES, s, SEED);
    expect(p.steps.map((x) => x.kind)).toEqual([
      "simple_imputer",
      "simple_imputer",
      "simple_imputer",
      "robust_scaler",
      "ordinal_encoder",
    ]);
    // flag: median 1, q25 = 0, q75 = 1
    expect(columnsOf(p.transform(train()))).toEqual({
      dur: [1, -1, 3, 7, 5],
      flag: [-1, 0, 0, -1, 0],
      proto: [0, 3, 0, 1, 2],
    });
  });

  it("KNN imputation uses the nearest rows on all numeric features", () => {
    const t = new Table([numericColumn("a", [1, 2, 3, 10]), numericColumn("b", [10, 20, N, 100])]);
    const s: PreprocessSpec = {
      numeric: { impute: "knn", knn_neighbors: 1, scale: "none" },
      categorical: defaultPreprocessSpec("tree").categorical,
    };
    const p = fitPreprocessor(t, [spec("a", "numeric"), spec("b", "numeric")], s, SEED);
    expect(columnsOf(p.transform(t)).b).toEqual([10, 20, 20, 100]);
    expect(p.steps[0].kind).toBe("knn_imputer");
  });

  it("gives a request's rows the same numbers as training did, whatever their dictionaries", () => {
    const s: PreprocessSpec = {
      numeric: { impute: "knn", scale: "standard" },
      categorical: { impute: "most_frequent", encode: "onehot", max_categories: 3, handle_unknown: "ignore" },
      columns: { flag: { impute: "median", scale: "robust" } },
    };
    const p = fitPreprocessor(train(), FEATURES, s, SEED);
    const full = columnsOf(p.transform(train()));
    expect(columnsOf(p.transform(reversedDictionaries(train())))).toEqual(full);
    for (let i = 0; i < train().nRows; i++) {
      const one = columnsOf(p.transform(oneRowTable(train(), i, ["zz", "tcp-ish"])));
      for (const name of p.outputNames) expect(one[name]).toEqual([full[name][i]]);
    }
  });

  it("ignores extra columns and column order, and converts numbers sent as text", () => {
    const p = fitPreprocessor(train(), FEATURES, defaultPreprocessSpec("linear"), SEED);
    const request = new Table([
      categoricalColumn("proto", ["udp", "sctp"]),
      categoricalColumn("dur", ["7", null]),
      categoricalColumn("flag", ["1", "0"]),
      numericColumn("id", [1, 2]),
    ]);
    const same = new Table([
      numericColumn("dur", [7, N]),
      numericColumn("flag", [1, 0]),
      categoricalColumn("proto", ["udp", "sctp"]),
    ]);
    const out = columnsOf(p.transform(request));
    expect(out).toEqual(columnsOf(p.transform(same)));
    // the unseen "sctp" is ignored: all its one-hot columns are 0
    expect(p.outputNames.filter((n) => n.startsWith("proto=")).map((n) => out[n][1])).toEqual([0, 0, 0, 0]);
  });

  it("names a missing input column and a value that is not a number", () => {
    const p = fitPreprocessor(train(), FEATURES, defaultPreprocessSpec("tree"), SEED);
    const e = thrown(() => p.transform(train().drop(["flag"])));
    expect(e.code).toBe("NW_TRANSFORM_INVALID");
    expect(e.message).toContain("`flag`");
    const bad = train().withColumn(categoricalColumn("dur", ["1", "2", "fast", "4", "5"]));
    const f = thrown(() => p.transform(bad));
    expect(f.code).toBe("NW_TRANSFORM_INVALID");
    expect(f.where).toBe("column `dur`, row 3");
  });

  it("errors on unknown categories under handle_unknown error", () => {
    const s = defaultPreprocessSpec("linear");
    s.categorical.handle_unknown = "error";
    const p = fitPreprocessor(train(), FEATURES, s, SEED);
    const request = new Table([
      numericColumn("dur", [1]),
      numericColumn("flag", [1]),
      categoricalColumn("proto", ["sctp"]),
    ]);
    const e = thrown(() => p.transform(request));
    expect(e.code).toBe("NW_TRANSFORM_INVALID");
    expect(e.details).toEqual({ column: "proto", row: 0, value: "sctp" });
  });

  it("refuses invalid specs with the config path", () => {
    const base = defaultPreprocessSpec("linear");
    const cases: [PreprocessSpec, string, string][] = [
      [
        { ...base, numeric: { ...base.numeric, impute: "avg" as "mean" } },
        "NW_CONFIG_INVALID_VALUE",
        "preprocess.numeric.impute",
      ],
      [
        { ...base, categorical: { ...base.categorical, max_categories: 1.5 } },
        "NW_CONFIG_INVALID_VALUE",
        "preprocess.categorical.max_categories",
      ],
      [
        { ...base, columns: { nope: { scale: "none" } } },
        "NW_CONFIG_INVALID_VALUE",
        "preprocess.columns.nope",
      ],
      [
        { ...base, columns: { proto: { scale: "standard" } } },
        "NW_CONFIG_UNKNOWN_KEY",
        "preprocess.columns.proto.scale",
      ],
      [
        { ...base, numeric: { impute: "median" } as PreprocessSpec["numeric"] },
        "NW_CONFIG_MISSING_KEY",
        "preprocess.numeric.scale",
      ],
    ];
    for (const [s, code, where] of cases) {
      const e = thrown(() => fitPreprocessor(train(), FEATURES, s, SEED));
      expect([e.code, e.where]).toEqual([code, where]);
    }
  });

  it("refuses an empty table, no features, and output names that clash", () => {
    const spec0 = defaultPreprocessSpec("linear");
    expect(thrown(() => fitPreprocessor(train().take([]), FEATURES, spec0, SEED)).code).toBe(
      "NW_TRANSFORM_INVALID",
    );
    expect(thrown(() => fitPreprocessor(train(), [], spec0, SEED)).code).toBe("NW_TRANSFORM_INVALID");
    const t = train().withColumn(numericColumn("proto=tcp", [1, 2, 3, 4, 5]));
    const e = thrown(() => fitPreprocessor(t, [...FEATURES, spec("proto=tcp", "numeric")], spec0, SEED));
    expect(e.code).toBe("NW_TRANSFORM_INVALID");
    expect(e.message).toContain("proto=tcp");
  });
});

describe("serialisation", () => {
  const s: PreprocessSpec = {
    numeric: { impute: "knn", knn_neighbors: 2, scale: "robust" },
    categorical: { impute: "constant", encode: "onehot", handle_unknown: "ignore" },
  };

  it("round-trips through JSON text to a preprocessor with identical output", () => {
    const p = fitPreprocessor(train(), FEATURES, s, SEED);
    const q = loadPreprocessor(viaJson(p.toJSON()));
    expect(q.outputNames).toEqual(p.outputNames);
    expect(q.inputColumns).toEqual(p.inputColumns);
    expect(columnsOf(q.transform(train()))).toEqual(columnsOf(p.transform(train())));
    expect(JSON.stringify(q.toJSON())).toBe(JSON.stringify(p.toJSON()));
  });

  it("is deterministic: the same data gives the same JSON, whatever the dictionary order", () => {
    const a = JSON.stringify(fitPreprocessor(train(), FEATURES, s, SEED).toJSON());
    expect(JSON.stringify(fitPreprocessor(train(), FEATURES, s, SEED).toJSON())).toBe(a);
    expect(JSON.stringify(fitPreprocessor(reversedDictionaries(train()), FEATURES, s, SEED).toJSON())).toBe(
      a,
    );
  });

  it("rejects malformed JSON with NW_MODEL_FORMAT and the path", () => {
    const good = viaJson(fitPreprocessor(train(), FEATURES, s, SEED).toJSON()) as Record<string, unknown>;
    const steps = good.steps as Record<string, unknown>[];
    const cases: [unknown, string][] = [
      [null, "preprocessor"],
      [{ ...good, format: "netwarden.preprocessor/v0" }, "preprocessor.format"],
      [{ ...good, inputColumns: [{ name: "dur", type: "text" }] }, "preprocessor.inputColumns[0].type"],
      [{ ...good, steps: [{ ...steps[0], kind: "pca" }] }, "preprocessor.steps[0].kind"],
      [{ ...good, steps: [{ ...steps[0], nNeighbors: 0 }] }, "preprocessor.steps[0].nNeighbors"],
      [{ ...good, outputNames: ["dur", "flag"] }, "preprocessor.outputNames"],
      [{ ...good, inputColumns: (good.inputColumns as unknown[]).slice(1) }, "preprocessor.steps"],
    ];
    for (const [json, where] of cases) {
      const e = thrown(() => loadPreprocessor(json));
      expect([e.code, e.where]).toEqual(["NW_MODEL_FORMAT", where]);
    }
  });
});
