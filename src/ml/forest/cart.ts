import type { Rng } from "../../core/index.js";
import { allocNodes, type TreeNodes } from "../tree/ensemble.js";
import { CartKernel } from "./cart-kernel.js";

/** Binned training data a classification tree is grown on (shared by all trees of a fit). */
export interface CartData {
  n: number;
  nFeatures: number;
  /** Column-major bins: bins[f * n + i]; the missing bin of f is nBins[f]. */
  bins: Uint8Array;
  nBins: Uint16Array;
  /** Per feature: the raw upper bound of each non-missing bin (see BinMapper). */
  upper: readonly Float64Array[];
  y: Int32Array;
  nClasses: number;
}

export interface CartParams {
  criterion: "gini" | "entropy";
  /** 0 = unlimited. */
  maxDepth: number;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  /** Features examined per node (non-constant ones; more are drawn while some turn out constant). */
  maxFeatures: number;
  /** Extremely randomised trees: one random threshold per examined feature instead of the best. */
  random: boolean;
}

/** Nodes with fewer rows build their histograms in JavaScript: a kernel call costs more. */
const KERNEL_MIN_ROWS = 32;

/** Up to this many distinct bins in a node are sorted; more are found by a pass over all bins. */
const SORT_MAX = 48;

/** Impurity of a node with class weights `w` (total W): Gini 1 − Σp², entropy −Σ p log₂ p. */
export function impurity(criterion: "gini" | "entropy", w: ArrayLike<number>, W: number): number {
  if (W <= 0) return 0;
  let s = 0;
  if (criterion === "gini") {
    for (let k = 0; k < w.length; k++) s += w[k] * w[k];
    return 1 - s / (W * W);
  }
  for (let k = 0; k < w.length; k++) if (w[k] > 0) s -= (w[k] / W) * Math.log2(w[k] / W);
  return s;
}

/**
 * Grows CART classification trees (scikit-learn's DecisionTreeClassifier semantics) on binned
 * features: best split by Gini or entropy decrease among `maxFeatures` randomly drawn features
 * per node (or a random threshold per feature for extra trees), missing values in their own bin
 * with a learned direction, leaves holding the weighted class distribution (vector leaves of
 * width nClasses, summing to 1). Nodes are grown depth first; the two children of a node are
 * adjacent. One grower serves many trees and reuses its buffers.
 */
export class CartGrower {
  /** The last grown tree (value: nClasses per node). */
  nodes: TreeNodes;
  /** Bin index of each split's threshold (rows with bin ≤ it go left). */
  binThreshold: Int32Array;

  private readonly d: CartData;
  private readonly K: number;
  private cap = 0;
  private readonly idx: Int32Array;
  private readonly tmp: Int32Array;
  /** WebAssembly histograms: idx, hist, cnt and touched are then views into its memory. */
  private readonly kernel: CartKernel | null;
  private readonly featPerm: Int32Array;
  // Per-feature scratch: class weights per bin (+ missing) and row counts per bin.
  private readonly hist: Float64Array;
  private readonly cnt: Int32Array;
  /** Bins the current node's rows fall in, in order of first appearance. */
  private readonly touched: Int32Array;
  /** Non-missing bins present in the node, ascending. */
  private readonly distinct: Int32Array;
  // The last evaluated feature's split: threshold bin and missing direction (class weights in wl).
  private evBin = 0;
  private evMissLeft = 0;
  // Best candidate of the scan in progress.
  private scBest = 0;
  private scBin = 0;
  private scMissLeft = 0;
  private readonly scL: Float64Array;
  // Node class weights and the running left/right weights of a scan.
  private readonly wt: Float64Array;
  private readonly wl: Float64Array;
  private readonly bestL: Float64Array;
  private readonly wtmp: Float64Array;
  // Node bookkeeping.
  private start = new Int32Array(0);
  private end = new Int32Array(0);
  private depth = new Int32Array(0);
  /** Features known to be constant at the node (a prefix of featPerm). */
  private known = new Int32Array(0);

  constructor(
    data: CartData,
    private readonly p: CartParams,
  ) {
    this.d = data;
    this.K = data.nClasses;
    let maxBins = 0;
    for (let f = 0; f < data.nFeatures; f++) maxBins = Math.max(maxBins, data.nBins[f] + 1);
    // The extra-trees loop draws one threshold per feature and never builds full histograms.
    this.kernel = p.random ? null : CartKernel.create(data.bins, data.y, data.n, this.K, maxBins);
    this.idx = this.kernel?.idx ?? new Int32Array(data.n);
    this.tmp = new Int32Array(data.n);
    this.featPerm = new Int32Array(data.nFeatures);
    this.hist = this.kernel?.hist ?? new Float64Array(maxBins * this.K);
    this.cnt = this.kernel?.cnt ?? new Int32Array(maxBins);
    this.touched = this.kernel?.touched ?? new Int32Array(maxBins);
    this.distinct = new Int32Array(maxBins);
    this.wt = new Float64Array(this.K);
    this.wl = new Float64Array(this.K);
    this.bestL = new Float64Array(this.K);
    this.wtmp = new Float64Array(this.K);
    this.scL = new Float64Array(this.K);
    this.nodes = allocNodes(0, this.K);
    this.binThreshold = new Int32Array(0);
    this.ensureCap(64);
  }

  /**
   * Grows a tree over the rows in `rows` (each with weight w[row] > 0) and returns its number of
   * nodes. Random choices (feature draws, random thresholds) come from `rng`.
   */
  grow(rows: Int32Array, w: Float64Array, rng: Rng): number {
    const p = this.p;
    const K = this.K;
    const F = this.d.nFeatures;
    const y = this.d.y;
    this.idx.set(rows);
    this.kernel?.w.set(w);
    for (let f = 0; f < F; f++) this.featPerm[f] = f;
    let nNodes = 1;
    this.initNode(0, 0, rows.length, 0);
    this.known[0] = 0;
    const stack: number[] = [0];
    const wt = this.wt;
    while (stack.length > 0) {
      const node = stack.pop() as number;
      const s = this.start[node];
      const e = this.end[node];
      wt.fill(0);
      for (let i = s; i < e; i++) {
        const r = this.idx[i];
        wt[y[r]] += w[r];
      }
      let W = 0;
      let maxW = 0;
      for (let k = 0; k < K; k++) {
        W += wt[k];
        if (wt[k] > maxW) maxW = wt[k];
      }
      const nd = this.nodes;
      for (let k = 0; k < K; k++) nd.value[node * K + k] = W > 0 ? wt[k] / W : 0;
      nd.cover[node] = W;
      const m = e - s;
      const leaf =
        (p.maxDepth > 0 && this.depth[node] >= p.maxDepth) ||
        m < p.minSamplesSplit ||
        m < 2 * p.minSamplesLeaf ||
        maxW >= W;
      if (leaf) continue;
      const known = this.findSplit(node, s, e, w, W, rng);
      if (known < 0) continue;
      const l = nNodes;
      nNodes += 2;
      this.ensureCap(nNodes);
      const mid = this.partition(node, s, e);
      const d = this.depth[node] + 1;
      this.initNode(l, s, mid, d);
      this.initNode(l + 1, mid, e, d);
      this.known[l] = known;
      this.known[l + 1] = known;
      this.nodes.left[node] = l;
      this.nodes.right[node] = l + 1;
      stack.push(l + 1, l);
    }
    return nNodes;
  }

  private initNode(i: number, start: number, end: number, depth: number): void {
    this.start[i] = start;
    this.end[i] = end;
    this.depth[i] = depth;
    const nd = this.nodes;
    nd.feature[i] = -1;
    nd.threshold[i] = 0;
    nd.left[i] = -1;
    nd.right[i] = -1;
    nd.defaultLeft[i] = 0;
    nd.gain[i] = 0;
    this.binThreshold[i] = 0;
  }

  /**
   * Chooses the node's split, scikit-learn style: features are drawn at random without
   * replacement until `maxFeatures` non-constant ones have been examined (or all are drawn).
   * Features constant in an ancestor are constant here too: they sit at the front of `featPerm`
   * (the first known[node] entries) and are never drawn. Records the split on the node and
   * returns how many features are known constant for its children; −1 when every feature is
   * constant here.
   */
  private findSplit(node: number, s: number, e: number, w: Float64Array, W: number, rng: Rng): number {
    const F = this.d.nFeatures;
    const perm = this.featPerm;
    let best = Number.NEGATIVE_INFINITY;
    let bf = -1;
    let bBin = 0;
    let bMissLeft = 0;
    let examined = 0;
    // [known, lo): constants found here; [lo, i): drawn non-constant features; [i, F): undrawn.
    let lo = this.known[node];
    for (let i = lo; i < F && examined < this.p.maxFeatures; i++) {
      const j = i + rng.int(F - i);
      const f = perm[j];
      perm[j] = perm[i];
      perm[i] = f;
      const score = this.evaluate(f, s, e, w, W, rng);
      if (Number.isNaN(score)) {
        perm[i] = perm[lo];
        perm[lo++] = f;
        continue;
      }
      examined++;
      if (score > best) {
        best = score;
        bf = f;
        bBin = this.evBin;
        bMissLeft = this.evMissLeft;
        this.bestL.set(this.wl);
      }
    }
    if (bf < 0) return -1;
    const nd = this.nodes;
    nd.feature[node] = bf;
    this.binThreshold[node] = bBin;
    nd.threshold[node] = this.d.upper[bf][bBin];
    nd.defaultLeft[node] = bMissLeft;
    // Weighted impurity decrease, scikit-learn's feature-importance numerator.
    const K = this.K;
    const wr = this.wtmp;
    let WL = 0;
    for (let k = 0; k < K; k++) {
      WL += this.bestL[k];
      wr[k] = this.wt[k] - this.bestL[k];
    }
    const crit = this.p.criterion;
    nd.gain[node] =
      W * impurity(crit, this.wt, W) -
      WL * impurity(crit, this.bestL, WL) -
      (W - WL) * impurity(crit, wr, W - WL);
    return lo;
  }

  /**
   * Best (or, for extra trees, a random) split of feature f at this node. Returns the score to
   * maximise (the children's weighted impurity, negated up to a constant), NaN when f is constant
   * here and −Infinity when no split meets the size limits; the threshold bin, the missing-value
   * direction and the left class weights are left in evBin, evMissLeft and wl.
   */
  private evaluate(f: number, s: number, e: number, w: Float64Array, W: number, rng: Rng): number {
    if (this.p.random) return this.evaluateRandom(f, s, e, w, W, rng);
    const d = this.d;
    const K = this.K;
    const nb = d.nBins[f];
    const col = f * d.n;
    const bins = d.bins;
    const y = d.y;
    const idx = this.idx;
    const hist = this.hist;
    const cnt = this.cnt;
    const touched = this.touched;
    // Class weights of the bins the node's rows fall in; only those bins are cleared and read, so
    // small nodes cost in proportion to their rows, not to the number of bins.
    let nt = 0;
    if (this.kernel && e - s >= KERNEL_MIN_ROWS) {
      nt = this.kernel.accumulate(f, s, e);
    } else {
      for (let i = s; i < e; i++) {
        const r = idx[i];
        const b = bins[col + r];
        if (cnt[b] === 0) {
          touched[nt++] = b;
          hist.fill(0, b * K, b * K + K);
        }
        cnt[b]++;
        hist[b * K + y[r]] += w[r];
      }
    }
    const missingCount = cnt[nb];
    const distinct = this.distinct;
    let nDistinct = 0;
    if (nt > SORT_MAX) {
      for (let b = 0; b < nb; b++) if (cnt[b] > 0) distinct[nDistinct++] = b;
    } else {
      for (let a = 0; a < nt; a++) {
        const b = touched[a];
        if (b === nb) continue;
        let j = nDistinct++;
        while (j > 0 && distinct[j - 1] > b) {
          distinct[j] = distinct[j - 1];
          j--;
        }
        distinct[j] = b;
      }
    }
    const score = this.scan(nb, nDistinct, missingCount, e - s, W);
    for (let a = 0; a < nt; a++) cnt[touched[a]] = 0;
    return score;
  }

  /**
   * Extra trees: a threshold drawn uniformly among the bins between the node's smallest and
   * largest present bin (missing values to a random side), scored in two passes over the rows
   * without any histogram.
   */
  private evaluateRandom(f: number, s: number, e: number, w: Float64Array, W: number, rng: Rng): number {
    const d = this.d;
    const nb = d.nBins[f];
    const col = f * d.n;
    const bins = d.bins;
    const idx = this.idx;
    let lo = nb;
    let hi = -1;
    let missing = 0;
    for (let i = s; i < e; i++) {
      const b = bins[col + idx[i]];
      if (b === nb) missing++;
      else {
        if (b < lo) lo = b;
        if (b > hi) hi = b;
      }
    }
    const present = e - s - missing;
    if ((lo === hi && missing === 0) || present === 0) return Number.NaN;
    // Present values all in one bin: the only split is present against missing.
    const t = lo === hi ? nb - 1 : lo + rng.int(hi - lo);
    const missLeft = missing > 0 && lo < hi && rng.next() < 0.5 ? 1 : 0;
    const wl = this.wl;
    const y = d.y;
    wl.fill(0);
    let cl = 0;
    for (let i = s; i < e; i++) {
      const r = idx[i];
      const b = bins[col + r];
      if (b === nb ? missLeft === 1 : b <= t) {
        wl[y[r]] += w[r];
        cl++;
      }
    }
    const m = e - s;
    const minLeaf = this.p.minSamplesLeaf;
    if (cl < minLeaf || m - cl < minLeaf) return Number.NEGATIVE_INFINITY;
    let WL = 0;
    for (let k = 0; k < this.K; k++) WL += wl[k];
    const WR = W - WL;
    if (WL <= 0 || WR <= 0) return Number.NEGATIVE_INFINITY;
    this.evBin = t;
    // No missing values here: unseen ones follow the heavier child.
    this.evMissLeft = missing > 0 ? missLeft : WL >= WR ? 1 : 0;
    return splitScore(this.p.criterion, wl, this.wt, WL, WR);
  }

  /** Scans the split candidates of the bins gathered by `evaluate`. */
  private scan(nb: number, nDistinct: number, missingCount: number, m: number, W: number): number {
    const K = this.K;
    const hasMissing = missingCount > 0;
    // Constant: one distinct non-missing bin and no missing, or only missing values.
    if (nDistinct + (hasMissing ? 1 : 0) < 2) return Number.NaN;
    const distinct = this.distinct;
    const cnt = this.cnt;
    const wl = this.wl;
    this.scBest = Number.NEGATIVE_INFINITY;
    this.scBin = -1;
    wl.fill(0);
    let cl = 0;
    for (let a = 0; a < nDistinct; a++) {
      const b = distinct[a];
      this.addBin(b, 1);
      cl += cnt[b];
      if (a < nDistinct - 1) {
        // Missing values (if any) to the right, then to the left, of the threshold after b.
        this.consider(b, 0, cl, m, W);
        if (hasMissing) {
          this.addBin(nb, 1);
          this.consider(b, 1, cl + missingCount, m, W);
          this.addBin(nb, -1);
        }
      } else if (hasMissing) {
        // Every present value against the missing ones.
        this.consider(nb - 1, 0, cl, m, W);
      }
    }
    if (this.scBin < 0) return Number.NEGATIVE_INFINITY;
    wl.set(this.scL);
    let missLeft = this.scMissLeft;
    if (!hasMissing) {
      // No missing values here: unseen ones follow the heavier child.
      let WL = 0;
      for (let k = 0; k < K; k++) WL += wl[k];
      missLeft = WL >= W - WL ? 1 : 0;
    }
    this.evBin = this.scBin;
    this.evMissLeft = missLeft;
    return this.scBest;
  }

  private addBin(b: number, sign: number): void {
    const K = this.K;
    const o = b * K;
    const wl = this.wl;
    const hist = this.hist;
    for (let k = 0; k < K; k++) wl[k] += sign * hist[o + k];
  }

  /** Scores the split with the current left weights `wl` (cl rows) and keeps it if best so far. */
  private consider(bin: number, missLeft: number, cl: number, m: number, W: number): void {
    const minLeaf = this.p.minSamplesLeaf;
    if (cl < minLeaf || m - cl < minLeaf) return;
    const wl = this.wl;
    let WL = 0;
    for (let k = 0; k < wl.length; k++) WL += wl[k];
    const WR = W - WL;
    if (WL <= 0 || WR <= 0) return;
    const sc = splitScore(this.p.criterion, wl, this.wt, WL, WR);
    if (sc > this.scBest) {
      this.scBest = sc;
      this.scBin = bin;
      this.scMissLeft = missLeft;
      this.scL.set(wl);
    }
  }

  /** Stable in-place partition of the node's rows by its split; returns the first right row. */
  private partition(node: number, s: number, e: number): number {
    const nd = this.nodes;
    const f = nd.feature[node];
    const t = this.binThreshold[node];
    const missing = nd.defaultLeft[node] === 1 ? this.d.nBins[f] : -1;
    const col = f * this.d.n;
    const bins = this.d.bins;
    const idx = this.idx;
    const tmp = this.tmp;
    let a = s;
    let b = 0;
    for (let i = s; i < e; i++) {
      const r = idx[i];
      const bin = bins[col + r];
      if (bin <= t || bin === missing) idx[a++] = r;
      else tmp[b++] = r;
    }
    idx.set(tmp.subarray(0, b), a);
    return a;
  }

  private ensureCap(nNodes: number): void {
    if (nNodes <= this.cap) return;
    let cap = Math.max(64, this.cap);
    while (cap < nNodes) cap *= 2;
    const nodes = allocNodes(cap, this.K);
    for (const k of Object.keys(nodes) as (keyof TreeNodes)[]) nodes[k].set(this.nodes[k] as never);
    this.nodes = nodes;
    const grow = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.binThreshold = grow(this.binThreshold);
    this.start = grow(this.start);
    this.end = grow(this.end);
    this.depth = grow(this.depth);
    this.known = grow(this.known);
    this.cap = cap;
  }
}

/**
 * Score of a split to maximise: minus the children's weighted impurity, up to terms that do not
 * depend on the split (scikit-learn's "proxy impurity improvement").
 */
function splitScore(
  criterion: "gini" | "entropy",
  wl: Float64Array,
  wt: Float64Array,
  WL: number,
  WR: number,
): number {
  const K = wl.length;
  if (criterion === "gini") {
    let sl = 0;
    let sr = 0;
    for (let k = 0; k < K; k++) {
      const r = wt[k] - wl[k];
      sl += wl[k] * wl[k];
      sr += r * r;
    }
    return sl / WL + sr / WR;
  }
  // −(WL·H_L + WR·H_R) · ln 2 = Σ w ln w − WL ln WL − WR ln WR (natural logs; same argmax).
  let s = -WL * Math.log(WL) - WR * Math.log(WR);
  for (let k = 0; k < K; k++) {
    const l = wl[k];
    const r = wt[k] - l;
    if (l > 0) s += l * Math.log(l);
    if (r > 0) s += r * Math.log(r);
  }
  return s;
}

/** Leaf reached by row `row` of a binned matrix in a tree grown by CartGrower. */
export function cartLeaf(
  nodes: TreeNodes,
  binThreshold: Int32Array,
  nBins: Uint16Array,
  bins: Uint8Array,
  nRows: number,
  row: number,
): number {
  const { feature, left, defaultLeft } = nodes;
  let node = 0;
  let f = feature[0];
  while (f >= 0) {
    const b = bins[f * nRows + row];
    node =
      b <= binThreshold[node] || (b === nBins[f] && defaultLeft[node] === 1) ? left[node] : left[node] + 1;
    f = feature[node];
  }
  return node;
}
