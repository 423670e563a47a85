import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dataDir, type NetwardenError } from "../core/index.js";
import { readCsv } from "./csv.js";
import { rowKeys } from "./keys.js";
import { groupStratifiedSplit, stratifiedSplit } from "./split.js";

function counts(y: Int32Array, rows: Int32Array): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of rows) m.set(y[r], (m.get(y[r]) ?? 0) + 1);
  return m;
}

function expectPartition(n: number, s: { train: Int32Array; test: Int32Array }): void {
  expect(s.train.length + s.test.length).toBe(n);
  const all = Int32Array.from([...s.train, ...s.test]).sort();
  expect(all.every((v, i) => v === i)).toBe(true);
  expect(Array.from(s.train)).toEqual([...s.train].sort((a, b) => a - b));
}

function splitError(f: () => unknown): NetwardenError {
  try {
    f();
  } catch (e) {
    return e as NetwardenError;
  }
  throw new Error("expected an error");
}

describe("stratifiedSplit", () => {
  it("takes round(testSize × n) of each class into test, at least one a side", () => {
    // class 0: 10 rows, class 1: 5 rows, class 2: 2 rows
    const y = Int32Array.from([...Array(10).fill(0), ...Array(5).fill(1), ...Array(2).fill(2)]);
    const s = stratifiedSplit(y, 0.3, 1);
    expectPartition(17, s);
    // round(3) = 3, round(1.5) = 2, round(0.6) = 1
    expect(counts(y, s.test)).toEqual(
      new Map([
        [0, 3],
        [1, 2],
        [2, 1],
      ]),
    );
    expect(counts(y, s.train)).toEqual(
      new Map([
        [0, 7],
        [1, 3],
        [2, 1],
      ]),
    );
    // A tiny test size still leaves one row of each class in test.
    expect(counts(y, stratifiedSplit(y, 0.01, 1).test)).toEqual(
      new Map([
        [0, 1],
        [1, 1],
        [2, 1],
      ]),
    );
  });

  it("is deterministic per seed and differs between seeds", () => {
    const y = Int32Array.from({ length: 1000 }, (_, i) => (i % 7 === 0 ? 1 : 0));
    const a = stratifiedSplit(y, 0.2, 42);
    const b = stratifiedSplit(y, 0.2, 42);
    const c = stratifiedSplit(y, 0.2, 43);
    expect(Array.from(a.test)).toEqual(Array.from(b.test));
    expect(Array.from(a.test)).not.toEqual(Array.from(c.test));
  });

  it("refuses what cannot be split", () => {
    const one = splitError(() => stratifiedSplit(Int32Array.from([0, 0, 0, 1]), 0.25, 1));
    expect(one.code).toBe("NW_SPLIT_INVALID");
    expect(one.message).toContain("class 1 has only 1 row");
    expect(splitError(() => stratifiedSplit(Int32Array.from([0, 1, 0, 1]), 1, 1)).code).toBe(
      "NW_SPLIT_INVALID",
    );
    expect(splitError(() => stratifiedSplit(Int32Array.from([0, 1, 0, 1]), 0, 1)).code).toBe(
      "NW_SPLIT_INVALID",
    );
    const missing = splitError(() => stratifiedSplit(Int32Array.from([0, 1, -1, 1, 0]), 0.2, 1));
    expect(missing.where).toBe("row 2");
  });

  it("keeps the class proportions of the real UNSW-NB15 attack categories", async () => {
    const { table } = await readCsv(join(dataDir(), "unsw_nb15_testing.csv.gz"));
    const cat = table.categorical("attack_cat");
    const y = cat.codes;
    const s = stratifiedSplit(y, 0.2, 7);
    expectPartition(82_332, s);
    const total = counts(
      y,
      Int32Array.from({ length: y.length }, (_, i) => i),
    );
    const test = counts(y, s.test);
    for (const [label, n] of total) expect(test.get(label)).toBe(Math.round(0.2 * n));
    const worms = cat.categories.indexOf("Worms");
    expect(test.get(worms)).toBe(9); // round(0.2 × 44)
    expect(Array.from(stratifiedSplit(y, 0.2, 7).test)).toEqual(Array.from(s.test));
  });
});

describe("groupStratifiedSplit", () => {
  it("keeps each group on one side and stratifies by the group's majority label", () => {
    // 40 groups of sizes 1..4; group g has label g % 2, except one row of group 0 labelled 1.
    const y: number[] = [];
    const groups: number[] = [];
    for (let g = 0; g < 40; g++) {
      for (let k = 0; k <= g % 4; k++) {
        y.push(g % 2);
        groups.push(g);
      }
    }
    y[0] = 1; // group 0 has one row; its majority (only) label is now 1
    const Y = Int32Array.from(y);
    const G = Int32Array.from(groups);
    const s = groupStratifiedSplit(Y, G, 0.25, 3);
    expectPartition(Y.length, s);
    const testGroups = new Set(Array.from(s.test, (r) => G[r]));
    const trainGroups = new Set(Array.from(s.train, (r) => G[r]));
    for (const g of testGroups) expect(trainGroups.has(g)).toBe(false);
    // Even groups (sizes 1, 3) are label 0: 40 rows, less the row of group 0, now label 1 → 39;
    // odd groups (sizes 2, 4): 60 rows + 1 → 61. Test aims at round(0.25 × rows) per class, and
    // greedy group-by-group filling ends within half the largest group (2 rows) of it.
    const t = counts(Y, s.test);
    expect(Math.abs(t.get(0)! - 10)).toBeLessThanOrEqual(2);
    expect(Math.abs(t.get(1)! - 15)).toBeLessThanOrEqual(2);
    expect(Array.from(groupStratifiedSplit(Y, G, 0.25, 3).test)).toEqual(Array.from(s.test));
  });

  it("refuses mismatched lengths and a class with a single group", () => {
    expect(
      splitError(() => groupStratifiedSplit(Int32Array.from([0, 1]), Int32Array.from([0]), 0.5, 1)).code,
    ).toBe("NW_SPLIT_INVALID");
    const e = splitError(() =>
      groupStratifiedSplit(Int32Array.from([0, 0, 1, 1]), Int32Array.from([0, 1, 2, 2]), 0.5, 1),
    );
    expect(e.message).toContain("class 1 has only 1 group");
  });

  it("removes duplicate leakage on the real phishing data (groups = identical rows)", async () => {
    const { table } = await readCsv(join(dataDir(), "phishing_websites.csv"));
    const features = table.names.filter((n) => n !== "Result");
    const groups = rowKeys(table, features);
    const y = Int32Array.from(table.numeric("Result").values, (v) => (v === 1 ? 1 : 0));
    const s = groupStratifiedSplit(y, groups, 0.2, 11);
    expectPartition(11_055, s);
    const inTrain = new Set(Array.from(s.train, (r) => groups[r]));
    expect(Array.from(s.test).some((r) => inTrain.has(groups[r]))).toBe(false);
    expect(s.test.length / 11_055).toBeCloseTo(0.2, 2);
    const share = counts(y, s.test).get(1)! / s.test.length;
    expect(share).toBeCloseTo(6157 / 11_055, 1);
  });
});
