import { followTeam, TEAM_ARGS } from "../parallel/index.js";
import { HistKernel } from "./hist-kernel.js";

/**
 * Memory shared by the threads that grow a boosted tree together. The leader (main thread)
 * owns the tree structure and the row partition; every thread owns a contiguous block of
 * features and builds, subtracts and scans the histograms of those features only. A feature's
 * histogram is therefore always summed by one thread, over the node's rows in partition order:
 * the result is bit for bit the same whatever the number of threads.
 */
export interface HistShared {
  n: number;
  nFeatures: number;
  /** Column-major bins: bins[f * n + i]. */
  bins: Uint8Array;
  /** Non-missing bins per feature; the missing bin of f is nBins[f]. */
  nBins: Uint16Array;
  /** Gradient pairs, class-major: gh[k * 2n + 2i] = g, gh[k * 2n + 2i + 1] = h. */
  gh: Float64Array;
  /** Rows of the tree's sample; every node owns a contiguous range. */
  rowIndex: Int32Array;
  /** 1 for the features the current tree may use. */
  active: Uint8Array;
  /** BATCH_INTS per entry: node, start, end, flags, parent, sibling. */
  batch: Int32Array;
  /** Per entry: the node's gradient and hessian sums. */
  sums: Float64Array;
  /** RESULT_SLOTS per (block, entry): gain, feature, bin, defaultLeft, left G, left H. */
  results: Float64Array;
  /** Team control block; arguments at TEAM_ARGS: entries, gh offset, new tree. */
  ctrl: Int32Array;
  /** Feature block b is [blocks[b], blocks[b + 1]); thread t owns the blocks b with b % threads = t. */
  blocks: Int32Array;
  threads: number;
  split: SplitParams;
}

export interface SplitParams {
  lambda: number;
  alpha: number;
  minChildWeight: number;
  minSamplesLeaf: number;
  minSplitGain: number;
}

/** Most entries in one batch; a longer tree level is sent in several batches. */
export const MAX_BATCH = 2048;
export const BATCH_INTS = 6;
export const RESULT_SLOTS = 6;

// Entry flags.
/** Build the node's histogram from its rows. */
export const OP_BUILD = 1;
/** The node's histogram is its parent's minus its sibling's (built earlier in the batch). */
export const OP_SUBTRACT = 2;
/** Find the node's best split. */
export const OP_FIND = 4;
/** Keep the node's histogram for its children (else it is dropped at the end of the batch). */
export const OP_KEEP = 8;
/** Drop the parent's histogram once this entry is done. */
export const OP_RELEASE_PARENT = 16;
/** Drop the node's kept histogram (nothing else). */
export const OP_RELEASE = 32;

// Control arguments.
export const ARG_ENTRIES = TEAM_ARGS;
export const ARG_GH_OFFSET = TEAM_ARGS + 1;
export const ARG_NEW_TREE = TEAM_ARGS + 2;
/** Team command: process the batch. */
export const CMD_BATCH = 1;

/** Splits gaining less than this are noise (XGBoost's kRtEps). */
export const MIN_GAIN = 1e-6;

/** Most histogram slots in one block: slot numbers are stored in 16 bits. */
export const MAX_BLOCK_SLOTS = 65_535;

/**
 * Splits the features into blocks: at least one per thread, each with at most MAX_BLOCK_SLOTS
 * histogram slots, and about the same number of features per thread.
 */
export function featureBlocks(nBins: Uint16Array, threads: number): Int32Array {
  const F = nBins.length;
  let slots = 0;
  for (let f = 0; f < F; f++) slots += nBins[f] + 1;
  let nb = Math.min(F, threads * Math.max(1, Math.ceil(slots / (threads * (MAX_BLOCK_SLOTS >> 1)))));
  for (;;) {
    const blocks = new Int32Array(nb + 1);
    let ok = true;
    for (let b = 1; b <= nb; b++) {
      blocks[b] = Math.round((b * F) / nb);
      let s = 0;
      for (let f = blocks[b - 1]; f < blocks[b]; f++) s += nBins[f] + 1;
      if (s > MAX_BLOCK_SLOTS) ok = false;
    }
    if (ok || nb >= F) return blocks;
    nb = Math.min(F, nb + threads);
  }
}

/**
 * The histogram work of one block of features [f0, f1). Bins are copied into a row-major
 * block of 16-bit slot numbers (slot = the feature's first histogram slot + bin) so that building
 * a histogram reads one short run of memory per row and needs no per-feature offset arithmetic.
 */
export class HistEngine {
  readonly f0: number;
  readonly f1: number;
  private readonly nf: number;
  private readonly codes: Uint16Array;
  /** First histogram slot of each local feature; slotStart[nf] = slots in all. */
  private readonly slotStart: Int32Array;
  /** Doubles per slot: 2 (gradient, hessian) or 3 (plus row count, only for min_samples_leaf > 1). */
  private readonly S: number;
  private readonly histLen: number;
  private hists: (Float64Array | null)[] = [];
  private readonly pool: Float64Array[] = [];
  private readonly activeList: Int32Array;
  private nActive = 0;
  /** The WebAssembly builder (histograms of gradient and hessian only); null: the JavaScript loop. */
  private readonly kernel: HistKernel | null;
  /** Gradient offset the kernel holds the pairs of; -1 after a new tree. */
  private kernelGh = -1;

  constructor(
    private readonly sh: HistShared,
    private readonly block: number,
  ) {
    const f0 = sh.blocks[block];
    const f1 = sh.blocks[block + 1];
    this.f0 = f0;
    this.f1 = f1;
    const nf = f1 - f0;
    this.nf = nf;
    this.S = sh.split.minSamplesLeaf > 1 ? 3 : 2;
    this.slotStart = new Int32Array(nf + 1);
    for (let j = 0; j < nf; j++) this.slotStart[j + 1] = this.slotStart[j] + sh.nBins[f0 + j] + 1;
    this.histLen = this.slotStart[nf] * this.S;
    const n = sh.n;
    this.kernel = this.S === 2 ? HistKernel.create(n, nf, this.histLen) : null;
    this.codes = this.kernel?.codes ?? new Uint16Array(n * nf);
    for (let j = 0; j < nf; j++) {
      const col = sh.bins.subarray((f0 + j) * n, (f0 + j + 1) * n);
      const s = this.slotStart[j];
      const codes = this.codes;
      for (let i = 0; i < n; i++) codes[i * nf + j] = s + col[i];
    }
    this.activeList = new Int32Array(nf);
  }

  /** Runs the batch described by the shared arrays and control arguments. */
  process(): void {
    const sh = this.sh;
    const ctrl = sh.ctrl;
    const nEntries = ctrl[ARG_ENTRIES];
    const ghOff = ctrl[ARG_GH_OFFSET];
    if (ctrl[ARG_NEW_TREE]) this.newTree();
    if (this.kernel && this.kernelGh !== ghOff) {
      this.kernel.loadGradients(sh.gh, ghOff);
      this.kernelGh = ghOff;
    }
    const batch = sh.batch;
    for (let e = 0; e < nEntries; e++) {
      const b = e * BATCH_INTS;
      const node = batch[b];
      const flags = batch[b + 3];
      if (flags & OP_RELEASE) {
        this.release(node);
        continue;
      }
      let hist: Float64Array | null = null;
      if (flags & OP_BUILD) {
        hist = this.take();
        this.build(hist, ghOff, batch[b + 1], batch[b + 2]);
      } else if (flags & OP_SUBTRACT) {
        const parent = batch[b + 4];
        hist = this.hists[parent] as Float64Array;
        const sib = this.hists[batch[b + 5]] as Float64Array;
        for (let k = 0; k < this.histLen; k++) hist[k] -= sib[k];
        this.hists[parent] = null;
      }
      if (hist) this.setHist(node, hist);
      if (flags & OP_FIND) {
        this.find(hist as Float64Array, e, batch[b + 2] - batch[b + 1], sh.sums[2 * e], sh.sums[2 * e + 1]);
      }
      if (flags & OP_RELEASE_PARENT) this.release(batch[b + 4]);
    }
    for (let e = 0; e < nEntries; e++) {
      const flags = batch[e * BATCH_INTS + 3];
      if (!(flags & (OP_KEEP | OP_RELEASE)) && flags & (OP_BUILD | OP_SUBTRACT))
        this.release(batch[e * BATCH_INTS]);
    }
  }

  private newTree(): void {
    for (let i = 0; i < this.hists.length; i++) this.release(i);
    const active = this.sh.active;
    let m = 0;
    for (let j = 0; j < this.nf; j++) if (active[this.f0 + j]) this.activeList[m++] = j;
    this.nActive = m;
    // A new tree has new gradients, wherever they sit.
    this.kernelGh = -1;
    this.kernel?.setFeatures(this.activeList, m);
  }

  private setHist(node: number, hist: Float64Array): void {
    while (this.hists.length <= node) this.hists.push(null);
    this.hists[node] = hist;
  }

  private take(): Float64Array {
    return this.pool.pop() ?? new Float64Array(this.histLen);
  }

  private release(node: number): void {
    const h = this.hists[node];
    if (h) {
      this.pool.push(h);
      this.hists[node] = null;
    }
  }

  private build(hist: Float64Array, ghOff: number, start: number, end: number): void {
    if (this.kernel && this.nActive > 0) {
      this.kernel.build(hist, this.sh.rowIndex, start, end, this.nActive);
      return;
    }
    hist.fill(0);
    const gh = this.sh.gh;
    const idx = this.sh.rowIndex;
    const codes = this.codes;
    const nf = this.nf;
    const m = this.nActive;
    if (m === 0) return;
    const all = m === nf;
    const list = this.activeList;
    if (this.S === 2) {
      if (all) {
        for (let i = start; i < end; i++) {
          const r = idx[i];
          const o = r * nf;
          const q = ghOff + 2 * r;
          const g = gh[q];
          const h = gh[q + 1];
          let j = 0;
          // Two features per step: independent updates the CPU can overlap.
          for (; j + 1 < nf; j += 2) {
            const k0 = codes[o + j] << 1;
            const k1 = codes[o + j + 1] << 1;
            hist[k0] += g;
            hist[k0 + 1] += h;
            hist[k1] += g;
            hist[k1 + 1] += h;
          }
          if (j < nf) {
            const k = codes[o + j] << 1;
            hist[k] += g;
            hist[k + 1] += h;
          }
        }
      } else {
        for (let i = start; i < end; i++) {
          const r = idx[i];
          const o = r * nf;
          const q = ghOff + 2 * r;
          const g = gh[q];
          const h = gh[q + 1];
          for (let a = 0; a < m; a++) {
            const k = codes[o + list[a]] << 1;
            hist[k] += g;
            hist[k + 1] += h;
          }
        }
      }
    } else {
      for (let i = start; i < end; i++) {
        const r = idx[i];
        const o = r * nf;
        const q = ghOff + 2 * r;
        const g = gh[q];
        const h = gh[q + 1];
        for (let a = 0; a < m; a++) {
          const k = codes[o + (all ? a : list[a])] * 3;
          hist[k] += g;
          hist[k + 1] += h;
          hist[k + 2] += 1;
        }
      }
    }
  }

  /**
   * Best split of a node over this thread's active features, written to the node's result
   * slots (gain −1 when none clears the limits). Features are scanned in increasing order and
   * only a strictly larger gain wins, so combining the blocks' results in block order picks the
   * same split as one scan over every feature.
   */
  private find(hist: Float64Array, entry: number, C: number, G: number, H: number): void {
    const sh = this.sh;
    const { lambda, alpha, minChildWeight: mcw, minSamplesLeaf: minS, minSplitGain } = sh.split;
    const S = this.S;
    const counted = S === 3;
    const parent = score(G, H, lambda, alpha);
    let best = Math.max(minSplitGain, MIN_GAIN);
    let bf = -1;
    let bb = 0;
    let bdl = 0;
    let bLG = 0;
    let bLH = 0;
    const nBins = sh.nBins;
    for (let a = 0; a < this.nActive; a++) {
      const j = this.activeList[a];
      const f = this.f0 + j;
      const nb = nBins[f];
      const base = this.slotStart[j] * S;
      const mi = base + nb * S;
      const mg = hist[mi];
      const mh = hist[mi + 1];
      const mc = counted ? hist[mi + 2] : mh > 0 ? 1 : 0;
      // Every row carries a positive hessian (it is clamped away from 0), so hessian > 0 tells
      // whether a bin holds rows; zero-weight rows cannot change a split either way.
      const hasMissing = mh > 0;
      if (nb < 2 && !hasMissing) continue;
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let b = 0; b < nb - 1; b++) {
        const k = base + b * S;
        const hb = hist[k + 1];
        // An empty bin repeats the previous threshold's split.
        if (hb === 0) continue;
        gl += hist[k];
        hl += hb;
        if (counted) cl += hist[k + 2];
        // Missing values (if any) to the right.
        if (hl >= mcw && H - hl >= mcw && (!counted || (cl >= minS && C - cl >= minS))) {
          const gain = score(gl, hl, lambda, alpha) + score(G - gl, H - hl, lambda, alpha) - parent;
          if (gain > best) {
            best = gain;
            bf = f;
            bb = b;
            // With no missing values here, unseen ones follow the heavier child.
            bdl = !hasMissing && hl >= H - hl ? 1 : 0;
            bLG = gl;
            bLH = hl;
          }
        }
        if (hasMissing) {
          const lg = gl + mg;
          const lh = hl + mh;
          const lc = cl + mc;
          if (lh >= mcw && H - lh >= mcw && (!counted || (lc >= minS && C - lc >= minS))) {
            const gain = score(lg, lh, lambda, alpha) + score(G - lg, H - lh, lambda, alpha) - parent;
            if (gain > best) {
              best = gain;
              bf = f;
              bb = b;
              bdl = 1;
              bLG = lg;
              bLH = lh;
            }
          }
        }
      }
      if (hasMissing) {
        // Missing against everything else.
        const lg = G - mg;
        const lh = H - mh;
        const lc = C - mc;
        if (lh >= mcw && mh >= mcw && (!counted || (lc >= minS && mc >= minS))) {
          const gain = score(lg, lh, lambda, alpha) + score(mg, mh, lambda, alpha) - parent;
          if (gain > best) {
            best = gain;
            bf = f;
            bb = nb - 1;
            bdl = 0;
            bLG = lg;
            bLH = lh;
          }
        }
      }
    }
    const o = (this.block * MAX_BATCH + entry) * RESULT_SLOTS;
    const res = sh.results;
    res[o] = bf < 0 ? -1 : best;
    res[o + 1] = bf;
    res[o + 2] = bb;
    res[o + 3] = bdl;
    res[o + 4] = bLG;
    res[o + 5] = bLH;
  }
}

/** Structure score T(G)² / (H + λ), with T the L1 soft threshold. */
export function score(g: number, h: number, lambda: number, alpha: number): number {
  const d = h + lambda;
  if (d <= 0) return 0;
  if (alpha === 0) return (g * g) / d;
  const t = g > alpha ? g - alpha : g < -alpha ? g + alpha : 0;
  return (t * t) / d;
}

/** This module, for the worker pool (which maps it to its compiled copy under Vitest). */
export const HIST_MODULE = import.meta.url;

/** The engines of the blocks thread `thread` owns. */
export function threadEngines(sh: HistShared, thread: number): HistEngine[] {
  const out: HistEngine[] = [];
  for (let b = thread; b < sh.blocks.length - 1; b += sh.threads) out.push(new HistEngine(sh, b));
  return out;
}

/** Worker side of a histogram team: thread `thread` (≥ 1) of the shared state, until the leader exits. */
export function histWorkerLoop(args: { shared: HistShared; thread: number; team: Int32Array }): void {
  const engines = threadEngines(args.shared, args.thread);
  followTeam(args.shared.ctrl, () => {
    for (const e of engines) e.process();
  });
}
