import { NetwardenError, Rng } from "../core/index.js";

export interface Fold {
  /** Sorted row indices. */
  train: Int32Array;
  /** Sorted row indices. */
  test: Int32Array;
}

/** Row indices of each class, in row order. */
function rowsByClass(y: Int32Array): Int32Array[] {
  let K = 0;
  for (let i = 0; i < y.length; i++) {
    if (!(y[i] >= 0)) {
      throw new NetwardenError("NW_SPLIT_INVALID", `label ${y[i]} at row ${i} is not a class index`, {
        where: `labels row ${i}`,
        hint: "Labels must be class indices 0..K-1",
      });
    }
    if (y[i] + 1 > K) K = y[i] + 1;
  }
  const counts = new Int32Array(K);
  for (let i = 0; i < y.length; i++) counts[y[i]]++;
  const out = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(K);
  for (let i = 0; i < y.length; i++) out[y[i]][fill[y[i]]++] = i;
  return out;
}

/**
 * Stratified k-fold: each class's rows are shuffled with the seed and dealt round-robin over the
 * folds, continuing from where the previous class stopped, so every fold keeps the class
 * proportions and fold sizes differ by at most one.
 */
export function stratifiedKFold(y: Int32Array, k: number, seed: number): Fold[] {
  if (!Number.isInteger(k) || k < 2) {
    throw new NetwardenError("NW_SPLIT_INVALID", `k-fold needs an integer k ≥ 2, got ${k}`, {
      where: "cross-validation folds",
      hint: "Use e.g. 5 folds",
      details: { k },
    });
  }
  const byClass = rowsByClass(y);
  for (let c = 0; c < byClass.length; c++) {
    const m = byClass[c].length;
    if (m > 0 && m < k) {
      throw new NetwardenError("NW_SPLIT_INVALID", `class ${c} has ${m} rows, fewer than the ${k} folds`, {
        where: "cross-validation folds",
        hint: `Use at most ${m} folds, or gather more rows of class ${c}`,
        details: { class: c, rows: m, k },
      });
    }
  }
  const rng = new Rng(seed);
  const foldOf = new Int32Array(y.length);
  const sizes = new Int32Array(k);
  let next = 0;
  for (const rows of byClass) {
    const shuffled = rng.shuffle(Int32Array.from(rows));
    for (let i = 0; i < shuffled.length; i++) {
      foldOf[shuffled[i]] = next;
      sizes[next]++;
      next = (next + 1) % k;
    }
  }
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const test = new Int32Array(sizes[f]);
    const train = new Int32Array(y.length - sizes[f]);
    let a = 0;
    let b = 0;
    for (let i = 0; i < y.length; i++) {
      if (foldOf[i] === f) test[a++] = i;
      else train[b++] = i;
    }
    folds.push({ train, test });
  }
  return folds;
}

/**
 * One stratified train/test split: `testFraction` of each class (rounded, at least one row of
 * every class with two or more rows) goes to test. Used for hold-out sets such as early stopping.
 */
export function stratifiedHoldout(y: Int32Array, testFraction: number, seed: number): Fold {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new NetwardenError("NW_SPLIT_INVALID", `test fraction must be in (0, 1), got ${testFraction}`, {
      where: "hold-out split",
      hint: "Use e.g. 0.2",
      details: { testFraction },
    });
  }
  const byClass = rowsByClass(y);
  const rng = new Rng(seed);
  const isTest = new Uint8Array(y.length);
  let nTest = 0;
  for (let c = 0; c < byClass.length; c++) {
    const rows = byClass[c];
    if (rows.length === 0) continue;
    if (rows.length < 2) {
      throw new NetwardenError("NW_SPLIT_INVALID", `class ${c} has 1 row; it cannot be in both splits`, {
        where: "hold-out split",
        hint: "Drop the class or gather more rows of it",
        details: { class: c, rows: 1 },
      });
    }
    const m = Math.min(rows.length - 1, Math.max(1, Math.round(rows.length * testFraction)));
    const shuffled = rng.shuffle(Int32Array.from(rows));
    for (let i = 0; i < m; i++) isTest[shuffled[i]] = 1;
    nTest += m;
  }
  const test = new Int32Array(nTest);
  const train = new Int32Array(y.length - nTest);
  let a = 0;
  let b = 0;
  for (let i = 0; i < y.length; i++) {
    if (isTest[i]) test[a++] = i;
    else train[b++] = i;
  }
  return { train, test };
}

/**
 * Every combination of the grid's values, like sklearn's ParameterGrid: keys in sorted order,
 * the last key varying fastest, so the same grid always gives the same list.
 */
export function expandGrid(grid: Readonly<Record<string, readonly unknown[]>>): Record<string, unknown>[] {
  const keys = Object.keys(grid).sort();
  for (const key of keys) {
    const values = grid[key];
    if (!Array.isArray(values) || values.length === 0) {
      throw new NetwardenError("NW_CONFIG_INVALID_VALUE", `grid entry \`${key}\` must be a non-empty list`, {
        where: `search grid.${key}`,
        hint: "List the values to try, e.g. [3, 6, 9]",
        details: { param: key },
      });
    }
  }
  let out: Record<string, unknown>[] = [{}];
  for (const key of keys) {
    const next: Record<string, unknown>[] = [];
    for (const partial of out) for (const v of grid[key]) next.push({ ...partial, [key]: v });
    out = next;
  }
  return out;
}

/** A value drawn per candidate: a list to choose from, or a numeric range. */
export type Distribution =
  | readonly unknown[]
  /** Integers low..high, both included. */
  | { readonly dist: "int"; readonly low: number; readonly high: number }
  | { readonly dist: "uniform"; readonly low: number; readonly high: number }
  /** Uniform in log space: good for learning rates and penalties. */
  | { readonly dist: "loguniform"; readonly low: number; readonly high: number };

/**
 * `n` random candidates from `space` (keys drawn in sorted order, so the same seed gives the same
 * list). When every entry is a list, candidates are distinct grid points, and the whole grid is
 * returned (in grid order) if it has at most `n` points, as sklearn's ParameterSampler does.
 */
export function randomCandidates(
  space: Readonly<Record<string, Distribution>>,
  n: number,
  seed: number,
): Record<string, unknown>[] {
  if (!Number.isInteger(n) || n < 1) {
    throw new NetwardenError(
      "NW_CONFIG_INVALID_VALUE",
      `number of candidates must be an integer ≥ 1, got ${n}`,
      {
        where: "search n_candidates",
        hint: "Use e.g. 20",
      },
    );
  }
  const keys = Object.keys(space).sort();
  for (const key of keys) checkDistribution(key, space[key]);
  const rng = new Rng(seed);
  if (keys.every((k) => Array.isArray(space[k]))) {
    const grid = expandGrid(space as Record<string, readonly unknown[]>);
    if (grid.length <= n) return grid;
    const order = new Int32Array(grid.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    for (let i = 0; i < n; i++) {
      const j = i + rng.int(order.length - i);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return Array.from(order.subarray(0, n), (i) => grid[i]);
  }
  const out: Record<string, unknown>[] = [];
  for (let c = 0; c < n; c++) {
    const cand: Record<string, unknown> = {};
    for (const key of keys) {
      const d = space[key];
      if (Array.isArray(d)) cand[key] = d[rng.int(d.length)];
      else {
        const r = d as Exclude<Distribution, readonly unknown[]>;
        if (r.dist === "int") cand[key] = r.low + rng.int(r.high - r.low + 1);
        else if (r.dist === "uniform") cand[key] = r.low + rng.next() * (r.high - r.low);
        else cand[key] = Math.exp(Math.log(r.low) + rng.next() * (Math.log(r.high) - Math.log(r.low)));
      }
    }
    out.push(cand);
  }
  return out;
}

function checkDistribution(key: string, d: unknown): void {
  const fail = (what: string): never => {
    throw new NetwardenError("NW_CONFIG_INVALID_VALUE", `search space entry \`${key}\` ${what}`, {
      where: `search space.${key}`,
      hint: "Give a non-empty list, or { dist: int | uniform | loguniform, low, high } with low ≤ high",
      details: { param: key },
    });
  };
  if (Array.isArray(d)) {
    if (d.length === 0) fail("is an empty list");
    return;
  }
  if (!d || typeof d !== "object") fail("is neither a list nor a range");
  const r = d as { dist?: unknown; low?: unknown; high?: unknown };
  if (r.dist !== "int" && r.dist !== "uniform" && r.dist !== "loguniform")
    fail(`has unknown dist ${String(r.dist)}`);
  const { low, high } = r;
  if (
    typeof low !== "number" ||
    typeof high !== "number" ||
    !Number.isFinite(low) ||
    !Number.isFinite(high)
  ) {
    fail("needs finite numbers low and high");
  }
  if ((low as number) > (high as number)) fail(`has low ${low} above high ${high}`);
  if (r.dist === "int" && !(Number.isInteger(low) && Number.isInteger(high)))
    fail("needs integer low and high");
  if (r.dist === "loguniform" && (low as number) <= 0) fail("needs low > 0 for a log scale");
}
