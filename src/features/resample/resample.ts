import { NetwardenError, Rng } from "../../core/index.js";
import { NeighborIndex } from "./neighbors.js";

/**
 * The numeric matrix after preprocessing: element (i, j) is data[i · nCols + j] in "row" layout
 * and data[j · nRows + i] in "col" layout. It has the shape of ml's `Matrix`, so the pipeline's
 * matrices (column-major, built from the preprocessor's Float64Array columns) pass as they are,
 * and the resampled matrix comes back in the layout it came in.
 */
export interface NumericMatrix {
  readonly data: Float64Array | Float32Array;
  readonly nRows: number;
  readonly nCols: number;
  readonly layout: "row" | "col";
}

/**
 * Which classes to oversample and to what count (imbalanced-learn's `sampling_strategy`):
 * - "auto" / "not majority": every class but the majority, up to the majority's count;
 * - "minority": the smallest class only; "not minority": all but it; "all": every class;
 * - a number r in (0, 1], two classes only: the minority grows to ⌊r · majority count⌋;
 * - { class: count }: each listed class grows to `count` (class names when `classNames` is given,
 *   class indices otherwise).
 * Ties for majority or minority go to the lower class index, as in imbalanced-learn.
 */
export type OverSamplingStrategy =
  | "auto"
  | "not majority"
  | "minority"
  | "not minority"
  | "all"
  | number
  | Readonly<Record<string, number>>;

/**
 * Which classes Tomek links are cleaned from: "auto" / "not minority" (imbalanced-learn's
 * default: every class but the smallest), "majority", "not majority", "all", or a list of classes
 * (names when `classNames` is given, indices otherwise).
 */
export type CleaningStrategy =
  | "auto"
  | "not minority"
  | "majority"
  | "not majority"
  | "all"
  | readonly (string | number)[];

interface CommonOptions {
  /** Number of classes (default: largest label + 1); classes without rows count 0. */
  nClasses?: number;
  /** Class names, for messages and for naming classes in a strategy. */
  classNames?: readonly string[];
}

export interface SmoteOptions extends CommonOptions {
  /** Same-class neighbours a synthetic point may be drawn towards (default 5). */
  k_neighbors?: number;
  sampling_strategy?: OverSamplingStrategy;
  seed: number;
}

export interface TomekOptions extends CommonOptions {
  sampling_strategy?: CleaningStrategy;
}

export interface SmoteTomekOptions extends SmoteOptions {
  /** Classes the Tomek step cleans (default "all", as imbalanced-learn's SMOTETomek). */
  tomek_sampling_strategy?: CleaningStrategy;
}

/** Rows per class: before + added − removed = after. */
export interface ResampleSummary {
  method: "smote" | "tomek_links" | "smote_tomek";
  classes: string[];
  before: number[];
  added: number[];
  removed: number[];
  after: number[];
}

export interface ResampleResult {
  /** Float64Array data in the input's layout. */
  X: NumericMatrix;
  y: Int32Array;
  summary: ResampleSummary;
}

/** Where each synthetic row came from: row = X[source] + step · (X[neighbor] − X[source]). */
export interface SyntheticRows {
  source: Int32Array;
  neighbor: Int32Array;
  step: Float64Array;
}

export interface SmoteResult extends ResampleResult {
  /** The output is the input rows, in order, followed by these synthetic rows. */
  synthetic: SyntheticRows;
}

export interface TomekResult extends ResampleResult {
  /** Input rows kept, ascending: the output rows in order (use it to subset sample weights). */
  kept: Int32Array;
}

export interface SmoteTomekResult extends ResampleResult {
  /** The SMOTE step's synthetic rows, numbered after the input rows. */
  synthetic: SyntheticRows;
  /** Rows of the SMOTE output (input rows, then synthetic ones) that the Tomek step kept. */
  kept: Int32Array;
}

/**
 * SMOTE (Chawla et al. 2002, imbalanced-learn's semantics): for each class to grow, the k nearest
 * same-class neighbours of each of its rows are found (exact search, ties by lower row); each new
 * row picks a (row, neighbour) pair uniformly and lies at x + u · (neighbour − x) with u uniform in
 * [0, 1). Seeded: the same seed gives the same rows, and each class draws from its own stream.
 * A row's neighbours never include the row itself, also when it has exact duplicates.
 */
export function smote(X: NumericMatrix, y: Int32Array, options: SmoteOptions): SmoteResult {
  const input = checkInput("smote", X, y, options);
  const k = options.k_neighbors ?? 5;
  if (!Number.isInteger(k) || k < 1) {
    throw invalid("smote", `k_neighbors is ${k}, expected an integer ≥ 1`, "k_neighbors", "Use e.g. 5");
  }
  if (typeof options.seed !== "number" || !Number.isFinite(options.seed)) {
    throw invalid("smote", `seed is ${String(options.seed)}`, "seed", "Pass the seed from the config");
  }
  const { counts, names, rows: Xr } = input;
  const grow = oversampleCounts(counts, names, options.sampling_strategy ?? "auto");
  const d = X.nCols;
  let total = 0;
  for (let c = 0; c < counts.length; c++) {
    if (grow[c] === 0) continue;
    total += grow[c];
    if (counts[c] < 2) {
      throw invalid(
        "smote",
        `class ${names[c]} has ${counts[c]} row${counts[c] === 1 ? "" : "s"}; SMOTE needs at least 2 to draw between`,
        "sampling_strategy",
        `Leave class ${names[c]} out of sampling_strategy, or gather more rows of it`,
        { class: names[c], rows: counts[c] },
      );
    }
    if (k >= counts[c]) {
      throw invalid(
        "smote",
        `k_neighbors is ${k} but class ${names[c]} has only ${counts[c]} rows (at most ${counts[c] - 1} neighbours each)`,
        "k_neighbors",
        `Use k_neighbors ≤ ${counts[c] - 1}, or leave class ${names[c]} out of sampling_strategy`,
        { class: names[c], rows: counts[c], k_neighbors: k },
      );
    }
  }
  const n = X.nRows;
  const out = new Float64Array((n + total) * d);
  out.set(Xr);
  const yOut = new Int32Array(n + total);
  yOut.set(y);
  const source = new Int32Array(total);
  const neighbor = new Int32Array(total);
  const step = new Float64Array(total);
  let next = 0;
  for (let c = 0; c < counts.length; c++) {
    if (grow[c] === 0) continue;
    const members = new Int32Array(counts[c]);
    for (let i = 0, f = 0; i < n; i++) if (y[i] === c) members[f++] = i;
    const m = members.length;
    const pts = new Float64Array(m * d);
    for (let a = 0; a < m; a++) pts.set(Xr.subarray(members[a] * d, members[a] * d + d), a * d);
    const nn = NeighborIndex.build(pts, m, d, { k }).selfNeighbors(k).indices;
    const rng = Rng.derive(options.seed, c);
    for (let s = 0; s < grow[c]; s++) {
      const pick = rng.int(m * k);
      const a = Math.floor(pick / k);
      const b = nn[pick];
      const u = rng.next();
      const o = (n + next) * d;
      for (let j = 0; j < d; j++) out[o + j] = pts[a * d + j] + u * (pts[b * d + j] - pts[a * d + j]);
      yOut[n + next] = c;
      source[next] = members[a];
      neighbor[next] = members[b];
      step[next] = u;
      next++;
    }
  }
  const after = counts.map((v, c) => v + grow[c]);
  return {
    X: fromRowMajor(out, n + total, d, X.layout),
    y: yOut,
    summary: {
      method: "smote",
      classes: names,
      before: counts,
      added: grow,
      removed: counts.map(() => 0),
      after,
    },
    synthetic: { source, neighbor, step },
  };
}

/**
 * Tomek links (imbalanced-learn's TomekLinks): two rows of different classes that are each
 * other's nearest neighbour form a link; the members of links that belong to the cleaned classes
 * are removed. Nearest means nearest other row (exact, ties by lower row), so exact duplicates
 * with different labels are links. (imbalanced-learn takes the second answer of a search that
 * includes the row itself, which for a duplicated row can be the row itself, and then misses
 * such links: on UNSW-NB15 it removes fewer rows.)
 */
export function tomekLinks(X: NumericMatrix, y: Int32Array, options: TomekOptions = {}): TomekResult {
  const { counts, names, rows: Xr } = checkInput("tomek_links", X, y, options);
  const clean = cleaningClasses(counts, names, options.sampling_strategy ?? "auto", "tomek_links");
  const n = X.nRows;
  const d = X.nCols;
  const nn = NeighborIndex.build(Xr, n, d, { k: 1 }).selfNeighbors(1).indices;
  const keep = new Uint8Array(n).fill(1);
  let kept = n;
  const removed = counts.map(() => 0);
  for (let i = 0; i < n; i++) {
    const j = nn[i];
    if (clean[y[i]] && y[j] !== y[i] && nn[j] === i) {
      keep[i] = 0;
      kept--;
      removed[y[i]]++;
    }
  }
  const rows = new Int32Array(kept);
  for (let i = 0, r = 0; i < n; i++) if (keep[i]) rows[r++] = i;
  const out = new Float64Array(kept * d);
  const yOut = new Int32Array(kept);
  for (let r = 0; r < kept; r++) {
    out.set(Xr.subarray(rows[r] * d, rows[r] * d + d), r * d);
    yOut[r] = y[rows[r]];
  }
  return {
    X: fromRowMajor(out, kept, d, X.layout),
    y: yOut,
    summary: {
      method: "tomek_links",
      classes: names,
      before: counts,
      added: counts.map(() => 0),
      removed,
      after: counts.map((v, c) => v - removed[c]),
    },
    kept: rows,
  };
}

/** SMOTE, then Tomek links on the result (imbalanced-learn's SMOTETomek). */
export function smoteTomek(X: NumericMatrix, y: Int32Array, options: SmoteTomekOptions): SmoteTomekResult {
  const over = smote(X, y, options);
  const clean = tomekLinks(over.X, over.y, {
    nClasses: over.summary.before.length,
    classNames: options.classNames,
    sampling_strategy: options.tomek_sampling_strategy ?? "all",
  });
  return {
    X: clean.X,
    y: clean.y,
    summary: {
      method: "smote_tomek",
      classes: over.summary.classes,
      before: over.summary.before,
      added: over.summary.added,
      removed: clean.summary.removed,
      after: clean.summary.after,
    },
    synthetic: over.synthetic,
    kept: clean.kept,
  };
}

function invalid(
  method: string,
  message: string,
  option: string,
  hint: string,
  details?: Record<string, unknown>,
): NetwardenError {
  return new NetwardenError("NW_TRANSFORM_INVALID", message, {
    where: `${method}: ${option}`,
    hint,
    details,
  });
}

/** Checks shapes, labels and values; returns class counts, class names and X row-major. */
function checkInput(
  method: string,
  X: NumericMatrix,
  y: Int32Array,
  options: CommonOptions,
): { counts: number[]; names: string[]; rows: Float64Array } {
  const ok =
    X !== null &&
    typeof X === "object" &&
    (X.data instanceof Float64Array || X.data instanceof Float32Array) &&
    Number.isInteger(X.nRows) &&
    Number.isInteger(X.nCols) &&
    X.nRows >= 0 &&
    X.nCols >= 0 &&
    (X.layout === "row" || X.layout === "col") &&
    X.data.length === X.nRows * X.nCols;
  if (!ok) {
    throw invalid(
      method,
      "X is not a matrix",
      "X",
      "Pass { data: Float64Array, nRows, nCols, layout: 'row' | 'col' }",
    );
  }
  if (X.nRows === 0 || X.nCols === 0) {
    throw invalid(
      method,
      `X has ${X.nRows} rows and ${X.nCols} columns`,
      "X",
      "Resample the training data after preprocessing",
    );
  }
  if (!(y instanceof Int32Array) || y.length !== X.nRows) {
    throw invalid(
      method,
      `X has ${X.nRows} rows but there are ${y?.length} labels`,
      "y",
      "Pass one Int32Array class index per row",
    );
  }
  let K = options.nClasses ?? 0;
  if (options.nClasses !== undefined && !(Number.isInteger(K) && K >= 1)) {
    throw invalid(method, `nClasses is ${K}`, "nClasses", "Pass the number of classes");
  }
  for (let i = 0; i < y.length; i++) {
    const c = y[i];
    if (c < 0 || (options.nClasses !== undefined && c >= options.nClasses)) {
      throw invalid(
        method,
        `label ${c} at row ${i} is not a class index${options.nClasses === undefined ? "" : ` below ${options.nClasses}`}`,
        `y row ${i}`,
        "Labels must be class indices 0..K-1",
      );
    }
    if (options.nClasses === undefined && c + 1 > K) K = c + 1;
  }
  const names = Array.from({ length: K }, (_, c) => options.classNames?.[c] ?? String(c));
  if (options.classNames !== undefined && options.classNames.length !== K) {
    throw invalid(
      method,
      `${options.classNames.length} class names for ${K} classes`,
      "classNames",
      "Give one name per class",
    );
  }
  const counts = new Array<number>(K).fill(0);
  for (let i = 0; i < y.length; i++) counts[y[i]]++;
  if (counts.filter((v) => v > 0).length < 2) {
    throw invalid(
      method,
      `y has only one class (${names[y[0]]})`,
      "y",
      "Resampling needs at least two classes",
    );
  }
  const n = X.nRows;
  const d = X.nCols;
  const rows = new Float64Array(n * d);
  const rowStride = X.layout === "row" ? d : 1;
  const colStride = X.layout === "row" ? 1 : n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = X.data[i * rowStride + j * colStride];
      if (!Number.isFinite(v)) {
        throw invalid(
          method,
          `X has ${v} at row ${i}, column ${j}`,
          `X row ${i}, column ${j}`,
          "Impute missing values before resampling",
          {
            row: i,
            column: j,
          },
        );
      }
      rows[i * d + j] = v;
    }
  }
  return { counts, names, rows };
}

/** Majority (or minority) class among those with rows; ties go to the lower class index. */
function extremeClass(counts: number[], largest: boolean): number {
  let best = -1;
  for (let c = 0; c < counts.length; c++) {
    if (counts[c] === 0) continue;
    if (best < 0 || (largest ? counts[c] > counts[best] : counts[c] < counts[best])) best = c;
  }
  return best;
}

/** Class index named by a strategy key: its name with `classNames`, its index otherwise. */
function classOf(key: string | number, names: string[], method: string, option: string): number {
  const c = names.indexOf(String(key));
  if (c < 0) {
    throw invalid(method, `${JSON.stringify(key)} is not a class`, option, `Classes: ${names.join(", ")}`);
  }
  return c;
}

/** Rows to add per class. */
function oversampleCounts(counts: number[], names: string[], strategy: OverSamplingStrategy): number[] {
  const grow = counts.map(() => 0);
  const majority = extremeClass(counts, true);
  const minority = extremeClass(counts, false);
  const nMaj = counts[majority];
  const upTo = (c: number) => {
    if (counts[c] > 0) grow[c] = nMaj - counts[c];
  };
  if (typeof strategy === "string") {
    switch (strategy) {
      case "auto":
      case "not majority":
        for (let c = 0; c < counts.length; c++) if (c !== majority) upTo(c);
        return grow;
      case "minority":
        upTo(minority);
        return grow;
      case "not minority":
        for (let c = 0; c < counts.length; c++) if (c !== minority) upTo(c);
        return grow;
      case "all":
        for (let c = 0; c < counts.length; c++) upTo(c);
        return grow;
    }
    throw invalid(
      "smote",
      `sampling_strategy ${JSON.stringify(strategy)} is not known`,
      "sampling_strategy",
      'Use "auto", "minority", "not minority", "not majority", "all", a ratio or { class: count }',
    );
  }
  if (typeof strategy === "number") {
    if (counts.filter((v) => v > 0).length !== 2) {
      throw invalid(
        "smote",
        "a ratio sampling_strategy only applies to two classes",
        "sampling_strategy",
        "Give { class: count } for more classes",
      );
    }
    if (!(strategy > 0 && strategy <= 1)) {
      throw invalid(
        "smote",
        `sampling_strategy ratio is ${strategy}`,
        "sampling_strategy",
        "Use a ratio in (0, 1]",
      );
    }
    // imbalanced-learn: int(n_majority · ratio − n_minority), same float arithmetic.
    const add = Math.trunc(nMaj * strategy - counts[minority]);
    if (add < 0) {
      throw invalid(
        "smote",
        `ratio ${strategy} asks for fewer ${names[minority]} rows than there are (${counts[minority]} of ${nMaj})`,
        "sampling_strategy",
        `Use a ratio ≥ ${counts[minority] / nMaj}`,
      );
    }
    grow[minority] = add;
    return grow;
  }
  if (strategy === null || typeof strategy !== "object" || Array.isArray(strategy)) {
    throw invalid(
      "smote",
      "sampling_strategy is not a name, a ratio or a mapping",
      "sampling_strategy",
      'Use e.g. "auto"',
    );
  }
  for (const [key, target] of Object.entries(strategy)) {
    const c = classOf(key, names, "smote", `sampling_strategy.${key}`);
    if (counts[c] === 0) {
      throw invalid(
        "smote",
        `class ${names[c]} has no rows to oversample`,
        `sampling_strategy.${key}`,
        "Leave it out",
      );
    }
    if (!(Number.isInteger(target) && target >= counts[c])) {
      throw invalid(
        "smote",
        `target ${target} for class ${names[c]} is below its ${counts[c]} rows`,
        `sampling_strategy.${key}`,
        `Oversampling only adds rows: use a whole number ≥ ${counts[c]}`,
      );
    }
    grow[c] = target - counts[c];
  }
  return grow;
}

/** Which classes lose the members of their Tomek links. */
function cleaningClasses(
  counts: number[],
  names: string[],
  strategy: CleaningStrategy,
  method: string,
): boolean[] {
  const clean = counts.map(() => false);
  const majority = extremeClass(counts, true);
  const minority = extremeClass(counts, false);
  if (Array.isArray(strategy)) {
    for (const key of strategy) clean[classOf(key, names, method, "sampling_strategy")] = true;
    return clean;
  }
  switch (strategy) {
    case "auto":
    case "not minority":
      return clean.map((_, c) => c !== minority);
    case "majority":
      clean[majority] = true;
      return clean;
    case "not majority":
      return clean.map((_, c) => c !== majority);
    case "all":
      return clean.map(() => true);
  }
  throw invalid(
    method,
    `sampling_strategy ${JSON.stringify(strategy)} is not known`,
    "sampling_strategy",
    'Use "auto", "majority", "not minority", "not majority", "all" or a list of classes',
  );
}

function fromRowMajor(rows: Float64Array, n: number, d: number, layout: "row" | "col"): NumericMatrix {
  if (layout === "row") return { data: rows, nRows: n, nCols: d, layout };
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[j * n + i] = rows[i * d + j];
  return { data, nRows: n, nCols: d, layout };
}
