import { isMainThread } from "node:worker_threads";
import { strides } from "../matrix.js";
import {
  awaitTeam,
  defaultThreads,
  finishTeamTask,
  sharedCopy,
  sharedPool,
  teamControl,
} from "../parallel/index.js";
import type { FloatArray, Matrix } from "../types.js";
import { CompactKernel } from "./compact-kernel.js";
import type { TreeNodes } from "./ensemble.js";

/** Most distinct thresholds per feature: a row's codes are 0..255, and 256 means missing. */
const MAX_CUTS = 255;
const MISSING = 256;
/** Deepest trees laid out as perfect trees (2^10 − 1 words and 2^10 leaves each at most). */
const MAX_PERFECT_DEPTH = 10;
/** A word that sends every code left: rank 255 (no code is above) and missing to the left. */
const PASS_LEFT = 256 | 255;
/** Rows coded and walked together in a batch: the block's codes and a tree stay in L1. */
const BLOCK = 256;
/** Below this many rows a batch stays on the calling thread. */
const PARALLEL_MIN_ROWS = 16_384;
/** ... and below this many tree steps (rows × the trees' depths): a few milliseconds of work. */
const PARALLEL_MIN_STEPS = 8_000_000;

/**
 * A tree ensemble recompiled for prediction. Each input value is turned once into a small code
 * (its rank among the thresholds the model uses on that feature), so a split is an integer
 * compare, and a node is two int32: a word (−1 on a leaf; else the feature's slot · 512, the
 * missing-goes-left flag · 256 and the threshold's rank) and its left child (right = left + 1;
 * a leaf points to itself). 8 bytes a node instead of 16 keeps a 1,000-tree model in L2.
 *
 * Rows go right when code > rank, which equals x > threshold for every non-missing x; the
 * missing code 256 goes right unless the flag says left. Leaf values are added tree by tree in
 * the ensemble's order, so results are bit for bit those of the float walk.
 *
 * Every array lives in shared memory: worker threads use the model without a copy.
 */
export interface CompactModel {
  nOutputs: number;
  leafWidth: number;
  roots: Int32Array;
  treeOutput: Int32Array;
  /** Steps one row takes through every tree, at most (the sum of the trees' depths). */
  steps: number;
  nodes: Int32Array;
  /** Per node: offset of its leaf values in `values` (leaves only). */
  leafAt: Int32Array;
  values: Float64Array;
  /** Model feature of each slot. */
  used: Int32Array;
  /** Sorted distinct thresholds of slot u: cuts[cutStart[u] .. cutStart[u + 1]). */
  cuts: Float64Array;
  cutStart: Int32Array;
  /**
   * When every tree is at most MAX_PERFECT_DEPTH deep: each tree again, as a perfect binary tree of
   * depth `perfectDepth` (node p's children at 2p + 1 and 2p + 2; one int16 word a node, shallow
   * leaves turned into nodes that always go left), and the values of its 2^depth leaves. A walk
   * is then a fixed number of branch-free steps with no child pointers; −1 when not built.
   */
  perfectDepth: number;
  perfect: Int16Array;
  perfectValues: Float64Array;
  /** Each tree's own depth: below it its perfect words only pass left, so a walk may stop there. */
  treeDepth: Uint8Array;
}

interface EnsembleParts {
  nOutputs: number;
  leafWidth: number;
  roots: Int32Array;
  treeOutput: Int32Array;
  nodes: TreeNodes;
}

function sharedI32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, n) * 4));
}

function sharedF64(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(Math.max(1, n) * 8));
}

/**
 * Whether coding a row (a binary search per used feature) costs less than it saves: small models
 * (one tree, a few stumps) walk the float nodes faster than they can code the row.
 */
export function compactPays(cm: CompactModel): boolean {
  return cm.steps >= 8 * cm.used.length;
}

/** The compact form of an ensemble, or null when a feature has more than 255 distinct thresholds. */
export function compactModel(e: EnsembleParts): CompactModel | null {
  const { feature, threshold, left, defaultLeft, value } = e.nodes;
  const m = feature.length;
  const W = e.leafWidth;
  let nF = 0;
  for (let i = 0; i < m; i++) if (feature[i] + 1 > nF) nF = feature[i] + 1;
  const perFeature: number[][] = Array.from({ length: nF }, () => []);
  let nLeaves = 0;
  for (let i = 0; i < m; i++) {
    if (feature[i] >= 0) perFeature[feature[i]].push(threshold[i]);
    else nLeaves++;
  }
  const slot = new Int32Array(nF).fill(-1);
  const used: number[] = [];
  const cutList: Float64Array[] = [];
  for (let f = 0; f < nF; f++) {
    if (perFeature[f].length === 0) continue;
    const sorted = Float64Array.from(perFeature[f]).sort();
    let d = 0;
    for (let i = 0; i < sorted.length; i++)
      if (i === 0 || sorted[i] !== sorted[d - 1]) sorted[d++] = sorted[i];
    if (d > MAX_CUTS) return null;
    slot[f] = used.length;
    used.push(f);
    cutList.push(sorted.subarray(0, d));
  }
  const cutStart = sharedI32(used.length + 1);
  for (let u = 0; u < used.length; u++) cutStart[u + 1] = cutStart[u] + cutList[u].length;
  const cuts = sharedF64(cutStart[used.length]);
  for (let u = 0; u < used.length; u++) cuts.set(cutList[u], cutStart[u]);
  const nodes = sharedI32(2 * m);
  const leafAt = sharedI32(m);
  const values = sharedF64(nLeaves * W);
  let leaf = 0;
  for (let i = 0; i < m; i++) {
    const f = feature[i];
    if (f < 0) {
      nodes[2 * i] = -1;
      nodes[2 * i + 1] = i;
      leafAt[i] = leaf * W;
      for (let k = 0; k < W; k++) values[leaf * W + k] = value[i * W + k];
      leaf++;
      continue;
    }
    const u = slot[f];
    const list = cutList[u];
    let lo = 0;
    let hi = list.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid] < threshold[i]) lo = mid + 1;
      else hi = mid;
    }
    nodes[2 * i] = (u << 9) | (defaultLeft[i] ? 256 : 0) | lo;
    nodes[2 * i + 1] = left[i];
  }
  const T = e.roots.length;
  const depth = new Int32Array(T);
  let steps = 0;
  for (let t = 0; t < T; t++) steps += depth[t] = treeDepth(nodes, e.roots[t]);
  const roots = sharedI32(T);
  roots.set(e.roots);
  const treeOutput = sharedI32(T);
  treeOutput.set(e.treeOutput);
  let D = 0;
  for (let t = 0; t < T; t++) if (depth[t] > D) D = depth[t];
  let perfectDepth = -1;
  let perfect = new Int16Array(new SharedArrayBuffer(2));
  let perfectValues = sharedF64(0);
  // Words are int16 (half the cache a walk touches): slot · 512 + 511 must stay below 2^15.
  if (D <= MAX_PERFECT_DEPTH && used.length <= 64) {
    perfectDepth = D;
    const S = (1 << D) - 1;
    const L = 1 << D;
    perfect = new Int16Array(new SharedArrayBuffer(Math.max(1, T * S) * 2));
    perfectValues = sharedF64(T * L * W);
    const place = (t: number, i: number, p: number, level: number): void => {
      if (level === D) {
        const v = (t * L + p - S) * W;
        for (let k = 0; k < W; k++) perfectValues[v + k] = values[leafAt[i] + k];
        return;
      }
      const leaf = nodes[2 * i] < 0;
      perfect[t * S + p] = leaf ? PASS_LEFT : nodes[2 * i];
      place(t, leaf ? i : nodes[2 * i + 1], 2 * p + 1, level + 1);
      place(t, leaf ? i : nodes[2 * i + 1] + 1, 2 * p + 2, level + 1);
    };
    for (let t = 0; t < T; t++) place(t, e.roots[t], 0, 0);
  }
  const depths = new Uint8Array(new SharedArrayBuffer(Math.max(1, T)));
  for (let t = 0; t < T; t++) depths[t] = Math.min(255, depth[t]);
  return {
    perfectDepth,
    perfect,
    perfectValues,
    treeDepth: depths,
    nOutputs: e.nOutputs,
    leafWidth: W,
    roots,
    treeOutput,
    steps,
    nodes,
    leafAt,
    values,
    used: Int32Array.from(used),
    cuts,
    cutStart,
  };
}

function treeDepth(nodes: Int32Array, root: number): number {
  let max = 0;
  const stack = [root, 0];
  while (stack.length > 0) {
    const d = stack.pop() as number;
    const i = stack.pop() as number;
    if (nodes[2 * i] < 0) {
      if (d > max) max = d;
      continue;
    }
    const l = nodes[2 * i + 1];
    stack.push(l, d + 1, l + 1, d + 1);
  }
  return max;
}

/** Codes of the used features of one row (x at data[xo + f · colStride]) into codes[co ..]. */
function codeRow(
  cm: CompactModel,
  data: FloatArray,
  xo: number,
  colStride: number,
  codes: Uint16Array,
  co: number,
): void {
  const { used, cuts, cutStart } = cm;
  for (let u = 0; u < used.length; u++) {
    const x = data[xo + used[u] * colStride];
    if (Number.isNaN(x)) {
      codes[co + u] = MISSING;
      continue;
    }
    // Branch-free lower bound (the count of cuts below x): a fixed number of halvings per
    // feature, no mispredicted jumps on the data.
    const s = cutStart[u];
    let len = cutStart[u + 1] - s;
    let base = s;
    while (len > 1) {
      const half = len >>> 1;
      base += +(cuts[base + half - 1] < x) * half;
      len -= half;
    }
    codes[co + u] = base - s + (len === 1 ? +(cuts[base] < x) : 0);
  }
}

const rowCodes = new Map<CompactModel, Uint16Array>();
/**
 * The WebAssembly walk of each model in this thread (null: it has none), made once: an instance
 * holds a copy of the model's trees, so a served model does not copy them per request.
 */
const kernels = new WeakMap<CompactModel, CompactKernel | null>();

function kernelFor(cm: CompactModel): CompactKernel | null {
  let k = kernels.get(cm);
  if (k === undefined) {
    k = CompactKernel.create(cm, BLOCK);
    kernels.set(cm, k);
  }
  return k;
}

/**
 * Adds one row's leaves to out[o .. o + nOutputs), four trees walked side by side (a single row's
 * latency is what a served request waits for; four independent chains of loads overlap).
 */
export function compactAddRow(
  cm: CompactModel,
  data: FloatArray,
  xo: number,
  colStride: number,
  out: Float64Array,
  o: number,
  nTrees: number,
): void {
  const kernel = kernelFor(cm);
  if (kernel) {
    const K = cm.nOutputs;
    codeRow(cm, data, xo, colStride, kernel.codes, 0);
    kernel.out.set(out.subarray(o, o + K));
    kernel.row(nTrees);
    out.set(kernel.out.subarray(0, K), o);
    return;
  }
  let codes = rowCodes.get(cm);
  if (!codes) {
    codes = new Uint16Array(Math.max(1, cm.used.length));
    rowCodes.clear();
    rowCodes.set(cm, codes);
  }
  codeRow(cm, data, xo, colStride, codes, 0);
  if (cm.perfectDepth >= 0) perfectRow(cm, codes, out, o, nTrees);
  else nodeRow(cm, codes, out, o, nTrees);
}

function perfectRow(
  cm: CompactModel,
  codes: Uint16Array,
  out: Float64Array,
  o: number,
  nTrees: number,
): void {
  const { perfect, perfectValues: values, treeOutput } = cm;
  const D = cm.perfectDepth;
  const S = (1 << D) - 1;
  const K = cm.nOutputs;
  const W = cm.leafWidth;
  let t = 0;
  for (; t + 8 <= nTrees; t += 8) {
    const ba = t * S;
    const bb = ba + S;
    const bc = bb + S;
    const bd = bc + S;
    const be = bd + S;
    const bf = be + S;
    const bg = bf + S;
    const bh = bg + S;
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    let e = 0;
    let f = 0;
    let g = 0;
    let h = 0;
    for (let s = 0; s < D; s++) {
      const wa = perfect[ba + a];
      const wb = perfect[bb + b];
      const wc = perfect[bc + c];
      const wd = perfect[bd + d];
      const we = perfect[be + e];
      const wf = perfect[bf + f];
      const wg = perfect[bg + g];
      const wh = perfect[bh + h];
      const xa = codes[wa >> 9];
      const xb = codes[wb >> 9];
      const xc = codes[wc >> 9];
      const xd = codes[wd >> 9];
      const xe = codes[we >> 9];
      const xf = codes[wf >> 9];
      const xg = codes[wg >> 9];
      const xh = codes[wh >> 9];
      a = 2 * a + 1 + (+(xa > (wa & 255)) ^ ((xa & wa) >> 8));
      b = 2 * b + 1 + (+(xb > (wb & 255)) ^ ((xb & wb) >> 8));
      c = 2 * c + 1 + (+(xc > (wc & 255)) ^ ((xc & wc) >> 8));
      d = 2 * d + 1 + (+(xd > (wd & 255)) ^ ((xd & wd) >> 8));
      e = 2 * e + 1 + (+(xe > (we & 255)) ^ ((xe & we) >> 8));
      f = 2 * f + 1 + (+(xf > (wf & 255)) ^ ((xf & wf) >> 8));
      g = 2 * g + 1 + (+(xg > (wg & 255)) ^ ((xg & wg) >> 8));
      h = 2 * h + 1 + (+(xh > (wh & 255)) ^ ((xh & wh) >> 8));
    }
    // Leaf p of tree t is value slot t · 2^D + p − S = (first word of the tree) + t + p − S.
    if (W === 1) {
      out[o + treeOutput[t + 0]] += values[ba + t + 0 - S + a];
      out[o + treeOutput[t + 1]] += values[bb + t + 1 - S + b];
      out[o + treeOutput[t + 2]] += values[bc + t + 2 - S + c];
      out[o + treeOutput[t + 3]] += values[bd + t + 3 - S + d];
      out[o + treeOutput[t + 4]] += values[be + t + 4 - S + e];
      out[o + treeOutput[t + 5]] += values[bf + t + 5 - S + f];
      out[o + treeOutput[t + 6]] += values[bg + t + 6 - S + g];
      out[o + treeOutput[t + 7]] += values[bh + t + 7 - S + h];
    } else {
      addVector(out, o, values, (ba + t + 0 - S + a) * W, K);
      addVector(out, o, values, (bb + t + 1 - S + b) * W, K);
      addVector(out, o, values, (bc + t + 2 - S + c) * W, K);
      addVector(out, o, values, (bd + t + 3 - S + d) * W, K);
      addVector(out, o, values, (be + t + 4 - S + e) * W, K);
      addVector(out, o, values, (bf + t + 5 - S + f) * W, K);
      addVector(out, o, values, (bg + t + 6 - S + g) * W, K);
      addVector(out, o, values, (bh + t + 7 - S + h) * W, K);
    }
  }
  for (; t < nTrees; t++) {
    const ba = t * S;
    let a = 0;
    for (let s = 0; s < D; s++) {
      const wa = perfect[ba + a];
      const xa = codes[wa >> 9];
      a = 2 * a + 1 + (+(xa > (wa & 255)) ^ ((xa & wa) >> 8));
    }
    if (W === 1) out[o + treeOutput[t]] += values[ba + t - S + a];
    else addVector(out, o, values, (ba + t - S + a) * W, K);
  }
}

function nodeRow(cm: CompactModel, codes: Uint16Array, out: Float64Array, o: number, nTrees: number): void {
  const { nodes, roots, treeOutput, leafAt, values } = cm;
  const K = cm.nOutputs;
  const vector = cm.leafWidth > 1;
  let t = 0;
  for (; t + 4 <= nTrees; t += 4) {
    let a = roots[t];
    let b = roots[t + 1];
    let c = roots[t + 2];
    let d = roots[t + 3];
    let wa = nodes[2 * a];
    let wb = nodes[2 * b];
    let wc = nodes[2 * c];
    let wd = nodes[2 * d];
    // Leaves are negative: the AND of the four is negative only once all have reached one.
    while ((wa & wb & wc & wd) >= 0) {
      if (wa >= 0) {
        const x = codes[wa >> 9];
        a = nodes[2 * a + 1] + (+(x > (wa & 255)) ^ ((x & wa) >> 8));
        wa = nodes[2 * a];
      }
      if (wb >= 0) {
        const x = codes[wb >> 9];
        b = nodes[2 * b + 1] + (+(x > (wb & 255)) ^ ((x & wb) >> 8));
        wb = nodes[2 * b];
      }
      if (wc >= 0) {
        const x = codes[wc >> 9];
        c = nodes[2 * c + 1] + (+(x > (wc & 255)) ^ ((x & wc) >> 8));
        wc = nodes[2 * c];
      }
      if (wd >= 0) {
        const x = codes[wd >> 9];
        d = nodes[2 * d + 1] + (+(x > (wd & 255)) ^ ((x & wd) >> 8));
        wd = nodes[2 * d];
      }
    }
    if (vector) {
      // Tree by tree, in order: the same sums as the batch path, bit for bit.
      addVector(out, o, values, leafAt[a], K);
      addVector(out, o, values, leafAt[b], K);
      addVector(out, o, values, leafAt[c], K);
      addVector(out, o, values, leafAt[d], K);
    } else {
      out[o + treeOutput[t]] += values[leafAt[a]];
      out[o + treeOutput[t + 1]] += values[leafAt[b]];
      out[o + treeOutput[t + 2]] += values[leafAt[c]];
      out[o + treeOutput[t + 3]] += values[leafAt[d]];
    }
  }
  for (; t < nTrees; t++) {
    let a = roots[t];
    let wa = nodes[2 * a];
    while (wa >= 0) {
      const x = codes[wa >> 9];
      a = nodes[2 * a + 1] + (+(x > (wa & 255)) ^ ((x & wa) >> 8));
      wa = nodes[2 * a];
    }
    if (vector) addVector(out, o, values, leafAt[a], K);
    else out[o + treeOutput[t]] += values[leafAt[a]];
  }
}

/**
 * Rows [start, end) of a batch: out[i · K ..] = base + the leaves of the first nTrees trees.
 * Blocks of rows are coded once, then walked tree by tree, so each tree is read from memory once
 * per block rather than once per row.
 */
function predictRange(
  cm: CompactModel,
  data: FloatArray,
  rowStride: number,
  colStride: number,
  base: Float64Array,
  out: Float64Array,
  start: number,
  end: number,
  nTrees: number,
  /** Row i of the batch is row i − shift of `data`. */
  shift: number,
): void {
  const U = Math.max(1, cm.used.length);
  const K = cm.nOutputs;
  for (let i = start; i < end; i++) out.set(base, i * K);
  const kernel = kernelFor(cm);
  if (kernel) {
    for (let b0 = start; b0 < end; b0 += BLOCK) {
      const B = Math.min(BLOCK, end - b0);
      for (let r = 0; r < B; r++)
        codeRow(cm, data, (b0 + r - shift) * rowStride, colStride, kernel.codes, r * U);
      kernel.out.set(out.subarray(b0 * K, (b0 + B) * K));
      kernel.block(B, nTrees);
      out.set(kernel.out.subarray(0, B * K), b0 * K);
    }
    return;
  }
  const codes = new Uint16Array(BLOCK * U);
  for (let b0 = start; b0 < end; b0 += BLOCK) {
    const B = Math.min(BLOCK, end - b0);
    for (let r = 0; r < B; r++) codeRow(cm, data, (b0 + r - shift) * rowStride, colStride, codes, r * U);
    if (cm.perfectDepth >= 0) perfectBlock(cm, codes, U, out, b0 * K, B, nTrees);
    else nodeBlock(cm, codes, U, out, b0 * K, B, nTrees);
  }
}

/** Tree by tree over a block of B coded rows, four rows side by side (independent chains). */
function perfectBlock(
  cm: CompactModel,
  codes: Uint16Array,
  U: number,
  out: Float64Array,
  o0: number,
  B: number,
  nTrees: number,
): void {
  const { perfect, perfectValues: values, treeOutput } = cm;
  const D = cm.perfectDepth;
  const S = (1 << D) - 1;
  const K = cm.nOutputs;
  const W = cm.leafWidth;
  for (let t = 0; t < nTrees; t++) {
    const bt = t * S;
    const vt = bt + t - S;
    const k = treeOutput[t];
    let r = 0;
    for (; r + 8 <= B; r += 8) {
      const ca = r * U;
      const cb = ca + U;
      const cc = cb + U;
      const cd = cc + U;
      const ce = cd + U;
      const cf = ce + U;
      const cg = cf + U;
      const ch = cg + U;
      let a = 0;
      let b = 0;
      let c = 0;
      let d = 0;
      let e = 0;
      let f = 0;
      let g = 0;
      let h = 0;
      for (let s = 0; s < D; s++) {
        const wa = perfect[bt + a];
        const wb = perfect[bt + b];
        const wc = perfect[bt + c];
        const wd = perfect[bt + d];
        const we = perfect[bt + e];
        const wf = perfect[bt + f];
        const wg = perfect[bt + g];
        const wh = perfect[bt + h];
        const xa = codes[ca + (wa >> 9)];
        const xb = codes[cb + (wb >> 9)];
        const xc = codes[cc + (wc >> 9)];
        const xd = codes[cd + (wd >> 9)];
        const xe = codes[ce + (we >> 9)];
        const xf = codes[cf + (wf >> 9)];
        const xg = codes[cg + (wg >> 9)];
        const xh = codes[ch + (wh >> 9)];
        a = 2 * a + 1 + (+(xa > (wa & 255)) ^ ((xa & wa) >> 8));
        b = 2 * b + 1 + (+(xb > (wb & 255)) ^ ((xb & wb) >> 8));
        c = 2 * c + 1 + (+(xc > (wc & 255)) ^ ((xc & wc) >> 8));
        d = 2 * d + 1 + (+(xd > (wd & 255)) ^ ((xd & wd) >> 8));
        e = 2 * e + 1 + (+(xe > (we & 255)) ^ ((xe & we) >> 8));
        f = 2 * f + 1 + (+(xf > (wf & 255)) ^ ((xf & wf) >> 8));
        g = 2 * g + 1 + (+(xg > (wg & 255)) ^ ((xg & wg) >> 8));
        h = 2 * h + 1 + (+(xh > (wh & 255)) ^ ((xh & wh) >> 8));
      }
      const o = o0 + r * K;
      if (W === 1) {
        out[o + 0 * K + k] += values[vt + a];
        out[o + 1 * K + k] += values[vt + b];
        out[o + 2 * K + k] += values[vt + c];
        out[o + 3 * K + k] += values[vt + d];
        out[o + 4 * K + k] += values[vt + e];
        out[o + 5 * K + k] += values[vt + f];
        out[o + 6 * K + k] += values[vt + g];
        out[o + 7 * K + k] += values[vt + h];
      } else {
        addVector(out, o + 0 * K, values, (vt + a) * W, K);
        addVector(out, o + 1 * K, values, (vt + b) * W, K);
        addVector(out, o + 2 * K, values, (vt + c) * W, K);
        addVector(out, o + 3 * K, values, (vt + d) * W, K);
        addVector(out, o + 4 * K, values, (vt + e) * W, K);
        addVector(out, o + 5 * K, values, (vt + f) * W, K);
        addVector(out, o + 6 * K, values, (vt + g) * W, K);
        addVector(out, o + 7 * K, values, (vt + h) * W, K);
      }
    }
    for (; r < B; r++) {
      const ca = r * U;
      let a = 0;
      for (let s = 0; s < D; s++) {
        const wa = perfect[bt + a];
        const xa = codes[ca + (wa >> 9)];
        a = 2 * a + 1 + (+(xa > (wa & 255)) ^ ((xa & wa) >> 8));
      }
      const o = o0 + r * K;
      if (W === 1) out[o + k] += values[vt + a];
      else addVector(out, o, values, (vt + a) * W, K);
    }
  }
}

/** Tree by tree over a block of B coded rows, four rows side by side, with node pointers. */
function nodeBlock(
  cm: CompactModel,
  codes: Uint16Array,
  U: number,
  out: Float64Array,
  o0: number,
  B: number,
  nTrees: number,
): void {
  const { nodes, roots, treeOutput, leafAt, values } = cm;
  const K = cm.nOutputs;
  const W = cm.leafWidth;
  for (let t = 0; t < nTrees; t++) {
    const root = roots[t];
    const k = treeOutput[t];
    const w0 = nodes[2 * root];
    let r = 0;
    for (; r + 4 <= B; r += 4) {
      const ca = r * U;
      const cb = ca + U;
      const cc = cb + U;
      const cd = cc + U;
      let a = root;
      let b = root;
      let c = root;
      let d = root;
      let wa = w0;
      let wb = w0;
      let wc = w0;
      let wd = w0;
      while ((wa & wb & wc & wd) >= 0) {
        if (wa >= 0) {
          const x = codes[ca + (wa >> 9)];
          a = nodes[2 * a + 1] + (+(x > (wa & 255)) ^ ((x & wa) >> 8));
          wa = nodes[2 * a];
        }
        if (wb >= 0) {
          const x = codes[cb + (wb >> 9)];
          b = nodes[2 * b + 1] + (+(x > (wb & 255)) ^ ((x & wb) >> 8));
          wb = nodes[2 * b];
        }
        if (wc >= 0) {
          const x = codes[cc + (wc >> 9)];
          c = nodes[2 * c + 1] + (+(x > (wc & 255)) ^ ((x & wc) >> 8));
          wc = nodes[2 * c];
        }
        if (wd >= 0) {
          const x = codes[cd + (wd >> 9)];
          d = nodes[2 * d + 1] + (+(x > (wd & 255)) ^ ((x & wd) >> 8));
          wd = nodes[2 * d];
        }
      }
      const o = o0 + r * K;
      if (W === 1) {
        out[o + k] += values[leafAt[a]];
        out[o + K + k] += values[leafAt[b]];
        out[o + 2 * K + k] += values[leafAt[c]];
        out[o + 3 * K + k] += values[leafAt[d]];
      } else {
        addVector(out, o, values, leafAt[a], K);
        addVector(out, o + K, values, leafAt[b], K);
        addVector(out, o + 2 * K, values, leafAt[c], K);
        addVector(out, o + 3 * K, values, leafAt[d], K);
      }
    }
    for (; r < B; r++) {
      const ca = r * U;
      let a = root;
      let wa = w0;
      while (wa >= 0) {
        const x = codes[ca + (wa >> 9)];
        a = nodes[2 * a + 1] + (+(x > (wa & 255)) ^ ((x & wa) >> 8));
        wa = nodes[2 * a];
      }
      const o = o0 + r * K;
      if (W === 1) out[o + k] += values[leafAt[a]];
      else addVector(out, o, values, leafAt[a], K);
    }
  }
}

function addVector(out: Float64Array, o: number, values: Float64Array, v: number, K: number): void {
  for (let k = 0; k < K; k++) out[o + k] += values[v + k];
}

/** This module, for the worker pool (which maps it to its compiled copy under Vitest). */
export const COMPACT_MODULE = import.meta.url;

/**
 * Raw scores of a batch: row-major nRows × nOutputs, base plus the leaves of the first nTrees
 * trees. Large batches are split into contiguous row ranges over the cores: the calling thread
 * scores the first range while pool workers score the others (their rows copied to shared memory
 * unless they already are), all writing into one shared output; the call blocks until all are
 * done. Each row's sum is the same whichever thread computes it.
 */
export function compactPredict(
  cm: CompactModel,
  X: Matrix,
  base: Float64Array,
  nTrees: number,
): Float64Array {
  const n = X.nRows;
  const K = cm.nOutputs;
  const { rowStride, colStride } = strides(X);
  const data = X.data;
  // Inside a pool worker (a fold of parallel model selection) the cores are already taken.
  const threads =
    isMainThread && n >= PARALLEL_MIN_ROWS && n * cm.steps >= PARALLEL_MIN_STEPS
      ? Math.min(defaultThreads(), Math.floor(n / (PARALLEL_MIN_ROWS / 2)))
      : 1;
  if (threads <= 1) {
    const out = new Float64Array(n * K);
    predictRange(cm, data, rowStride, colStride, base, out, 0, n, nTrees, 0);
    return out;
  }
  const out = new Float64Array(new SharedArrayBuffer(n * K * 8));
  const ctrl = teamControl();
  const bound = (t: number) => Math.round((t * n) / threads);
  const pool = sharedPool();
  const isShared = data.buffer instanceof SharedArrayBuffer;
  let whole: FloatArray | null = isShared ? data : null;
  for (let t = 1; t < threads; t++) {
    const s = bound(t);
    const e = bound(t + 1);
    let part: FloatArray;
    let shift = 0;
    if (!isShared && X.layout === "row") {
      part = sharedCopy(data.subarray(s * rowStride, e * rowStride));
      shift = s;
    } else {
      whole ??= sharedCopy(data);
      part = whole;
    }
    const args = { model: cm, data: part, rowStride, colStride, base, out, start: s, end: e, nTrees, shift };
    // A failing worker marks the team failed (awaitTeam throws); the rejection itself says no more.
    pool.call(COMPACT_MODULE, "predictPart", { ...args, team: ctrl }).catch(() => {});
  }
  predictRange(cm, data, rowStride, colStride, base, out, 0, bound(1), nTrees, 0);
  awaitTeam(ctrl, threads - 1);
  return out;
}

/** Worker side of `compactPredict`: scores rows [start, end) and counts itself done. */
export function predictPart(args: {
  model: CompactModel;
  data: FloatArray;
  rowStride: number;
  colStride: number;
  base: Float64Array;
  out: Float64Array;
  start: number;
  end: number;
  nTrees: number;
  shift: number;
  team: Int32Array;
}): void {
  const a = args;
  predictRange(a.model, a.data, a.rowStride, a.colStride, a.base, a.out, a.start, a.end, a.nTrees, a.shift);
  finishTeamTask(a.team);
}
