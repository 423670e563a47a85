import { describe, expect, it } from "vitest";
import { categoricalColumn, numericColumn, Table } from "../data/index.js";
import { KNNImputer } from "./knn.js";
import { columnsOf, oneRowTable, thrown, viaJson } from "./test-support/helpers.js";

const N = Number.NaN;

// Worked by hand: nan-euclidean distance from row 0 (1, 2, ·) to row 1 (2, ·, 3) uses `a` only,
// (1 - 2)² scaled by 3 features / 1 used = 3; to row 2 (3, 4, 5): (4 + 4) · 3/2 = 12; to row 3:
// 16 · 3 = 48; to row 4: (49 + 49) · 3/2 = 147. The two nearest donors of `c` are rows 1 and 2, so
// c = (3 + 5) / 2 = 4 with uniform weights, (3/√3 + 5/√12) / (1/√3 + 1/√12) = 11/3 with distance weights.
function table(): Table {
  return new Table([
    numericColumn("a", [1, 2, 3, N, 8]),
    numericColumn("b", [2, N, 4, 6, 9]),
    numericColumn("c", [N, 3, 5, 7, 9]),
  ]);
}

// scikit-learn 1.9 KNNImputer(n_neighbors=2) on the same data and queries
const SK_UNIFORM = {
  train: [
    [1, 2, 4],
    [2, 3, 3],
    [3, 4, 5],
    [5.5, 6, 7],
    [8, 9, 9],
  ],
  queries: [
    [2, 5, 6],
    [3.5, 5.25, 6],
    [4, 5, 6],
    [1, 2, 4],
  ],
};
const SK_DISTANCE = {
  train: [
    [1, 2, 3.6666666666666665],
    [2, 2.7748517734455858, 3],
    [3, 4, 5],
    [5.19803902718557, 6, 7],
    [8, 9, 9],
  ],
  queries: [
    [2.5000000000000004, 5, 6],
    [3.5, 5.25, 6],
    [4, 5, 6],
    [1, 2, 3.6666666666666665],
  ],
};

function queries(): Table {
  return new Table([
    numericColumn("a", [N, N, 4, 1]),
    numericColumn("b", [5, N, N, 2]),
    numericColumn("c", [N, N, 6, N]),
  ]);
}

function rows(t: Table): number[][] {
  const cols = columnsOf(t);
  return Array.from({ length: t.nRows }, (_, i) => ["a", "b", "c"].map((n) => cols[n][i]));
}

function expectClose(actual: number[][], expected: number[][]) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((r, i) => {
    r.forEach((v, j) => {
      expect(v).toBeCloseTo(expected[i][j], 12);
    });
  });
}

describe("KNNImputer", () => {
  it("matches sklearn with uniform weights, on the training rows and on new rows", () => {
    const f = new KNNImputer({ n_neighbors: 2, seed: 1 }).fit(table());
    expect(rows(f.transform(table()))).toEqual(SK_UNIFORM.train);
    // a row sharing no present feature with any donor gets the training mean: (1+2+3+8)/4, ...
    expect(rows(f.transform(queries()))).toEqual(SK_UNIFORM.queries);
  });

  it("matches sklearn with distance weights", () => {
    const f = new KNNImputer({ n_neighbors: 2, weights: "distance", seed: 1 }).fit(table());
    expectClose(rows(f.transform(table())), SK_DISTANCE.train);
    expect(rows(f.transform(table()))[0][2]).toBeCloseTo(11 / 3, 14);
    expectClose(rows(f.transform(queries())), SK_DISTANCE.queries);
  });

  it("uses every donor when k exceeds them (sklearn k = 10)", () => {
    const f = new KNNImputer({ n_neighbors: 10, seed: 1 }).fit(table());
    expect(rows(f.transform(table()))).toEqual([
      [1, 2, 6],
      [2, 5.25, 3],
      [3, 4, 5],
      [3.5, 6, 7],
      [8, 9, 9],
    ]);
  });

  it("with distance weights, an exact match alone decides", () => {
    const t = new Table([numericColumn("a", [1, 1, 5]), numericColumn("b", [10, 20, 30])]);
    const f = new KNNImputer({ n_neighbors: 3, weights: "distance", seed: 1 }).fit(t);
    const q = new Table([numericColumn("a", [1]), numericColumn("b", [N])]);
    expect(columnsOf(f.transform(q)).b).toEqual([15]);
  });

  it("imputes only `columns` while measuring distance on `features`, others pass through", () => {
    const t = table().withColumn(categoricalColumn("s", ["x", "y", "x", "y", "x"]));
    const f = new KNNImputer({ columns: ["c"], features: ["a", "b", "c"], n_neighbors: 2, seed: 1 }).fit(t);
    const out = f.transform(t);
    expect(out.names).toEqual(["a", "b", "c", "s"]);
    expect(columnsOf(out.select(["a", "b", "c"]))).toEqual({
      a: [1, 2, 3, N, 8],
      b: [2, N, 4, 6, 9],
      c: [4, 3, 5, 7, 9],
    });
  });

  it("standardize makes a feature in small units count as much as one in large units", () => {
    // Raw distance from the query (90, 1) is nearest to row 1 through `a`; standardised by
    // std(a) ≈ 124.7 and std(b) ≈ 4.50 it is nearest to row 0 (0.52 + 0.05 against 2.84 and 4.01).
    const t = new Table([
      numericColumn("a", [0, 100, 300]),
      numericColumn("b", [0, 10, 1]),
      numericColumn("c", [10, 20, 30]),
    ]);
    const q = new Table([numericColumn("a", [90]), numericColumn("b", [1]), numericColumn("c", [N])]);
    const raw = new KNNImputer({ n_neighbors: 1, seed: 1 }).fit(t);
    const std = new KNNImputer({ n_neighbors: 1, seed: 1, standardize: true }).fit(t);
    expect(columnsOf(raw.transform(q)).c).toEqual([20]);
    expect(columnsOf(std.transform(q)).c).toEqual([10]);
  });

  it("keeps a seeded sample of at most max_reference_rows donors", () => {
    const n = 50;
    const t = new Table([
      numericColumn(
        "a",
        Array.from({ length: n }, (_, i) => i),
      ),
      numericColumn(
        "b",
        Array.from({ length: n }, (_, i) => (i % 7 === 0 ? N : 2 * i)),
      ),
    ]);
    const fitWith = (seed: number) => new KNNImputer({ max_reference_rows: 10, seed }).fit(t);
    const f = fitWith(7);
    expect(f.referenceRows).toBe(10);
    const json = f.toJSON();
    expect(json.reference[0]).toHaveLength(10);
    // the sample is distinct training rows, in training order
    const sample = json.reference[0] as number[];
    expect(new Set(sample).size).toBe(10);
    expect([...sample].sort((x, y) => x - y)).toEqual(sample);
    expect(JSON.stringify(fitWith(7).toJSON())).toBe(JSON.stringify(json));
    expect(JSON.stringify(fitWith(8).toJSON())).not.toBe(JSON.stringify(json));
    // the fallback mean is over all training rows, not the sample
    expect(json.means[0]).toBe(24.5);
  });

  it("round-trips through JSON (NaN donors become null and back)", () => {
    const f = new KNNImputer({ n_neighbors: 2, weights: "distance", seed: 1 }).fit(table());
    const json = viaJson(f.toJSON());
    expect((json as { reference: unknown[][] }).reference[2][0]).toBeNull();
    const g = KNNImputer.load(json);
    expect(columnsOf(g.transform(queries()))).toEqual(columnsOf(f.transform(queries())));
    expect(JSON.stringify(g.toJSON())).toBe(JSON.stringify(f.toJSON()));
  });

  it("gives each row the same numbers alone as within a batch", () => {
    const f = new KNNImputer({ n_neighbors: 2, seed: 1 }).fit(table());
    const batch = columnsOf(f.transform(queries()));
    for (let i = 0; i < 4; i++) {
      const one = columnsOf(f.transform(oneRowTable(queries(), i)));
      for (const name of ["a", "b", "c"]) expect(one[name]).toEqual([batch[name][i]]);
    }
  });

  it("refuses bad options, empty columns and malformed JSON", () => {
    expect(thrown(() => new KNNImputer({ n_neighbors: 0, seed: 1 })).code).toBe("NW_TRANSFORM_INVALID");
    expect(thrown(() => new KNNImputer({ weights: "gauss" as "uniform", seed: 1 })).code).toBe(
      "NW_TRANSFORM_INVALID",
    );
    const allMissing = new Table([numericColumn("a", [N, N]), numericColumn("b", [1, 2])]);
    expect(thrown(() => new KNNImputer({ seed: 1 }).fit(allMissing)).message).toContain("`a`");
    expect(thrown(() => new KNNImputer({ columns: ["a"], features: ["b"], seed: 1 }).fit(table())).code).toBe(
      "NW_TRANSFORM_INVALID",
    );
    const good = new KNNImputer({ seed: 1 }).fit(table()).toJSON();
    const e = thrown(() => KNNImputer.load({ ...good, reference: [[1], [2]] }));
    expect(e.code).toBe("NW_MODEL_FORMAT");
    expect(e.where).toBe("knn_imputer.reference");
    expect(thrown(() => KNNImputer.load({ ...good, featureScale: [1, 0, 1] })).code).toBe("NW_MODEL_FORMAT");
  });
});
