import { arrayBuffer, sharedCopy, sharedPool, TeamLeader, teamControl } from "../parallel/index.js";
import type { BinMapper, BinnedMatrix } from "../tree/binning.js";
import { allocNodes, type TreeNodes } from "../tree/ensemble.js";
import {
  ARG_ENTRIES,
  ARG_GH_OFFSET,
  ARG_NEW_TREE,
  BATCH_INTS,
  CMD_BATCH,
  featureBlocks,
  HIST_MODULE,
  type HistEngine,
  type HistShared,
  MAX_BATCH,
  OP_BUILD,
  OP_FIND,
  OP_KEEP,
  OP_RELEASE,
  OP_RELEASE_PARENT,
  OP_SUBTRACT,
  RESULT_SLOTS,
  threadEngines,
} from "./hist.js";

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

/** Memory all kept histograms of a tree may take before children are built without subtraction. */
const HIST_BUDGET_BYTES = 256 * 2 ** 20;

/**
 * Grows regression trees on gradient statistics over binned features, XGBoost-hist style:
 * per-node histograms of (gradient, hessian) per bin, the smaller child built from its rows and
 * the larger one obtained by subtracting it from the parent, missing values in their own bin with
 * a learned default direction. All children of a tree level are handled in one batch, which the
 * threads of a team share by blocks of features (see HistShared). One grower serves all the
 * trees of a fit and reuses its buffers.
 */
export class HistGrower {
  readonly shared: HistShared;
  nodeStart = new Int32Array(64);
  nodeEnd = new Int32Array(64);
  /** The last grown tree; `threshold` holds raw values, `binThreshold` the bin index. */
  nodes: TreeNodes = allocNodes(64);
  binThreshold = new Int32Array(64);

  private readonly engines: HistEngine[];
  private readonly team: TeamLeader | null;
  private readonly upper: readonly Float64Array[];
  private readonly tmp: Int32Array;
  private readonly maxLive: number;
  private readonly nBlocks: number;
  private ne = 0;
  private newTree = false;
  private ghOffset = 0;
  private live = 0;
  private releases: number[] = [];

  // Per-node growth state (indexed by node id).
  private sumG = new Float64Array(64);
  private sumH = new Float64Array(64);
  private depth = new Int32Array(64);
  private hasHist = new Uint8Array(64);
  private found = new Uint8Array(64);
  private bestGain = new Float64Array(64);
  private bestFeature = new Int32Array(64);
  private bestBin = new Int32Array(64);
  private bestDefaultLeft = new Uint8Array(64);
  private bestLG = new Float64Array(64);
  private bestLH = new Float64Array(64);
  private cap = 64;

  /**
   * `threads` > 1 puts the shared arrays in shared memory; call `startWorkers()` before growing
   * and `stopWorkers()` after.
   */
  constructor(
    binned: BinnedMatrix,
    mapper: BinMapper,
    nOutputs: number,
    private readonly p: GrowParams,
    readonly threads: number,
    /** Gradient pairs to read (class-major, see HistShared.gh); allocated here when not given. */
    gh?: Float64Array,
  ) {
    const n = binned.nRows;
    const F = mapper.nFeatures;
    const shared = threads > 1;
    const f64 = (len: number) => new Float64Array(arrayBuffer(len * 8, shared));
    const i32 = (len: number) => new Int32Array(arrayBuffer(len * 4, shared));
    const blocks = featureBlocks(mapper.nBins, threads);
    this.nBlocks = blocks.length - 1;
    const bins =
      shared && !(binned.bins.buffer instanceof SharedArrayBuffer) ? sharedCopy(binned.bins) : binned.bins;
    const nBins = shared ? sharedCopy(mapper.nBins) : mapper.nBins.slice();
    this.shared = {
      n,
      nFeatures: F,
      bins,
      nBins,
      gh: gh ?? f64(2 * n * nOutputs),
      rowIndex: i32(n),
      active: new Uint8Array(arrayBuffer(F, shared)),
      batch: i32(MAX_BATCH * BATCH_INTS),
      sums: f64(MAX_BATCH * 2),
      results: f64(this.nBlocks * MAX_BATCH * RESULT_SLOTS),
      ctrl: shared ? teamControl() : new Int32Array(16),
      blocks,
      threads,
      split: {
        lambda: p.lambda,
        alpha: p.alpha,
        minChildWeight: p.minChildWeight,
        minSamplesLeaf: p.minSamplesLeaf,
        minSplitGain: p.minSplitGain,
      },
    };
    this.upper = mapper.upper;
    this.tmp = new Int32Array(n);
    this.engines = threadEngines(this.shared, 0);
    this.team = shared ? new TeamLeader(this.shared.ctrl, threads - 1) : null;
    let slots = 0;
    for (let f = 0; f < F; f++) slots += mapper.nBins[f] + 1;
    const histBytes = slots * (p.minSamplesLeaf > 1 ? 3 : 2) * 8;
    this.maxLive = Math.max(2, Math.floor(HIST_BUDGET_BYTES / histBytes));
  }

  /** Rows of the last tree's sample, grouped so every node owns [nodeStart, nodeEnd). */
  get rowIndex(): Int32Array {
    return this.shared.rowIndex;
  }

  /**
   * Starts the other threads of the team and waits until they run. The returned promises settle
   * when they leave (after `stopWorkers`) or fail.
   */
  async startWorkers(): Promise<Promise<void>[]> {
    const out: Promise<void>[] = [];
    for (let t = 1; t < this.threads; t++) {
      out.push(
        sharedPool().call<void>(HIST_MODULE, "histWorkerLoop", {
          shared: this.shared,
          thread: t,
          team: this.shared.ctrl,
        }),
      );
    }
    if (this.team) {
      try {
        await this.team.joined(out);
      } catch (e) {
        this.team.exit();
        await Promise.allSettled(out);
        throw e;
      }
    }
    return out;
  }

  stopWorkers(): void {
    this.team?.exit();
  }

  /**
   * Grows a tree for the gradient pairs of output `k` in `shared.gh`, over the rows in `sample`
   * (sorted; null = all rows) and the features in `features`. Returns the number of nodes; the
   * tree is in `nodes` until the next call.
   */
  grow(k: number, sample: Int32Array | null, features: Int32Array): number {
    const p = this.p;
    const sh = this.shared;
    const idx = sh.rowIndex;
    let m: number;
    if (sample) {
      idx.set(sample);
      m = sample.length;
    } else {
      m = sh.n;
      for (let i = 0; i < m; i++) idx[i] = i;
    }
    sh.active.fill(0);
    for (let j = 0; j < features.length; j++) sh.active[features[j]] = 1;
    this.ghOffset = k * 2 * sh.n;
    const gh = sh.gh;
    const o = this.ghOffset;
    let G = 0;
    let H = 0;
    for (let i = 0; i < m; i++) {
      const r = o + 2 * idx[i];
      G += gh[r];
      H += gh[r + 1];
    }
    this.newTree = true;
    this.live = 0;
    this.releases = [];
    this.ne = 0;
    let nNodes = 1;
    this.initNode(0, 0, m, G, H, 0);
    let pending: number[] = [];
    if (this.splittable(0)) {
      this.add(0, OP_BUILD | OP_FIND | this.keepFlag(), -1, -1);
      this.flush();
      if (this.found[0]) pending.push(0);
    }
    let leaves = 1;
    const limit = p.maxLeaves;
    if (p.lossguide) {
      let head = 0;
      while (head < pending.length && (limit === 0 || leaves < limit)) {
        let pick = head;
        for (let j = head + 1; j < pending.length; j++) {
          if (this.bestGain[pending[j]] > this.bestGain[pending[pick]]) pick = j;
        }
        const node = pending[pick];
        pending[pick] = pending[head];
        pending[head++] = node;
        const l = nNodes;
        nNodes += 2;
        this.ensureCap(nNodes);
        this.split(node, l, l + 1);
        leaves++;
        this.planChildren(node, l, l + 1);
        this.flush();
        if (this.found[l]) pending.push(l);
        if (this.found[l + 1]) pending.push(l + 1);
      }
    } else {
      while (pending.length > 0 && (limit === 0 || leaves < limit)) {
        const next: number[] = [];
        const parents: number[] = [];
        for (const node of pending) {
          if (limit !== 0 && leaves >= limit) break;
          const l = nNodes;
          nNodes += 2;
          this.ensureCap(nNodes);
          this.split(node, l, l + 1);
          leaves++;
          if (this.ne + 3 > MAX_BATCH) this.flush();
          this.planChildren(node, l, l + 1);
          parents.push(l);
        }
        this.flush();
        for (const l of parents) {
          if (this.found[l]) next.push(l);
          if (this.found[l + 1]) next.push(l + 1);
        }
        pending = next;
      }
    }
    const nd = this.nodes;
    for (let i = 0; i < nNodes; i++) {
      if (nd.feature[i] < 0)
        nd.value[i] = p.learningRate * leafWeight(this.sumG[i], this.sumH[i], p.lambda, p.alpha);
      nd.cover[i] = this.sumH[i];
    }
    return nNodes;
  }

  private keepFlag(): number {
    if (this.live >= this.maxLive) return 0;
    this.live++;
    return OP_KEEP;
  }

  /** Entries for the children of a node just split (see the OP_ flags). */
  private planChildren(node: number, l: number, r: number): void {
    const lCan = this.splittable(l);
    const rCan = this.splittable(r);
    const parentHist = this.hasHist[node] === 1;
    if (parentHist) this.live--;
    if (!lCan && !rCan) {
      if (parentHist) this.add(node, OP_RELEASE, -1, -1);
      return;
    }
    const size = (c: number) => this.nodeEnd[c] - this.nodeStart[c];
    const small = size(l) <= size(r) ? l : r;
    const large = small === l ? r : l;
    const sCan = small === l ? lCan : rCan;
    const gCan = small === l ? rCan : lCan;
    if (parentHist && gCan) {
      this.add(small, OP_BUILD | (sCan ? OP_FIND | this.keepFlag() : 0), -1, -1);
      this.add(large, OP_SUBTRACT | OP_FIND | this.keepFlag(), node, small);
    } else {
      // Without the parent's histogram (or with nothing to subtract for), build what is needed.
      const rp = parentHist ? OP_RELEASE_PARENT : 0;
      if (lCan) this.add(l, OP_BUILD | OP_FIND | this.keepFlag() | rp, node, -1);
      if (rCan) this.add(r, OP_BUILD | OP_FIND | this.keepFlag() | (lCan ? 0 : rp), node, -1);
    }
  }

  private add(node: number, flags: number, parent: number, sibling: number): void {
    if (flags & OP_FIND) this.found[node] = 0;
    if (flags & OP_KEEP) this.hasHist[node] = 1;
    if (flags & (OP_RELEASE | OP_RELEASE_PARENT)) this.hasHist[flags & OP_RELEASE ? node : parent] = 0;
    if (flags & OP_SUBTRACT) this.hasHist[parent] = 0;
    const b = this.ne * BATCH_INTS;
    const batch = this.shared.batch;
    batch[b] = node;
    batch[b + 1] = this.nodeStart[node];
    batch[b + 2] = this.nodeEnd[node];
    batch[b + 3] = flags;
    batch[b + 4] = parent;
    batch[b + 5] = sibling;
    this.shared.sums[2 * this.ne] = this.sumG[node];
    this.shared.sums[2 * this.ne + 1] = this.sumH[node];
    this.ne++;
  }

  /** Runs the queued entries on every thread and records each node's best split. */
  private flush(): void {
    while (this.releases.length > 0 && this.ne < MAX_BATCH) {
      this.add(this.releases.pop() as number, OP_RELEASE, -1, -1);
    }
    const ne = this.ne;
    if (ne === 0) return;
    const sh = this.shared;
    const ctrl = sh.ctrl;
    ctrl[ARG_ENTRIES] = ne;
    ctrl[ARG_GH_OFFSET] = this.ghOffset;
    ctrl[ARG_NEW_TREE] = this.newTree ? 1 : 0;
    this.newTree = false;
    const engines = this.engines;
    if (this.team) {
      this.team.run(CMD_BATCH, () => {
        for (const e of engines) e.process();
      });
    } else {
      for (const e of engines) e.process();
    }
    const res = sh.results;
    const batch = sh.batch;
    for (let e = 0; e < ne; e++) {
      const flags = batch[e * BATCH_INTS + 3];
      if (!(flags & OP_FIND)) continue;
      const node = batch[e * BATCH_INTS];
      let best = -1;
      let at = -1;
      for (let b = 0; b < this.nBlocks; b++) {
        const o = (b * MAX_BATCH + e) * RESULT_SLOTS;
        if (res[o + 1] >= 0 && res[o] > best) {
          best = res[o];
          at = o;
        }
      }
      if (at < 0) {
        if (flags & OP_KEEP) {
          this.releases.push(node);
          this.live--;
        }
        continue;
      }
      this.found[node] = 1;
      this.bestGain[node] = best;
      this.bestFeature[node] = res[at + 1];
      this.bestBin[node] = res[at + 2];
      this.bestDefaultLeft[node] = res[at + 3];
      this.bestLG[node] = res[at + 4];
      this.bestLH[node] = res[at + 5];
    }
    this.ne = 0;
  }

  private initNode(i: number, start: number, end: number, G: number, H: number, depth: number): void {
    this.nodeStart[i] = start;
    this.nodeEnd[i] = end;
    this.sumG[i] = G;
    this.sumH[i] = H;
    this.depth[i] = depth;
    this.hasHist[i] = 0;
    this.found[i] = 0;
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
      this.nodeEnd[i] - this.nodeStart[i] >= 2 * p.minSamplesLeaf &&
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

    const sh = this.shared;
    const idx = sh.rowIndex;
    const tmp = this.tmp;
    const n = sh.n;
    const col = f * n;
    const bins = sh.bins;
    const missing = dl === 1 ? sh.nBins[f] : -1;
    const start = this.nodeStart[node];
    const end = this.nodeEnd[node];
    let w = start;
    let t = 0;
    // Without a branch: which side a row goes to is a coin toss the predictor loses half the
    // time. The row is written to both places; only its side's count moves (w ≤ i: no row
    // not yet read is overwritten).
    for (let i = start; i < end; i++) {
      const row = idx[i];
      const b = bins[col + row];
      const left = +(b <= bin) | +(b === missing);
      idx[w] = row;
      tmp[t] = row;
      w += left;
      t += 1 - left;
    }
    idx.set(tmp.subarray(0, t), w);
    const d = this.depth[node] + 1;
    const LG = this.bestLG[node];
    const LH = this.bestLH[node];
    this.initNode(l, start, w, LG, LH, d);
    this.initNode(r, w, end, this.sumG[node] - LG, this.sumH[node] - LH, d);
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
    const u8 = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    this.binThreshold = i32(this.binThreshold);
    this.nodeStart = i32(this.nodeStart);
    this.nodeEnd = i32(this.nodeEnd);
    this.sumG = f64(this.sumG);
    this.sumH = f64(this.sumH);
    this.depth = i32(this.depth);
    this.hasHist = u8(this.hasHist);
    this.found = u8(this.found);
    this.bestGain = f64(this.bestGain);
    this.bestFeature = i32(this.bestFeature);
    this.bestBin = i32(this.bestBin);
    this.bestDefaultLeft = u8(this.bestDefaultLeft);
    this.bestLG = f64(this.bestLG);
    this.bestLH = f64(this.bestLH);
    this.cap = cap;
  }
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
