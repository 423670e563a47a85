import { NetwardenError, Rng } from "../core/index.js";

/** Row indices of each side, ascending. */
export interface Split {
  train: Int32Array;
  test: Int32Array;
}

/**
 * Stratified train/test split (like scikit-learn's): each class is shuffled with the seed and
 * round(testSize × n_class) of its rows go to test, at least one and at most n_class − 1, so every
 * class is on both sides. Labels are class indices ≥ 0.
 */
export function stratifiedSplit(y: Int32Array, testSize: number, seed: number): Split {
  checkTestSize(testSize);
  const byClass = rowsByLabel(y);
  const rng = new Rng(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (const [label, rows] of byClass) {
    if (rows.length < 2) throw tooFew(label, rows.length, "row");
    rng.shuffle(rows);
    const nTest = clampSide(Math.round(testSize * rows.length), rows.length);
    for (let i = 0; i < rows.length; i++) (i < nTest ? test : train).push(rows[i]);
  }
  return { train: sorted(train), test: sorted(test) };
}

/**
 * Stratified split that keeps every group on one side (e.g. groups of identical rows from
 * `rowKeys`, so duplicates cannot leak from train into test). Groups are stratified by their
 * majority label (ties: the smaller label); within a class, groups are shuffled with the seed and
 * go to test while that brings the class's test rows closer to round(testSize × its rows).
 */
export function groupStratifiedSplit(
  y: Int32Array,
  groups: Int32Array,
  testSize: number,
  seed: number,
): Split {
  checkTestSize(testSize);
  if (groups.length !== y.length) {
    throw new NetwardenError(
      "NW_SPLIT_INVALID",
      `labels and groups differ in length (${y.length} and ${groups.length})`,
      { hint: "Pass one group id per row" },
    );
  }
  checkLabels(y);
  // Rows ordered by (group, label) so each group's label counts are one run.
  const order = Int32Array.from({ length: y.length }, (_, i) => i).sort(
    (a, b) => groups[a] - groups[b] || y[a] - y[b],
  );
  const groupRows: Int32Array[] = [];
  const majority: number[] = [];
  for (let s = 0; s < order.length; ) {
    const g = groups[order[s]];
    let e = s;
    let best = -1;
    let bestCount = 0;
    while (e < order.length && groups[order[e]] === g) {
      const label = y[order[e]];
      let f = e;
      while (f < order.length && groups[order[f]] === g && y[order[f]] === label) f++;
      if (f - e > bestCount) {
        best = label;
        bestCount = f - e;
      }
      e = f;
    }
    groupRows.push(order.slice(s, e));
    majority.push(best);
    s = e;
  }
  const byClass = new Map<number, number[]>();
  majority.forEach((label, gi) => {
    const list = byClass.get(label);
    if (list) list.push(gi);
    else byClass.set(label, [gi]);
  });
  const rng = new Rng(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const gs = byClass.get(label)!;
    if (gs.length < 2) throw tooFew(label, gs.length, "group");
    rng.shuffle(gs);
    let rows = 0;
    for (const g of gs) rows += groupRows[g].length;
    const target = Math.round(testSize * rows);
    const toTest = new Uint8Array(gs.length);
    let inTest = 0;
    let nTestGroups = 0;
    gs.forEach((g, k) => {
      const size = groupRows[g].length;
      if (Math.abs(inTest + size - target) < Math.abs(inTest - target)) {
        toTest[k] = 1;
        inTest += size;
        nTestGroups++;
      }
    });
    // Every class on both sides: move one group over when a side came out empty.
    if (nTestGroups === 0) toTest[0] = 1;
    else if (nTestGroups === gs.length) toTest[gs.length - 1] = 0;
    gs.forEach((g, k) => {
      for (const r of groupRows[g]) (toTest[k] ? test : train).push(r);
    });
  }
  return { train: sorted(train), test: sorted(test) };
}

function checkTestSize(testSize: number): void {
  if (!(testSize > 0 && testSize < 1)) {
    throw new NetwardenError(
      "NW_SPLIT_INVALID",
      `testSize must be between 0 and 1 (exclusive), got ${testSize}`,
      {
        where: "split.testSize",
        hint: "Use a fraction such as 0.2",
      },
    );
  }
}

/** Rows of each label, labels ascending. */
function rowsByLabel(y: Int32Array): Map<number, Int32Array> {
  const counts = checkLabels(y);
  const out = new Map<number, Int32Array>();
  const fill = new Map<number, number>();
  for (const label of [...counts.keys()].sort((a, b) => a - b)) {
    out.set(label, new Int32Array(counts.get(label)!));
    fill.set(label, 0);
  }
  for (let i = 0; i < y.length; i++) {
    const k = fill.get(y[i])!;
    out.get(y[i])![k] = i;
    fill.set(y[i], k + 1);
  }
  return out;
}

/** Rejects too few rows and missing (negative) labels; returns the count of each label. */
function checkLabels(y: Int32Array): Map<number, number> {
  if (y.length < 2) {
    throw new NetwardenError("NW_SPLIT_INVALID", `cannot split ${y.length} row(s) into train and test`, {
      hint: "Provide more data",
    });
  }
  const counts = new Map<number, number>();
  for (let i = 0; i < y.length; i++) {
    if (y[i] < 0) {
      throw new NetwardenError("NW_SPLIT_INVALID", `row ${i} has no label (class index ${y[i]})`, {
        where: `row ${i}`,
        hint: "Drop rows with a missing target before splitting (validation lists them)",
      });
    }
    counts.set(y[i], (counts.get(y[i]) ?? 0) + 1);
  }
  return counts;
}

function clampSide(nTest: number, n: number): number {
  return Math.min(n - 1, Math.max(1, nTest));
}

function tooFew(label: number, count: number, unit: "row" | "group"): NetwardenError {
  return new NetwardenError(
    "NW_SPLIT_INVALID",
    `class ${label} has only ${count} ${unit}${count === 1 ? "" : "s"}; a stratified split needs at least 2 per class`,
    {
      hint:
        unit === "row"
          ? "Drop or merge that class, or collect more rows of it"
          : "Drop or merge that class, or split without grouping (its rows are all identical)",
      details: { class: label, count },
    },
  );
}

function sorted(a: number[]): Int32Array {
  return Int32Array.from(a).sort();
}
