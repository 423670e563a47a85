import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dataDir } from "../core/index.js";
import { readCsv } from "./csv.js";
import { duplicateReport } from "./duplicates.js";
import { rowKeys, rowKeysAcross } from "./keys.js";
import { stratifiedSplit } from "./split.js";
import { categoricalColumn, numericColumn, Table } from "./table.js";

describe("rowKeys", () => {
  it("gives identical rows the same id, in order of first appearance", () => {
    const t = new Table([
      numericColumn("a", [1, 2, 1, Number.NaN, Number.NaN, 0, -0]),
      categoricalColumn("b", ["x", "y", "x", null, null, "z", "z"]),
    ]);
    expect(Array.from(rowKeys(t, ["a", "b"]))).toEqual([0, 1, 0, 2, 2, 3, 3]);
    expect(Array.from(rowKeys(t, ["b"]))).toEqual([0, 1, 0, 2, 2, 3, 3]);
  });

  it("compares categorical values by text across tables with different dictionaries", () => {
    const t1 = new Table([categoricalColumn("c", ["a", "b"]), numericColumn("n", [1, 2])]);
    const t2 = new Table([categoricalColumn("c", ["b", "a", "c"]), numericColumn("n", [2, 1, 1])]);
    const { keys, nKeys } = rowKeysAcross([t1, t2], ["c", "n"]);
    expect(Array.from(keys[0])).toEqual([0, 1]);
    expect(Array.from(keys[1])).toEqual([1, 0, 2]);
    expect(nKeys).toBe(3);
  });
});

describe("duplicateReport", () => {
  it("counts duplicates, leakage and conflicting labels on a hand-made pair of tables", () => {
    const train = new Table([
      numericColumn("f", [1, 1, 2, 3, 3]),
      categoricalColumn("y", ["a", "a", "b", "a", "b"]),
    ]);
    const test = new Table([numericColumn("f", [2, 4, 4, 1]), categoricalColumn("y", ["a", "b", "b", "a"])]);
    const r = duplicateReport(train, test, ["f"], "y");
    expect(r.train).toEqual({ rows: 5, distinct: 4, duplicates: 1 });
    expect(r.test).toEqual({ rows: 4, distinct: 3, duplicates: 1 });
    // Test rows with f = 2 and f = 1 also occur in train.
    expect(r.leakage).toEqual({ testRows: 2, share: 0.5 });
    // f = 3 (a and b in train) and f = 2 (b in train, a in test): 2 vectors, 2 + 2 rows.
    expect(r.conflicts).toEqual({ vectors: 2, rows: 4 });
  });

  it("phishing: 5,206 rows repeat an earlier row and 64 feature vectors carry both labels", async () => {
    const { table } = await readCsv(join(dataDir(), "phishing_websites.csv"));
    const features = table.names.filter((n) => n !== "Result");
    const whole = duplicateReport(table, null, features, "Result");
    expect(whole.train).toEqual({ rows: 11_055, distinct: 5849, duplicates: 5206 });
    expect(whole.conflicts.vectors).toBe(64);
    expect(whole.leakage).toBeNull();
    // Split at random, the same facts hold over both sides together, and duplicates leak.
    const y = Int32Array.from(table.numeric("Result").values, (v) => (v === 1 ? 1 : 0));
    const s = stratifiedSplit(y, 0.2, 5);
    const r = duplicateReport(table.take(s.train), table.take(s.test), features, "Result");
    expect(r.conflicts.vectors).toBe(64);
    expect(r.train.rows + (r.test?.rows ?? 0)).toBe(11_055);
    expect(r.leakage!.testRows).toBeGreaterThan(0.4 * s.test.length);
  });

  it("UNSW-NB15: duplicates and label conflicts as documented", async () => {
    const { table } = await readCsv(join(dataDir(), "unsw_nb15_testing.csv.gz"));
    const features = table.names.filter((n) => !["id", "attack_cat", "label"].includes(n));
    const byCat = duplicateReport(table, null, features, "attack_cat");
    expect(byCat.train.duplicates).toBe(26_387);
    expect(byCat.conflicts.vectors).toBe(575);
    expect(duplicateReport(table, null, features, "label").conflicts.vectors).toBe(6);
    expect(rowKeysAcross([table], features).nKeys).toBe(53_946);
  });
});
