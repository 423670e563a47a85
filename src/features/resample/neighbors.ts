import { NetwardenError } from "../../core/index.js";

export type NeighborMetric = "euclidean" | "manhattan";
export type NeighborAlgorithm = "kd_tree" | "brute";

export interface NeighborIndexOptions {
  metric?: NeighborMetric;
  /**
   * auto (default): a k-d tree when a probe search shows that it pays, brute force otherwise (on
   * data without low-dimensional structure a tree prunes nothing and is slower than a scan).
   */
  algorithm?: NeighborAlgorithm | "auto";
  /** Most distinct points in a k-d tree leaf (default 8). */
  leafSize?: number;
  /** Neighbours the searches will ask for (default 5), for the probe of `auto`. */
  k?: number;
}

/** k nearest neighbours of a run of query rows: row-major nQueries × k, nearest first. */
export interface NeighborResult {
  indices: Int32Array;
  distances: Float64Array;
}

/**
 * Everything a search needs, as typed arrays only: what `NeighborIndex.state` returns and
 * `NeighborIndex.fromState` takes, so a worker thread can search an index built elsewhere
 * (backed by SharedArrayBuffers, nothing is copied).
 */
export interface NeighborIndexState {
  nRows: number;
  nCols: number;
  metric: NeighborMetric;
  algorithm: NeighborAlgorithm;
  cols: Int32Array;
  pts: Float64Array;
  memberStart: Int32Array;
  members: Int32Array;
  tree: KdTree | null;
}

interface KdTree {
  /** Range [start, end) of distinct points of each node; children of node i: left[i], left[i] + 1. */
  start: Int32Array;
  end: Int32Array;
  /** First child, −1 for a leaf. */
  left: Int32Array;
  /** Split column and value: the left child holds values ≤ splitVal, the right ≥ splitVal. */
  splitDim: Int32Array;
  splitVal: Float64Array;
  /** Smallest row in the subtree, for pruning ties. */
  minId: Int32Array;
  /** Bounding box per node, nNodes × nCols each. */
  lo: Float64Array;
  hi: Float64Array;
  depth: number;
}

// Brute force runs a block of queries over a block of points at a time: 256 points × 100 columns
// is 200 kB, so a block stays in L2 cache while every query of the block passes over it.
const BRUTE_POINT_BLOCK = 256;
const BRUTE_QUERY_BLOCK = 64;
// `auto` keeps the tree when probe queries touch (scan or bound) fewer than this share of the
// distinct points: a touch in the tree costs a few times a brute-force one, which streams
// through cache-sized blocks (measured: the tree wins on UNSW-NB15 and phishing at 0.02–0.2,
// loses on 30- to 90-dimensional Gaussian noise at 1.1–1.4).
const TREE_WORK_LIMIT = 0.3;
const PROBE_QUERIES = 64;
/** Below this many distinct points `auto` scans without a tree. */
const TREE_MIN_POINTS = 256;
// A partial distance is compared with the current k-th one every this many columns.
const EXIT_STRIDE = 8;

/**
 * Exact k-nearest-neighbour search over the rows of a dense matrix, by a k-d tree with per-node
 * bounding boxes or by blocked brute force. Both give the same answer to the bit: neighbours are
 * ordered by (distance, row), so equal distances go to the lower row first, and the tree prunes a
 * node only when its box shows that no point inside can beat the current k-th neighbour. A box
 * bound and a point distance sum their terms in the same column order and floating-point rounding
 * is monotone, so a bound never exceeds a computed distance and pruning never changes the answer.
 *
 * Identical rows are stored once with the list of their row numbers, so a distance is computed
 * once per distinct point (network data repeats rows a lot: a third of UNSW-NB15 are duplicates).
 * Columns are visited by decreasing variance, so that a partial sum passes the current k-th
 * distance, and the scan of a point stops, as early as possible.
 */
export class NeighborIndex {
  readonly nRows: number;
  readonly nCols: number;
  readonly metric: NeighborMetric;
  readonly algorithm: NeighborAlgorithm;
  /** Number of distinct rows. */
  readonly nDistinct: number;
  /** Input column at each position of a stored point. */
  private readonly cols: Int32Array;
  /** Distinct points in index order (tree order for the k-d tree), row-major, `cols` order. */
  private readonly pts: Float64Array;
  /** Rows equal to distinct point p: members[memberStart[p] .. memberStart[p + 1]), ascending. */
  private readonly memberStart: Int32Array;
  private readonly members: Int32Array;
  private readonly tree: KdTree | null;
  /** Points scanned and boxes bounded by tree searches so far (to judge whether the tree pays). */
  readonly work = { scanned: 0, bounded: 0 };

  private constructor(s: NeighborIndexState) {
    this.nRows = s.nRows;
    this.nCols = s.nCols;
    this.metric = s.metric;
    this.algorithm = s.algorithm;
    this.nDistinct = s.memberStart.length - 1;
    this.cols = s.cols;
    this.pts = s.pts;
    this.memberStart = s.memberStart;
    this.members = s.members;
    this.tree = s.tree;
  }

  /**
   * Indexes the rows of `data` (row-major nRows × nCols, finite: callers check and name bad
   * cells). With `shared`, every array lives in a SharedArrayBuffer, ready for worker threads.
   */
  static build(
    data: Float64Array,
    nRows: number,
    nCols: number,
    options: NeighborIndexOptions = {},
    shared = false,
  ): NeighborIndex {
    const metric = options.metric ?? "euclidean";
    const requested = options.algorithm ?? "auto";
    const leafSize = options.leafSize ?? 8;
    if (data.length !== nRows * nCols || nRows < 1 || nCols < 1 || !(leafSize >= 1)) {
      throw new NetwardenError(
        "NW_INTERNAL",
        `neighbour index over ${nRows} × ${nCols} got ${data.length} values`,
        {
          hint: "This is a bug in netwarden; please report it",
        },
      );
    }
    const alloc = shared ? sharedAllocator : plainAllocator;
    const cols = columnsByVariance(data, nRows, nCols);
    const { groupStart, groupRows } = groupIdentical(data, nRows, nCols);
    const nDistinct = groupStart.length - 1;
    const rep = new Float64Array(nDistinct * nCols);
    for (let g = 0; g < nDistinct; g++) {
      const r = groupRows[groupStart[g]] * nCols;
      for (let c = 0; c < nCols; c++) rep[g * nCols + c] = data[r + cols[c]];
    }
    const order = new Int32Array(nDistinct);
    for (let g = 0; g < nDistinct; g++) order[g] = g;
    const useTree = requested === "kd_tree" || (requested === "auto" && nDistinct >= TREE_MIN_POINTS);
    const tree = useTree ? buildKdTree(rep, nDistinct, nCols, leafSize, order, alloc) : null;
    if (tree) {
      // Groups list their rows in ascending order, so a group's smallest row is its first.
      for (let node = tree.start.length - 1; node >= 0; node--) {
        const l = tree.left[node];
        if (l >= 0) tree.minId[node] = Math.min(tree.minId[l], tree.minId[l + 1]);
        else {
          let m = 0x7fffffff;
          for (let p = tree.start[node]; p < tree.end[node]; p++)
            m = Math.min(m, groupRows[groupStart[order[p]]]);
          tree.minId[node] = m;
        }
      }
    }
    const pts = alloc.f64(nDistinct * nCols);
    const memberStart = alloc.i32(nDistinct + 1);
    const members = alloc.i32(nRows);
    let m = 0;
    for (let p = 0; p < nDistinct; p++) {
      const g = order[p];
      pts.set(rep.subarray(g * nCols, g * nCols + nCols), p * nCols);
      memberStart[p] = m;
      for (let a = groupStart[g]; a < groupStart[g + 1]; a++) members[m++] = groupRows[a];
    }
    memberStart[nDistinct] = m;
    const colsOut = alloc.i32(nCols);
    colsOut.set(cols);
    const state: NeighborIndexState = {
      nRows,
      nCols,
      metric,
      algorithm: tree ? "kd_tree" : "brute",
      cols: colsOut,
      pts,
      memberStart,
      members,
      tree,
    };
    const index = new NeighborIndex(state);
    if (requested !== "auto" || !tree) return index;
    // Probe with evenly spaced distinct points as queries; they find themselves, hence k + 1.
    const probes = Math.min(PROBE_QUERIES, nDistinct);
    const queries = new Float64Array(probes * nCols);
    for (let i = 0; i < probes; i++) {
      const row = groupRows[groupStart[Math.floor((i * nDistinct) / probes)]];
      queries.set(data.subarray(row * nCols, row * nCols + nCols), i * nCols);
    }
    index.kneighbors(queries, Math.min((options.k ?? 5) + 1, nRows));
    const touched = (index.work.scanned + index.work.bounded) / probes;
    index.work.scanned = index.work.bounded = 0;
    return touched <= TREE_WORK_LIMIT * nDistinct
      ? index
      : new NeighborIndex({ ...state, algorithm: "brute", tree: null });
  }

  /** An index over the arrays of another index's `state` (no copy). */
  static fromState(s: NeighborIndexState): NeighborIndex {
    return new NeighborIndex(s);
  }

  get state(): NeighborIndexState {
    return {
      nRows: this.nRows,
      nCols: this.nCols,
      metric: this.metric,
      algorithm: this.algorithm,
      cols: this.cols,
      pts: this.pts,
      memberStart: this.memberStart,
      members: this.members,
      tree: this.tree,
    };
  }

  /** The k nearest indexed rows of each row of `queries` (row-major, nCols wide), nearest first. */
  kneighbors(queries: Float64Array, k: number): NeighborResult {
    const nQueries = queries.length / this.nCols;
    const out = { indices: new Int32Array(nQueries * k), distances: new Float64Array(nQueries * k) };
    this.search(queries, 0, nQueries, k, out);
    return out;
  }

  /**
   * The k nearest other rows of every indexed row (row-major nRows × k, nearest first). Each
   * distinct point is searched once for k + 1 rows; a row's answer is that list without itself.
   */
  selfNeighbors(k: number): NeighborResult {
    const d = this.nCols;
    const n = this.nDistinct;
    const { cols, pts, memberStart, members } = this;
    if (!Number.isInteger(k) || k < 1 || k >= this.nRows) {
      throw new NetwardenError("NW_INTERNAL", `cannot return ${k} other rows out of ${this.nRows}`, {
        hint: "This is a bug in netwarden; please report it",
      });
    }
    const queries = new Float64Array(n * d);
    for (let p = 0; p < n; p++) for (let c = 0; c < d; c++) queries[p * d + cols[c]] = pts[p * d + c];
    const k1 = k + 1;
    const found = this.kneighbors(queries, k1);
    const out = { indices: new Int32Array(this.nRows * k), distances: new Float64Array(this.nRows * k) };
    for (let p = 0; p < n; p++) {
      for (let m = memberStart[p]; m < memberStart[p + 1]; m++) {
        const row = members[m];
        let o = row * k;
        for (let a = p * k1; a < p * k1 + k1 && o < row * k + k; a++) {
          if (found.indices[a] === row) continue;
          out.indices[o] = found.indices[a];
          out.distances[o++] = found.distances[a];
        }
      }
    }
    return out;
  }

  /** `kneighbors` for query rows [from, to), written to rows 0 .. to − from of `out`. */
  search(queries: Float64Array, from: number, to: number, k: number, out: NeighborResult): void {
    if (!Number.isInteger(k) || k < 1 || k > this.nRows || out.indices.length < (to - from) * k) {
      throw new NetwardenError("NW_INTERNAL", `cannot return ${k} neighbours out of ${this.nRows} rows`, {
        hint: "This is a bug in netwarden; please report it",
      });
    }
    if (this.tree) this.searchTree(queries, from, to, k, out);
    else this.searchBrute(queries, from, to, k, out);
  }

  private searchTree(queries: Float64Array, from: number, to: number, k: number, out: NeighborResult): void {
    const t = this.tree as KdTree;
    const d = this.nCols;
    const { cols, pts, memberStart, members } = this;
    const { lo, hi, left, start, end, minId, splitDim, splitVal } = t;
    const manhattan = this.metric === "manhattan";
    const top = new TopK(k);
    const x = new Float64Array(d);
    const stack = new Int32Array(t.depth + 2);
    const stackB = new Float64Array(t.depth + 2);
    let scanned = 0;
    let bounded = 0;
    for (let q = from; q < to; q++) {
      for (let c = 0; c < d; c++) x[c] = queries[q * d + cols[c]];
      top.reset();
      let sp = 0;
      stack[sp] = 0;
      stackB[sp++] = 0;
      while (sp > 0) {
        let node = stack[--sp];
        if (top.full()) {
          // A point at the bound only ties the k-th neighbour, and wins the tie with a lower row.
          const b = stackB[sp];
          if (b > top.worstD || (b === top.worstD && minId[node] > top.worstI)) continue;
          const o = node * d;
          const worst = top.worstD;
          let s = 0;
          for (let j = 0; j < d && s <= worst; j++) {
            const v = x[j];
            const l = lo[o + j];
            const h = hi[o + j];
            const gap = v < l ? l - v : v > h ? v - h : 0;
            s += manhattan ? gap : gap * gap;
          }
          bounded++;
          if (s > worst || (s === worst && minId[node] > top.worstI)) continue;
        }
        // Down to a leaf through the nearer children; each farther one waits on the stack with the
        // gap to its splitting plane as a first, cheap bound.
        for (let l = left[node]; l >= 0; l = left[node]) {
          const gap = x[splitDim[node]] - splitVal[node];
          if (gap < 0) {
            stack[sp] = l + 1;
            stackB[sp++] = manhattan ? -gap : gap * gap;
            node = l;
          } else {
            stack[sp] = l;
            stackB[sp++] = manhattan ? gap : gap * gap;
            node = l + 1;
          }
        }
        const stop = end[node];
        scanned += stop - start[node];
        for (let p = start[node]; p < stop; p++) {
          const s = manhattan ? l1(x, 0, pts, p * d, d, top.worstD) : l2sq(x, 0, pts, p * d, d, top.worstD);
          top.offer(s, members, memberStart[p], memberStart[p + 1]);
        }
      }
      top.write(out, (q - from) * k, manhattan);
    }
    this.work.scanned += scanned;
    this.work.bounded += bounded;
  }

  private searchBrute(queries: Float64Array, from: number, to: number, k: number, out: NeighborResult): void {
    const d = this.nCols;
    const n = this.nDistinct;
    const { cols, pts, memberStart, members } = this;
    const manhattan = this.metric === "manhattan";
    const tops = Array.from({ length: BRUTE_QUERY_BLOCK }, () => new TopK(k));
    const x = new Float64Array(BRUTE_QUERY_BLOCK * d);
    for (let q0 = from; q0 < to; q0 += BRUTE_QUERY_BLOCK) {
      const q1 = Math.min(to, q0 + BRUTE_QUERY_BLOCK);
      for (let q = q0; q < q1; q++) {
        for (let c = 0; c < d; c++) x[(q - q0) * d + c] = queries[q * d + cols[c]];
        tops[q - q0].reset();
      }
      for (let p0 = 0; p0 < n; p0 += BRUTE_POINT_BLOCK) {
        const p1 = Math.min(n, p0 + BRUTE_POINT_BLOCK);
        for (let q = q0; q < q1; q++) {
          const top = tops[q - q0];
          const xo = (q - q0) * d;
          for (let p = p0; p < p1; p++) {
            const s = manhattan
              ? l1(x, xo, pts, p * d, d, top.worstD)
              : l2sq(x, xo, pts, p * d, d, top.worstD);
            top.offer(s, members, memberStart[p], memberStart[p + 1]);
          }
        }
      }
      for (let q = q0; q < q1; q++) tops[q - q0].write(out, (q - from) * k, manhattan);
    }
  }
}

/**
 * Squared euclidean distance, summed column by column; stops early (with a partial sum above
 * `worst`) once it cannot be among the k nearest.
 */
function l2sq(x: Float64Array, xo: number, pts: Float64Array, po: number, d: number, worst: number): number {
  let s = 0;
  let j = 0;
  while (j < d) {
    const stop = Math.min(j + EXIT_STRIDE, d);
    for (; j < stop; j++) {
      const diff = x[xo + j] - pts[po + j];
      s += diff * diff;
    }
    if (s > worst) return s;
  }
  return s;
}

function l1(x: Float64Array, xo: number, pts: Float64Array, po: number, d: number, worst: number): number {
  let s = 0;
  let j = 0;
  while (j < d) {
    const stop = Math.min(j + EXIT_STRIDE, d);
    for (; j < stop; j++) s += Math.abs(x[xo + j] - pts[po + j]);
    if (s > worst) return s;
  }
  return s;
}

/** The k best (distance, row) pairs seen so far, in a max-heap whose root is the k-th. */
class TopK {
  readonly k: number;
  private readonly dist: Float64Array;
  private readonly id: Int32Array;
  private size = 0;
  worstD = Number.POSITIVE_INFINITY;
  worstI = 0x7fffffff;

  constructor(k: number) {
    this.k = k;
    this.dist = new Float64Array(k);
    this.id = new Int32Array(k);
  }

  reset(): void {
    this.size = 0;
    this.worstD = Number.POSITIVE_INFINITY;
    this.worstI = 0x7fffffff;
  }

  full(): boolean {
    return this.size === this.k;
  }

  /** Offers rows members[a..b) (ascending) at distance s. */
  offer(s: number, members: Int32Array, a: number, b: number): void {
    for (let m = a; m < b; m++) {
      const row = members[m];
      if (this.size < this.k) this.push(s, row);
      // The rest of the group ties at a higher row, so it cannot get in either.
      else if (s < this.worstD || (s === this.worstD && row < this.worstI)) this.replaceTop(s, row);
      else return;
    }
  }

  private push(s: number, row: number): void {
    const hd = this.dist;
    const hi = this.id;
    let c = this.size++;
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (hd[p] > s || (hd[p] === s && hi[p] > row)) break;
      hd[c] = hd[p];
      hi[c] = hi[p];
      c = p;
    }
    hd[c] = s;
    hi[c] = row;
    if (this.size === this.k) {
      this.worstD = hd[0];
      this.worstI = hi[0];
    }
  }

  private replaceTop(s: number, row: number): void {
    const hd = this.dist;
    const hi = this.id;
    const size = this.size;
    let c = 0;
    for (;;) {
      const l = 2 * c + 1;
      if (l >= size) break;
      let m = l;
      const r = l + 1;
      if (r < size && (hd[r] > hd[l] || (hd[r] === hd[l] && hi[r] > hi[l]))) m = r;
      if (hd[m] < s || (hd[m] === s && hi[m] < row)) break;
      hd[c] = hd[m];
      hi[c] = hi[m];
      c = m;
    }
    hd[c] = s;
    hi[c] = row;
    this.worstD = hd[0];
    this.worstI = hi[0];
  }

  /** Writes the k pairs sorted by (distance, row) at `o`, square-rooting euclidean distances. */
  write(out: NeighborResult, o: number, manhattan: boolean): void {
    const od = out.distances;
    const oi = out.indices;
    for (let a = 0; a < this.k; a++) {
      const s = this.dist[a];
      const row = this.id[a];
      let b = o + a;
      while (b > o && (od[b - 1] > s || (od[b - 1] === s && oi[b - 1] > row))) {
        od[b] = od[b - 1];
        oi[b] = oi[b - 1];
        b--;
      }
      od[b] = s;
      oi[b] = row;
    }
    if (!manhattan) for (let a = o; a < o + this.k; a++) od[a] = Math.sqrt(od[a]);
  }
}

interface Allocator {
  f64(n: number): Float64Array;
  i32(n: number): Int32Array;
}

const plainAllocator: Allocator = { f64: (n) => new Float64Array(n), i32: (n) => new Int32Array(n) };
const sharedAllocator: Allocator = {
  f64: (n) => new Float64Array(new SharedArrayBuffer(8 * n)),
  i32: (n) => new Int32Array(new SharedArrayBuffer(4 * n)),
};

/** Column indices by decreasing variance (ties: lower column first). */
function columnsByVariance(data: Float64Array, n: number, d: number): Int32Array {
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const e = data[i * d + j] - mean[j];
      m2[j] += e * e;
    }
  }
  return Int32Array.from({ length: d }, (_, j) => j).sort((a, b) => m2[b] - m2[a] || a - b);
}

/**
 * Groups identical rows: group g holds rows groupRows[groupStart[g] .. groupStart[g + 1]), in
 * ascending order, and groups are numbered in the order of their first row.
 */
function groupIdentical(
  data: Float64Array,
  n: number,
  d: number,
): { groupStart: Int32Array; groupRows: Int32Array } {
  const groupOf = new Int32Array(n);
  const firstRow: number[] = [];
  const nextInBucket: number[] = [];
  const bucketHead = new Map<number, number>();
  const bits = new Float64Array(1);
  const words = new Int32Array(bits.buffer);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let h = 0x811c9dc5;
    for (let j = 0; j < d; j++) {
      // + 0 turns −0 into 0: they are the same coordinate.
      bits[0] = data[o + j] + 0;
      h = Math.imul(h ^ words[0], 0x01000193);
      h = Math.imul(h ^ words[1], 0x01000193);
    }
    let g = bucketHead.get(h) ?? -1;
    while (g >= 0) {
      const r = firstRow[g] * d;
      let same = true;
      for (let j = 0; j < d; j++) {
        if (data[r + j] !== data[o + j]) {
          same = false;
          break;
        }
      }
      if (same) break;
      g = nextInBucket[g];
    }
    if (g < 0) {
      g = firstRow.length;
      firstRow.push(i);
      nextInBucket.push(bucketHead.get(h) ?? -1);
      bucketHead.set(h, g);
    }
    groupOf[i] = g;
  }
  const groups = firstRow.length;
  const groupStart = new Int32Array(groups + 1);
  for (let i = 0; i < n; i++) groupStart[groupOf[i] + 1]++;
  for (let g = 0; g < groups; g++) groupStart[g + 1] += groupStart[g];
  const fill = groupStart.slice(0, groups);
  const groupRows = new Int32Array(n);
  for (let i = 0; i < n; i++) groupRows[fill[groupOf[i]]++] = i;
  return { groupStart, groupRows };
}

/** Builds a k-d tree over row-major `pts`, leaving the tree order of the points in `order`. */
function buildKdTree(
  pts: Float64Array,
  n: number,
  d: number,
  leafSize: number,
  order: Int32Array,
  alloc: Allocator,
): KdTree {
  // Median splits leave at least ⌊(leafSize + 1) / 2⌋ points in a leaf, which bounds the node count.
  const cap = 2 * Math.ceil(n / Math.max(1, (leafSize + 1) >> 1)) + 1;
  const t: KdTree = {
    start: new Int32Array(cap),
    end: new Int32Array(cap),
    left: new Int32Array(cap),
    splitDim: new Int32Array(cap),
    splitVal: new Float64Array(cap),
    minId: new Int32Array(cap),
    lo: new Float64Array(cap * d),
    hi: new Float64Array(cap * d),
    depth: 0,
  };
  const count = buildNode(t, pts, d, leafSize, order, 0, 0, n, 1, 0);
  const cut = <T extends Int32Array | Float64Array>(a: T, len: number, make: (n: number) => T): T => {
    const b = make(len);
    b.set(a.subarray(0, len));
    return b;
  };
  return {
    start: cut(t.start, count, alloc.i32),
    end: cut(t.end, count, alloc.i32),
    left: cut(t.left, count, alloc.i32),
    splitDim: cut(t.splitDim, count, alloc.i32),
    splitVal: cut(t.splitVal, count, alloc.f64),
    minId: alloc.i32(count),
    lo: cut(t.lo, count * d, alloc.f64),
    hi: cut(t.hi, count * d, alloc.f64),
    depth: t.depth,
  };
}

/** Fills `node` over order[s..e) and its subtree; returns the next free node number. */
function buildNode(
  t: KdTree,
  pts: Float64Array,
  d: number,
  leafSize: number,
  order: Int32Array,
  node: number,
  s: number,
  e: number,
  next: number,
  level: number,
): number {
  if (level > t.depth) t.depth = level;
  t.start[node] = s;
  t.end[node] = e;
  const lo = t.lo;
  const hi = t.hi;
  const o = node * d;
  const r0 = order[s] * d;
  for (let j = 0; j < d; j++) lo[o + j] = hi[o + j] = pts[r0 + j];
  for (let p = s + 1; p < e; p++) {
    const r = order[p] * d;
    for (let j = 0; j < d; j++) {
      const v = pts[r + j];
      if (v < lo[o + j]) lo[o + j] = v;
      else if (v > hi[o + j]) hi[o + j] = v;
    }
  }
  let dim = 0;
  let spread = hi[o] - lo[o];
  for (let j = 1; j < d; j++) {
    if (hi[o + j] - lo[o + j] > spread) {
      spread = hi[o + j] - lo[o + j];
      dim = j;
    }
  }
  if (e - s <= leafSize || spread === 0) {
    t.left[node] = -1;
    return next;
  }
  const mid = (s + e) >>> 1;
  select(order, pts, d, dim, s, e - 1, mid);
  t.left[node] = next;
  t.splitDim[node] = dim;
  t.splitVal[node] = pts[order[mid] * d + dim];
  const after = buildNode(t, pts, d, leafSize, order, next, s, mid, next + 2, level + 1);
  return buildNode(t, pts, d, leafSize, order, next + 1, mid, e, after, level + 1);
}

/** Rearranges order[lo..hi] so that position k holds the element of rank k by column `dim`. */
function select(
  order: Int32Array,
  data: Float64Array,
  d: number,
  dim: number,
  lo: number,
  hi: number,
  k: number,
) {
  while (hi > lo) {
    const m = (lo + hi) >>> 1;
    // Median of three as pivot: deterministic, and no quadratic case on sorted input.
    const a = data[order[lo] * d + dim];
    const b = data[order[m] * d + dim];
    const c = data[order[hi] * d + dim];
    const pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (data[order[i] * d + dim] < pivot) i++;
      while (data[order[j] * d + dim] > pivot) j--;
      if (i <= j) {
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}
