import type { BinMapper, BinnedMatrix } from "../tree/binning.js";
import { allocNodes, type TreeNodes } from "../tree/ensemble.js";

export interface GrowParams {
  /** 0 = unlimited. */
  maxDepth: number;
  /** 0 = unlimited. */
  maxLeaves: number;
  /** Split the leaf with the largest gain first (LightGBM); otherwise level by level (XGBoost). */
  lossguide: boolean;
  minChildWeight: number;
  minSamplesLeaf: number;
  lambda: number;
  alpha: number;
  minSplitGain: number;
  /** Leaf values are scaled by it (shrinkage). */
  learningRate: number;
}

/** Splits gaining less than this are noise (XGBoost's kRtEps). */
const MIN_GAIN = 1e-6;

/** Histogram slot: (sum of gradients, sum of hessians, row count). */
const SLOT = 3;

/**
 * Grows one regression tree on gradient statistics over binned features, XGBoost-hist style:
 * per-node histograms (gradient, hessian, count per bin), the smaller child built from its rows
 * and the larger obtained by subtracting it from the parent, missing values in their own bin with
 * a learned default direction. One grower serves all the trees of a fit and reuses its buffers.
 */
export class HistGrower {
  /** Rows of the tree's sample, grouped so every node owns the range [nodeStart, nodeEnd). */
  readonly rowIndex: Int32Array;
  nodeStart = new Int32Array(64);
  nodeEnd = new Int32Array(64);
  /** The last grown tree; `threshold` holds raw values, `binThreshold` the bin index. */
  nodes: TreeNodes = allocNodes(64);
  binThreshold = new Int32Array(64);

  private readonly n: number;
  private readonly bins: Uint8Array;
  private readonly nBins: Uint16Array;
  private readonly upper: readonly Float64Array[];
  /** Histogram slot offset of each feature; feature f's missing bin is at offset[f] + nBins[f]. */
  private readonly offset: Int32Array;
  private readonly histLen: number;
  private readonly pool: Float64Array[] = [];
  private readonly tmp: Int32Array;
  private readonly og: Float64Array;
  private readonly oh: Float64Array;
  /** Row-major copy of the bins (rowBins[i * F + f]) for row-wise histogram building. */
  private readonly rowBins: Uint8Array;
  private readonly nFeatures: number;
  private readonly slotOf: Int32Array;

  // Per-node growth state (indexed by node id).
  private sumG = new Float64Array(64);
  private sumH = new Float64Array(64);
  private count = new Float64Array(64);
  private depth = new Int32Array(64);
  private hists: (Float64Array | null)[] = [];
  // Best split of each pending node.
  private bestGain = new Float64Array(64);
  private bestFeature = new Int32Array(64);
  private bestBin = new Int32Array(64);
  private bestDefaultLeft = new Uint8Array(64);
  private bestLG = new Float64Array(64);
  private bestLH = new Float64Array(64);
  private bestLC = new Float64Array(64);
  private cap = 64;

  constructor(
    binned: BinnedMatrix,
    mapper: BinMapper,
    private readonly p: GrowParams,
  ) {
    this.n = binned.nRows;
    this.bins = binned.bins;
    this.nBins = mapper.nBins;
    this.upper = mapper.upper;
    const F = mapper.nFeatures;
    this.offset = new Int32Array(F + 1);
    for (let f = 0; f < F; f++) this.offset[f + 1] = this.offset[f] + mapper.nBins[f] + 1;
    this.histLen = this.offset[F] * SLOT;
    this.rowIndex = new Int32Array(this.n);
    this.tmp = new Int32Array(this.n);
    this.og = new Float64Array(this.n);
    this.oh = new Float64Array(this.n);
    this.nFeatures = F;
    this.slotOf = new Int32Array(F);
    this.rowBins = new Uint8Array(this.n * F);
    for (let f = 0; f < F; f++) {
      const col = f * this.n;
      for (let i = 0; i < this.n; i++) this.rowBins[i * F + f] = this.bins[col + i];
    }
  }

  /**
   * Grows a tree for gradients `g` and hessians `h` (one per row of the binned matrix) over the
   * rows in `sample` (sorted; null = all rows) and the features in `features`. Returns the number
   * of nodes; the tree is in `nodes` until the next call.
   */
  grow(g: Float64Array, h: Float64Array, sample: Int32Array | null, features: Int32Array): number {
    const p = this.p;
    const idx = this.rowIndex;
    let m: number;
    if (sample) {
      idx.set(sample);
      m = sample.length;
    } else {
      m = this.n;
      for (let i = 0; i < m; i++) idx[i] = i;
    }
    let G = 0;
    let H = 0;
    for (let i = 0; i < m; i++) {
      const r = idx[i];
      G += g[r];
      H += h[r];
    }
    let nNodes = 1;
    this.initNode(0, 0, m, G, H, m, 0);
    const pending: number[] = [];
    if (this.splittable(0)) {
      const hist = this.takeHist();
      this.buildHist(hist, 0, g, h, features);
      this.hists[0] = hist;
      if (this.findBest(0, hist, features)) pending.push(0);
      else this.releaseHist(0);
    }
    let leaves = 1;
    let head = 0;
    while (head < pending.length && (p.maxLeaves === 0 || leaves < p.maxLeaves)) {
      let pick = head;
      if (p.lossguide) {
        for (let j = head + 1; j < pending.length; j++) {
          if (this.bestGain[pending[j]] > this.bestGain[pending[pick]]) pick = j;
        }
        const t = pending[pick];
        pending[pick] = pending[head];
        pending[head] = t;
      }
      const node = pending[head++];
      const l = nNodes;
      const r = nNodes + 1;
      nNodes += 2;
      this.ensureCap(nNodes);
      this.split(node, l, r);
      leaves++;

      const parentHist = this.hists[node] as Float64Array;
      this.hists[node] = null;
      const lCan = this.splittable(l);
      const rCan = this.splittable(r);
      if (lCan || rCan) {
        const small = this.count[l] <= this.count[r] ? l : r;
        const large = small === l ? r : l;
        const smallHist = this.takeHist();
        this.buildHist(smallHist, small, g, h, features);
        // The parent's buffer becomes the larger child's histogram.
        for (let k = 0; k < this.histLen; k++) parentHist[k] -= smallHist[k];
        this.hists[small] = smallHist;
        this.hists[large] = parentHist;
        for (const c of [l, r]) {
          if ((c === l ? lCan : rCan) && this.findBest(c, this.hists[c] as Float64Array, features))
            pending.push(c);
          else this.releaseHist(c);
        }
      } else {
        this.pool.push(parentHist);
      }
    }
    for (let j = head; j < pending.length; j++) this.releaseHist(pending[j]);

    const nd = this.nodes;
    for (let i = 0; i < nNodes; i++) {
      if (nd.feature[i] < 0)
        nd.value[i] = p.learningRate * leafWeight(this.sumG[i], this.sumH[i], p.lambda, p.alpha);
      nd.cover[i] = this.sumH[i];
    }
    return nNodes;
  }

  private initNode(
    i: number,
    start: number,
    end: number,
    G: number,
    H: number,
    C: number,
    depth: number,
  ): void {
    this.nodeStart[i] = start;
    this.nodeEnd[i] = end;
    this.sumG[i] = G;
    this.sumH[i] = H;
    this.count[i] = C;
    this.depth[i] = depth;
    this.hists[i] = null;
    const nd = this.nodes;
    nd.feature[i] = -1;
    nd.threshold[i] = 0;
    nd.left[i] = -1;
    nd.right[i] = -1;
    nd.defaultLeft[i] = 0;
    nd.value[i] = 0;
    nd.gain[i] = 0;
    this.binThreshold[i] = 0;
  }

  private splittable(i: number): boolean {
    const p = this.p;
    return (
      (p.maxDepth === 0 || this.depth[i] < p.maxDepth) &&
      this.count[i] >= 2 * p.minSamplesLeaf &&
      this.sumH[i] >= 2 * p.minChildWeight
    );
  }

  /** Applies the node's best split: records it, partitions its rows, creates children l and r. */
  private split(node: number, l: number, r: number): void {
    const f = this.bestFeature[node];
    const bin = this.bestBin[node];
    const dl = this.bestDefaultLeft[node];
    const nd = this.nodes;
    nd.feature[node] = f;
    nd.threshold[node] = this.upper[f][bin];
    nd.defaultLeft[node] = dl;
    nd.left[node] = l;
    nd.right[node] = r;
    nd.gain[node] = this.bestGain[node];
    this.binThreshold[node] = bin;

    const idx = this.rowIndex;
    const tmp = this.tmp;
    const col = f * this.n;
    const bins = this.bins;
    const missing = dl === 1 ? this.nBins[f] : -1;
    const start = this.nodeStart[node];
    const end = this.nodeEnd[node];
    let w = start;
    let t = 0;
    for (let i = start; i < end; i++) {
      const row = idx[i];
      const b = bins[col + row];
      if (b <= bin || b === missing) idx[w++] = row;
      else tmp[t++] = row;
    }
    idx.set(tmp.subarray(0, t), w);
    const d = this.depth[node] + 1;
    const LG = this.bestLG[node];
    const LH = this.bestLH[node];
    const LC = this.bestLC[node];
    this.initNode(l, start, w, LG, LH, LC, d);
    this.initNode(r, w, end, this.sumG[node] - LG, this.sumH[node] - LH, this.count[node] - LC, d);
  }

  private buildHist(
    hist: Float64Array,
    node: number,
    g: Float64Array,
    h: Float64Array,
    features: Int32Array,
  ): void {
    hist.fill(0);
    const idx = this.rowIndex;
    const start = this.nodeStart[node];
    const m = this.nodeEnd[node] - start;
    const og = this.og;
    const oh = this.oh;
    // Gather the node's gradients once so the per-feature loops read them sequentially.
    for (let i = 0; i < m; i++) {
      const r = idx[start + i];
      og[i] = g[r];
      oh[i] = h[r];
    }
    // Row-wise: consecutive updates land on different features' slots, so they do not wait on
    // each other (column-wise, a feature with few bins hits the same slot again and again).
    const rb = this.rowBins;
    const F = this.nFeatures;
    const nf = features.length;
    const slot = this.slotOf;
    for (let j = 0; j < nf; j++) slot[j] = this.offset[features[j]] * SLOT;
    if (nf === F) {
      for (let i = 0; i < m; i++) {
        const o = idx[start + i] * F;
        const gi = og[i];
        const hi = oh[i];
        for (let f = 0; f < F; f++) {
          const k = slot[f] + rb[o + f] * SLOT;
          hist[k] += gi;
          hist[k + 1] += hi;
          hist[k + 2] += 1;
        }
      }
    } else {
      for (let i = 0; i < m; i++) {
        const o = idx[start + i] * F;
        const gi = og[i];
        const hi = oh[i];
        for (let j = 0; j < nf; j++) {
          const k = slot[j] + rb[o + features[j]] * SLOT;
          hist[k] += gi;
          hist[k + 1] += hi;
          hist[k + 2] += 1;
        }
      }
    }
  }

  /** Finds the node's best split; false when no split clears the gain and size limits. */
  private findBest(node: number, hist: Float64Array, features: Int32Array): boolean {
    const p = this.p;
    const lambda = p.lambda;
    const alpha = p.alpha;
    const minS = p.minSamplesLeaf;
    const mcw = p.minChildWeight;
    const G = this.sumG[node];
    const H = this.sumH[node];
    const C = this.count[node];
    const parent = score(G, H, lambda, alpha);
    let best = Math.max(p.minSplitGain, MIN_GAIN);
    let bf = -1;
    let bb = 0;
    let bdl = 0;
    let bLG = 0;
    let bLH = 0;
    let bLC = 0;
    for (let j = 0; j < features.length; j++) {
      const f = features[j];
      const nb = this.nBins[f];
      const base = this.offset[f] * SLOT;
      const mi = base + nb * SLOT;
      const mg = hist[mi];
      const mh = hist[mi + 1];
      const mc = hist[mi + 2];
      if (nb < 2 && mc === 0) continue;
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let b = 0; b < nb - 1; b++) {
        const k = base + b * SLOT;
        // An empty bin repeats the previous threshold's split.
        if (hist[k + 2] === 0) continue;
        gl += hist[k];
        hl += hist[k + 1];
        cl += hist[k + 2];
        // Missing values (if any) to the right.
        if (cl >= minS && hl >= mcw && C - cl >= minS && H - hl >= mcw) {
          const gain = score(gl, hl, lambda, alpha) + score(G - gl, H - hl, lambda, alpha) - parent;
          if (gain > best) {
            best = gain;
            bf = f;
            bb = b;
            // With no missing values here, unseen ones follow the bigger child (as sklearn does).
            bdl = mc === 0 && cl >= C - cl ? 1 : 0;
            bLG = gl;
            bLH = hl;
            bLC = cl;
          }
        }
        if (mc > 0) {
          const lg = gl + mg;
          const lh = hl + mh;
          const lc = cl + mc;
          if (lc >= minS && lh >= mcw && C - lc >= minS && H - lh >= mcw) {
            const gain = score(lg, lh, lambda, alpha) + score(G - lg, H - lh, lambda, alpha) - parent;
            if (gain > best) {
              best = gain;
              bf = f;
              bb = b;
              bdl = 1;
              bLG = lg;
              bLH = lh;
              bLC = lc;
            }
          }
        }
      }
      if (mc > 0) {
        // Missing against everything else.
        const lg = G - mg;
        const lh = H - mh;
        const lc = C - mc;
        if (lc >= minS && lh >= mcw && mc >= minS && mh >= mcw) {
          const gain = score(lg, lh, lambda, alpha) + score(mg, mh, lambda, alpha) - parent;
          if (gain > best) {
            best = gain;
            bf = f;
            bb = nb - 1;
            bdl = 0;
            bLG = lg;
            bLH = lh;
            bLC = lc;
          }
        }
      }
    }
    if (bf < 0) return false;
    this.bestGain[node] = best;
    this.bestFeature[node] = bf;
    this.bestBin[node] = bb;
    this.bestDefaultLeft[node] = bdl;
    this.bestLG[node] = bLG;
    this.bestLH[node] = bLH;
    this.bestLC[node] = bLC;
    return true;
  }

  private takeHist(): Float64Array {
    return this.pool.pop() ?? new Float64Array(this.histLen);
  }

  private releaseHist(node: number): void {
    const hist = this.hists[node];
    if (hist) this.pool.push(hist);
    this.hists[node] = null;
  }

  private ensureCap(nNodes: number): void {
    if (nNodes <= this.cap) return;
    let cap = this.cap;
    while (cap < nNodes) cap *= 2;
    const nodes = allocNodes(cap);
    for (const k of Object.keys(nodes) as (keyof TreeNodes)[]) nodes[k].set(this.nodes[k] as never);
    this.nodes = nodes;
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.binThreshold = i32(this.binThreshold);
    this.nodeStart = i32(this.nodeStart);
    this.nodeEnd = i32(this.nodeEnd);
    this.sumG = f64(this.sumG);
    this.sumH = f64(this.sumH);
    this.count = f64(this.count);
    this.depth = i32(this.depth);
    this.bestGain = f64(this.bestGain);
    this.bestFeature = i32(this.bestFeature);
    this.bestBin = i32(this.bestBin);
    const dl = new Uint8Array(cap);
    dl.set(this.bestDefaultLeft);
    this.bestDefaultLeft = dl;
    this.bestLG = f64(this.bestLG);
    this.bestLH = f64(this.bestLH);
    this.bestLC = f64(this.bestLC);
    this.cap = cap;
  }
}

/** Structure score T(G)² / (H + λ), with T the L1 soft threshold. */
function score(g: number, h: number, lambda: number, alpha: number): number {
  const d = h + lambda;
  if (d <= 0) return 0;
  if (alpha === 0) return (g * g) / d;
  const t = g > alpha ? g - alpha : g < -alpha ? g + alpha : 0;
  return (t * t) / d;
}

/** Newton step −T(G) / (H + λ). */
export function leafWeight(g: number, h: number, lambda: number, alpha: number): number {
  const d = h + lambda;
  if (d <= 0) return 0;
  const t = alpha === 0 ? g : g > alpha ? g - alpha : g < -alpha ? g + alpha : 0;
  return -t / d;
}

/** Leaf of the last grown tree reached by row `row` of a binned matrix. */
export function binnedLeaf(
  nodes: TreeNodes,
  binThreshold: Int32Array,
  nBins: Uint16Array,
  bins: Uint8Array,
  nRows: number,
  row: number,
): number {
  const { feature, left, right, defaultLeft } = nodes;
  let node = 0;
  let f = feature[0];
  while (f >= 0) {
    const b = bins[f * nRows + row];
    if (b <= binThreshold[node] || (b === nBins[f] && defaultLeft[node] === 1)) node = left[node];
    else node = right[node];
    f = feature[node];
  }
  return node;
}
