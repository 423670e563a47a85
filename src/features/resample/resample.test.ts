import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dataDir, type NetwardenError, Rng } from "../../core/index.js";
import { type NumericMatrix, smote, smoteTomek, tomekLinks } from "./resample.js";

function err(fn: () => unknown): NetwardenError {
  try {
    fn();
  } catch (e) {
    return e as NetwardenError;
  }
  throw new Error("expected an error");
}

const rowMatrix = (rows: number[][]): NumericMatrix => ({
  data: Float64Array.from(rows.flat()),
  nRows: rows.length,
  nCols: rows[0]?.length ?? 0,
  layout: "row",
});

const row = (X: NumericMatrix, i: number): number[] =>
  Array.from({ length: X.nCols }, (_, j) =>
    X.layout === "row" ? X.data[i * X.nCols + j] : X.data[j * X.nRows + i],
  );

/** Three 2-D blobs with 40, 12 and 7 rows (classes 0, 1, 2), continuous so no distances tie. */
function blobs(): { X: NumericMatrix; y: Int32Array } {
  const rng = new Rng(11);
  const rows: number[][] = [];
  const labels: number[] = [];
  const sizes = [40, 12, 7];
  // Interleave the classes so that class members are not contiguous rows.
  while (rows.length < 59) {
    for (let c = 0; c < 3; c++) {
      if (labels.filter((l) => l === c).length < sizes[c]) {
        rows.push([3 * c + rng.normal(), c - rng.normal()]);
        labels.push(c);
      }
    }
  }
  return { X: rowMatrix(rows), y: Int32Array.from(labels) };
}

/** Same-class k nearest neighbours of row a, by enumeration (ties by lower row). */
function classNeighbours(X: NumericMatrix, y: Int32Array, a: number, k: number): number[] {
  const pa = row(X, a);
  const others: [number, number][] = [];
  for (let b = 0; b < X.nRows; b++) {
    if (b === a || y[b] !== y[a]) continue;
    const pb = row(X, b);
    others.push([Math.hypot(...pa.map((v, j) => v - pb[j])), b]);
  }
  others.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  return others.slice(0, k).map((e) => e[1]);
}

describe("smote", () => {
  const { X, y } = blobs();

  it("every synthetic row lies between a row and one of its k nearest same-class neighbours", () => {
    const k = 3;
    const r = smote(X, y, { k_neighbors: k, seed: 7 });
    expect(r.summary.before).toEqual([40, 12, 7]);
    expect(r.summary.added).toEqual([0, 28, 33]);
    expect(r.summary.after).toEqual([40, 40, 40]);
    expect(r.X.nRows).toBe(120);
    // The input rows come first, unchanged.
    for (let i = 0; i < 59; i++) expect(row(r.X, i)).toEqual(row(X, i));
    expect(Array.from(r.y.subarray(0, 59))).toEqual(Array.from(y));
    for (let s = 59; s < 120; s++) {
      const p = row(r.X, s);
      const c = r.y[s];
      // Reconstruct without trusting the recorded provenance: search every (row, neighbour) pair.
      let found = false;
      for (let a = 0; a < 59 && !found; a++) {
        if (y[a] !== c) continue;
        const pa = row(X, a);
        for (const b of classNeighbours(X, y, a, k)) {
          const pb = row(X, b);
          const u = (p[0] - pa[0]) / (pb[0] - pa[0]);
          if (u >= 0 && u < 1 && pa.every((v, j) => Math.abs(v + u * (pb[j] - v) - p[j]) < 1e-12))
            found = true;
        }
      }
      expect(found).toBe(true);
      // The recorded provenance says the same.
      const t = s - 59;
      const src = r.synthetic.source[t];
      const nb = r.synthetic.neighbor[t];
      const u = r.synthetic.step[t];
      expect(y[src]).toBe(c);
      expect(classNeighbours(X, y, src, k)).toContain(nb);
      expect(u >= 0 && u < 1).toBe(true);
      expect(p).toEqual(row(X, src).map((v, j) => v + u * (row(X, nb)[j] - v)));
    }
  });

  it("is deterministic per seed, and each class draws from its own stream", () => {
    const a = smote(X, y, { seed: 1, k_neighbors: 3 });
    const b = smote(X, y, { seed: 1, k_neighbors: 3 });
    const c = smote(X, y, { seed: 2, k_neighbors: 3 });
    expect(Buffer.from(a.X.data.buffer).equals(Buffer.from(b.X.data.buffer))).toBe(true);
    expect(Buffer.from(a.X.data.buffer).equals(Buffer.from(c.X.data.buffer))).toBe(false);
    const only1 = smote(X, y, { seed: 1, k_neighbors: 3, sampling_strategy: { 1: 20 } });
    const both = smote(X, y, { seed: 1, k_neighbors: 3, sampling_strategy: { 1: 20, 2: 9 } });
    expect(Array.from(both.X.data.subarray(59 * 2, 67 * 2))).toEqual(
      Array.from(only1.X.data.subarray(59 * 2)),
    );
  });

  it("follows imbalanced-learn's sampling strategies", () => {
    const added = (s: Parameters<typeof smote>[2]["sampling_strategy"], names?: string[]) =>
      smote(X, y, { seed: 1, k_neighbors: 3, sampling_strategy: s, classNames: names }).summary.added;
    expect(added("auto")).toEqual([0, 28, 33]);
    expect(added("not majority")).toEqual([0, 28, 33]);
    expect(added("minority")).toEqual([0, 0, 33]);
    expect(added("not minority")).toEqual([0, 28, 0]);
    expect(added("all")).toEqual([0, 28, 33]);
    expect(added({ 2: 10 })).toEqual([0, 0, 3]);
    expect(added({ Worms: 10 }, ["Normal", "DoS", "Worms"])).toEqual([0, 0, 3]);
    // A ratio (two classes): int(n_majority · r − n_minority), e.g. int(100 · 0.29 − 20) = 8 in
    // imbalanced-learn, because 100 · 0.29 is 28.999999999999996.
    const two = rowMatrix(Array.from({ length: 120 }, (_, i) => [i, (i * 7) % 13]));
    const y2 = Int32Array.from({ length: 120 }, (_, i) => (i % 6 === 0 ? 1 : 0));
    expect(smote(two, y2, { seed: 1, sampling_strategy: 0.29 }).summary.added).toEqual([0, 8]);
    expect(smote(two, y2, { seed: 1, sampling_strategy: 1 }).summary.after).toEqual([100, 100]);
  });

  it("keeps a column-major matrix column-major", () => {
    const colMajor: NumericMatrix = {
      data: Float64Array.from({ length: 118 }, (_, t) => X.data[(t % 59) * 2 + Math.floor(t / 59)]),
      nRows: 59,
      nCols: 2,
      layout: "col",
    };
    const a = smote(X, y, { seed: 5 });
    const b = smote(colMajor, y, { seed: 5 });
    expect(b.X.layout).toBe("col");
    for (let i = 0; i < a.X.nRows; i += 9) expect(row(b.X, i)).toEqual(row(a.X, i));
  });

  it("names the class that is too small, with NW_TRANSFORM_INVALID", () => {
    const names = ["Normal", "DoS", "Worms"];
    const y1 = Int32Array.from(y, (c, i) => (c === 2 && i > 2 ? 1 : c));
    const one = err(() => smote(X, y1, { seed: 1, classNames: names }));
    expect(one.code).toBe("NW_TRANSFORM_INVALID");
    expect(one.message).toBe("class Worms has 1 row; SMOTE needs at least 2 to draw between");
    const big = err(() => smote(X, y, { seed: 1, k_neighbors: 7, classNames: names }));
    expect(big.code).toBe("NW_TRANSFORM_INVALID");
    expect(big.message).toMatch(/k_neighbors is 7 but class Worms has only 7 rows/);
    expect(big.hint).toMatch(/k_neighbors ≤ 6/);
    const bad: [() => unknown, RegExp][] = [
      [() => smote(X, y, { seed: 1, sampling_strategy: 0.5 }), /ratio sampling_strategy only applies to two/],
      [
        () => smote(X, y, { seed: 1, sampling_strategy: { 1: 5 } }),
        /target 5 for class 1 is below its 12 rows/,
      ],
      [
        () => smote(X, y, { seed: 1, sampling_strategy: { Bots: 50 }, classNames: names }),
        /"Bots" is not a class/,
      ],
      [() => smote(X, y, { seed: 1, sampling_strategy: "majority" as never }), /"majority" is not known/],
      [() => smote(X, y, { seed: 1, k_neighbors: 0 }), /k_neighbors is 0/],
      [() => smote(X, y.subarray(1), { seed: 1 }), /59 rows but there are 58 labels/],
      [() => smote(X, new Int32Array(59), { seed: 1 }), /only one class/],
      [() => smote(rowMatrix([[0], [Number.NaN], [1]]), Int32Array.of(0, 1, 1), { seed: 1 }), /NaN at row 1/],
      [
        () =>
          smote(
            X,
            Int32Array.from(y, (c) => c - 1),
            { seed: 1 },
          ),
        /label -1 at row 0/,
      ],
    ];
    for (const [fn, message] of bad) {
      const e = err(fn);
      expect(e.code).toBe("NW_TRANSFORM_INVALID");
      expect(e.message).toMatch(message);
    }
  });
});

describe("tomek links", () => {
  // 1-D points -5 0 1 1.5 4 5 9 14 with classes 0 0 0 1 0 1 1 0. Mutual nearest neighbours of
  // different classes: (1, 1.5) and (4, 5). 14's nearest is 9, of the other class, but 9's
  // nearest is 5: no link.
  const X = rowMatrix([[-5], [0], [1], [1.5], [4], [5], [9], [14]]);
  const y = Int32Array.of(0, 0, 0, 1, 0, 1, 1, 0);

  it("finds the links of a hand-worked 1-D example", () => {
    const auto = tomekLinks(X, y);
    // auto cleans every class but the minority (class 1, 3 rows): rows 2 and 4 go.
    expect(Array.from(auto.kept)).toEqual([0, 1, 3, 5, 6, 7]);
    expect(Array.from(auto.X.data)).toEqual([-5, 0, 1.5, 5, 9, 14]);
    expect(Array.from(auto.y)).toEqual([0, 0, 1, 1, 1, 0]);
    expect(auto.summary).toEqual({
      method: "tomek_links",
      classes: ["0", "1"],
      before: [5, 3],
      added: [0, 0],
      removed: [2, 0],
      after: [3, 3],
    });
    expect(Array.from(tomekLinks(X, y, { sampling_strategy: "all" }).kept)).toEqual([0, 1, 6, 7]);
    expect(Array.from(tomekLinks(X, y, { sampling_strategy: "majority" }).kept)).toEqual([0, 1, 3, 5, 6, 7]);
    expect(Array.from(tomekLinks(X, y, { sampling_strategy: ["1"] }).kept)).toEqual([0, 1, 2, 4, 6, 7]);
    const named = tomekLinks(X, y, { sampling_strategy: ["phish"], classNames: ["legit", "phish"] });
    expect(Array.from(named.kept)).toEqual([0, 1, 2, 4, 6, 7]);
  });

  it("links exact duplicates of different classes", () => {
    // Rows 0 and 1 coincide; row 2's nearest is row 0 (tie with row 1, lower row first).
    const r = tomekLinks(rowMatrix([[0], [0], [3]]), Int32Array.of(0, 1, 0), { sampling_strategy: "all" });
    expect(Array.from(r.kept)).toEqual([2]);
  });

  // Reference: imbalanced-learn 0.14.2 TomekLinks(sampling_strategy=…).fit_resample on these 100
  // rows (numpy RandomState(3): 70 + 30 normal points in 2-D, integers / 1024; no ties among each
  // row's two nearest neighbours), removed row indices.
  const REF_X = [
    183, 1343, 508, -1117, 956, 611, -345, -66, 407, -513, -518, 124, 270, 1139, 347, -228, 1089, 364, -414,
    292, -315, -1005, 629, 800, 525, -776, 263, 1163, 58, 923, -166, -213, -274, 516, 156, 753, -746, -376,
    -14, -533, 893, -671, 2306, 657, -461, -138, 375, -96, 447, 1186, 87, 701, 489, -312, -192, 1545, -482,
    -1451, -358, -353, 740, 89, 643, 384, 393, 626, 30, -243, 441, 376, -389, -442, -362, -1149, -355, -310,
    368, -503, -318, -438, -822, 143, -46, 166, 58, -1118, -614, -428, 511, 292, -615, 540, 608, 512, -327,
    -928, -214, -1046, -180, 1295, -48, 339, -576, 226, 616, 1298, 701, 955, 543, -79, 92, -639, -407, 256,
    -101, 1146, -405, 90, 623, 849, 335, -287, 222, 744, 386, 149, 777, 1445, -452, -1046, 622, -273, 589,
    -661, -501, 807, -788, 531, -711, -123, -310, -113, -974, 388, 967, 230, -250, 435, -26, -286, 1738, 1116,
    -1349, -161, 892, 142, -33, 736, -118, 1065, 88, 862, 1893, 1417, -554, -614, -524, 18, -41, 616, 290,
    406, 265, 679, 387, 188, -93, 1062, 1073, 262, 665, 672, 135, 172, 529, 1026, -1749, -583, -837, 835,
    1218, 311, 674, -79, 1323, 1079, 1202, 995, -50, -376,
  ];
  const REF_Y = [
    1, 0, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0,
    0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0,
  ];
  const REMOVED = {
    auto: [11, 13, 26, 44, 46, 60, 83, 89, 96],
    all: [5, 6, 7, 8, 11, 13, 26, 31, 34, 44, 46, 54, 59, 60, 65, 83, 89, 96],
    majority: [11, 13, 26, 44, 46, 60, 83, 89, 96],
  };

  it("removes the rows imbalanced-learn removes", () => {
    const Xr: NumericMatrix = {
      data: Float64Array.from(REF_X, (v) => v / 1024),
      nRows: 100,
      nCols: 2,
      layout: "row",
    };
    const yr = Int32Array.from(REF_Y);
    for (const s of ["auto", "all", "majority"] as const) {
      const kept = new Set(tomekLinks(Xr, yr, { sampling_strategy: s }).kept);
      const removed = Array.from({ length: 100 }, (_, i) => i).filter((i) => !kept.has(i));
      expect(removed).toEqual(REMOVED[s]);
    }
  });

  it("rejects unknown strategies and classes", () => {
    expect(err(() => tomekLinks(X, y, { sampling_strategy: "minority" as never })).message).toMatch(
      /not known/,
    );
    const e = err(() => tomekLinks(X, y, { sampling_strategy: ["2"] }));
    expect(e.code).toBe("NW_TRANSFORM_INVALID");
    expect(e.message).toBe('"2" is not a class');
  });
});

describe("smote-tomek", () => {
  it("is SMOTE followed by Tomek links cleaning every class", () => {
    const { X, y } = blobs();
    const r = smoteTomek(X, y, { seed: 3, k_neighbors: 3 });
    const over = smote(X, y, { seed: 3, k_neighbors: 3 });
    const clean = tomekLinks(over.X, over.y, { sampling_strategy: "all" });
    expect(r.X).toEqual(clean.X);
    expect(r.kept).toEqual(clean.kept);
    expect(r.synthetic).toEqual(over.synthetic);
    const s = r.summary;
    expect(s.method).toBe("smote_tomek");
    expect(s.before).toEqual([40, 12, 7]);
    expect(s.added).toEqual([0, 28, 33]);
    expect(s.after).toEqual(s.before.map((v, c) => v + s.added[c] - s.removed[c]));
    expect(s.removed.reduce((a, b) => a + b, 0)).toBe(120 - r.X.nRows);
  });

  it("balances the phishing data", () => {
    const lines = readFileSync(join(dataDir(), "phishing_websites.csv"), "utf8").trim().split("\n").slice(1);
    const X: NumericMatrix = {
      data: Float64Array.from(lines.flatMap((l) => l.split(",").slice(0, 30).map(Number))),
      nRows: lines.length,
      nCols: 30,
      layout: "row",
    };
    const y = Int32Array.from(lines, (l) => (l.endsWith(",1") ? 1 : 0));
    const r = smoteTomek(X, y, { seed: 42, classNames: ["phishing", "legitimate"] });
    expect(r.summary.before).toEqual([4898, 6157]);
    expect(r.summary.added).toEqual([1259, 0]);
    // Rows with the same features and both labels (the data has 64 such vectors) form links.
    expect(r.summary.removed[0]).toBeGreaterThan(0);
    expect(r.summary.removed[1]).toBeGreaterThan(0);
    for (let t = 0; t < r.synthetic.source.length; t += 50) {
      const a = r.synthetic.source[t];
      const b = r.synthetic.neighbor[t];
      expect(y[a]).toBe(0);
      expect(y[b]).toBe(0);
    }
  });
});
