import { isMainThread } from "node:worker_threads";
import { softmaxRows, strides } from "../matrix.js";
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
import { type CompactModel, type PerfectLayout, perfectLayout, perfectWord } from "./compact-model.js";
import type { TreeNodes } from "./ensemble.js";

export type { CompactModel } from "./compact-model.js";

/** Most distinct thresholds per feature: a value's code (how many are below it) fits a byte. */
const MAX_CUTS = 255;
/** Deepest trees laid out as perfect trees (2^10 leaves each at most). */
const MAX_PERFECT_DEPTH = 10;
/** A word that sends every code left (no code is above rank 255). */
const PASS_LEFT = 255;
/** Rows coded and walked together in a batch: the block's codes and a tree stay in L1. */
const BLOCK = 256;
/** Below this many rows a batch stays on the calling thread. */
const PARALLEL_MIN_ROWS = 16_384;
/** ... and below this many tree steps (rows × the trees' depths): a few milliseconds of work. */
const PARALLEL_MIN_STEPS = 8_000_000;

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
    nodes[2 * i] = ((defaultLeft[i] ? u : used.length + u) << 8) | lo;
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
  let perfect = new Uint16Array(new SharedArrayBuffer(2));
  let perfectValues = sharedF64(0);
  // Words are u16: the slot (< 2 · 128) above the rank.
  if (D <= MAX_PERFECT_DEPTH && used.length <= 128) {
    perfectDepth = D;
    const { P, sub, words: TW } = perfectLayout(D);
    const L = 1 << D;
    perfect = new Uint16Array(new SharedArrayBuffer(Math.max(1, T * TW) * 2));
    perfectValues = sharedF64(T * L * W);
    const place = (t: number, i: number, h: number, level: number): void => {
      if (level === D) {
        const v = (t * L + h - L) * W;
        for (let k = 0; k < W; k++) perfectValues[v + k] = values[leafAt[i] + k];
        return;
      }
      const leaf = nodes[2 * i] < 0;
      perfect[t * TW + perfectWord(h, level, P, sub)] = leaf ? PASS_LEFT : nodes[2 * i];
      place(t, leaf ? i : nodes[2 * i + 1], 2 * h, level + 1);
      place(t, leaf ? i : nodes[2 * i + 1] + 1, 2 * h + 1, level + 1);
    };
    for (let t = 0; t < T; t++) place(t, e.roots[t], 1, 0);
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

/** Both codes of each used feature of one row (x at data[xo + f · colStride]) into codes[co ..]. */
function codeRow(
  cm: CompactModel,
  data: FloatArray,
  xo: number,
  colStride: number,
  codes: Uint8Array,
  co: number,
): void {
  const { used, cuts, cutStart } = cm;
  const U = used.length;
  for (let u = 0; u < U; u++) {
    const x = data[xo + used[u] * colStride];
    if (Number.isNaN(x)) {
      codes[co + u] = 0;
      codes[co + U + u] = 255;
      continue;
    }
    // Branch-free lower bound (the count of cuts below x): a fixed number of halvings per
    // feature, no mispredicted jumps on the data. Every slot has at least one cut.
    const s = cutStart[u];
    let len = cutStart[u + 1] - s;
    let base = s;
    while (len > 1) {
      const half = len >>> 1;
      base += +(cuts[base + half - 1] < x) * half;
      len -= half;
    }
    codes[co + u] = codes[co + U + u] = base - s + +(cuts[base] < x);
  }
}

const rowCodes = new Map<CompactModel, Uint8Array>();
/**
 * The WebAssembly kernel of each model in this thread (null: it has none), made once: an instance
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

/** What a batch's raw sums become before they are returned: themselves, or a softmax per row. */
export type CompactLink = "raw" | "softmax";

/**
 * Adds one row's leaves to out[o .. o + nOutputs) (a single row's latency is what a served request
 * waits for: the kernel walks eight trees side by side, eight independent chains of loads).
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
  // The node walk skips a pure leaf's zeros, which adds nothing unless a sum is −0 (never, from a
  // base of +0 and no −0 leaf: but a caller's base could be −0).
  if (kernel && (kernel.blocks || !hasMinusZero(out, o, cm.nOutputs))) {
    const K = cm.nOutputs;
    kernel.tableRow(data, xo, colStride);
    // Element loops, not subarray views: a view is an allocation, and this path is microseconds.
    const ko = kernel.out;
    for (let k = 0; k < K; k++) ko[k] = out[o + k];
    kernel.row(nTrees);
    for (let k = 0; k < K; k++) out[o + k] = ko[k];
    return;
  }
  let codes = rowCodes.get(cm);
  if (!codes) {
    codes = new Uint8Array(Math.max(1, 2 * cm.used.length));
    rowCodes.clear();
    rowCodes.set(cm, codes);
  }
  codeRow(cm, data, xo, colStride, codes, 0);
  if (cm.perfectDepth >= 0) {
    const lay = perfectLayout(cm.perfectDepth);
    for (let t = 0; t < nTrees; t++) addPerfectLeaf(cm, lay, t, codes, 0, out, o);
  } else nodeRow(cm, codes, out, o, nTrees);
}

function hasMinusZero(a: Float64Array, o: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (a[o + k] === 0 && 1 / a[o + k] < 0) return true;
  return false;
}

/** Adds the leaf of tree t (perfect form) that the coded row at codes[c ..] reaches to out[o ..]. */
function addPerfectLeaf(
  cm: CompactModel,
  lay: PerfectLayout,
  t: number,
  codes: Uint8Array,
  c: number,
  out: Float64Array,
  o: number,
): void {
  const D = cm.perfectDepth;
  const { P, sub, words: TW } = lay;
  const words = cm.perfect;
  const m = cm.treeDepth[t];
  const tb = t * TW;
  const p1 = Math.min(m, P);
  const p2 = m - p1;
  let a = 1;
  for (let s = 0; s < p1; s++) {
    const w = words[tb + a];
    a = 2 * a + +(codes[c + (w >> 8)] > (w & 255));
  }
  const j = a - (1 << p1);
  const ub = tb + (1 << P) + (j << sub);
  let b = 1;
  for (let s = 0; s < p2; s++) {
    const w = words[ub + b];
    b = 2 * b + +(codes[c + (w >> 8)] > (w & 255));
  }
  const leaf = (t << D) + (((j << p2) + b - (1 << p2)) << (D - m));
  const W = cm.leafWidth;
  if (W === 1) out[o + cm.treeOutput[t]] += cm.perfectValues[leaf];
  else addVector(out, o, cm.perfectValues, leaf * W, cm.nOutputs);
}

function nodeRow(cm: CompactModel, codes: Uint8Array, out: Float64Array, o: number, nTrees: number): void {
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
        a = nodes[2 * a + 1] + +(codes[wa >> 8] > (wa & 255));
        wa = nodes[2 * a];
      }
      if (wb >= 0) {
        b = nodes[2 * b + 1] + +(codes[wb >> 8] > (wb & 255));
        wb = nodes[2 * b];
      }
      if (wc >= 0) {
        c = nodes[2 * c + 1] + +(codes[wc >> 8] > (wc & 255));
        wc = nodes[2 * c];
      }
      if (wd >= 0) {
        d = nodes[2 * d + 1] + +(codes[wd >> 8] > (wd & 255));
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
      a = nodes[2 * a + 1] + +(codes[wa >> 8] > (wa & 255));
      wa = nodes[2 * a];
    }
    if (vector) addVector(out, o, values, leafAt[a], K);
    else out[o + treeOutput[t]] += values[leafAt[a]];
  }
}

/**
 * Rows [start, end) of a batch: out[i · K ..] = base + the leaves of the first nTrees trees, then
 * the link. Blocks of rows are coded once, then walked tree by tree, so each tree is read from
 * memory once per block rather than once per row.
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
  link: CompactLink,
  /** When set, blocks are claimed from claims[part] (threads share the range); else all are ours. */
  claims?: Int32Array,
  part = 0,
): void {
  const U2 = Math.max(1, 2 * cm.used.length);
  const K = cm.nOutputs;
  const k = kernelFor(cm);
  const kernel = k?.blocks ? k : null;
  const codes = kernel ? null : new Uint8Array(BLOCK * U2);
  for (let next = 0; ; next++) {
    const b0 = start + BLOCK * (claims ? Atomics.add(claims, part, 1) : next);
    if (b0 >= end) break;
    const B = Math.min(BLOCK, end - b0);
    if (kernel) {
      kernel.codeRows(data, (b0 - shift) * rowStride, B, rowStride, colStride);
      kernel.block(B, nTrees, base);
      out.set(kernel.rows.subarray(0, B * K), b0 * K);
    } else if (codes) {
      for (let r = 0; r < B; r++) codeRow(cm, data, (b0 + r - shift) * rowStride, colStride, codes, r * U2);
      for (let i = b0; i < b0 + B; i++) out.set(base, i * K);
      if (cm.perfectDepth >= 0) {
        const lay = perfectLayout(cm.perfectDepth);
        for (let t = 0; t < nTrees; t++)
          for (let r = 0; r < B; r++) addPerfectLeaf(cm, lay, t, codes, r * U2, out, (b0 + r) * K);
      } else nodeBlock(cm, codes, U2, out, b0 * K, B, nTrees);
    }
    // While the block's outputs are still in cache.
    if (link === "softmax") softmaxRows(out, b0, b0 + B, K);
  }
}

/** Tree by tree over a block of B coded rows, four rows side by side, with node pointers. */
function nodeBlock(
  cm: CompactModel,
  codes: Uint8Array,
  U2: number,
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
      const ca = r * U2;
      const cb = ca + U2;
      const cc = cb + U2;
      const cd = cc + U2;
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
          a = nodes[2 * a + 1] + +(codes[ca + (wa >> 8)] > (wa & 255));
          wa = nodes[2 * a];
        }
        if (wb >= 0) {
          b = nodes[2 * b + 1] + +(codes[cb + (wb >> 8)] > (wb & 255));
          wb = nodes[2 * b];
        }
        if (wc >= 0) {
          c = nodes[2 * c + 1] + +(codes[cc + (wc >> 8)] > (wc & 255));
          wc = nodes[2 * c];
        }
        if (wd >= 0) {
          d = nodes[2 * d + 1] + +(codes[cd + (wd >> 8)] > (wd & 255));
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
      const ca = r * U2;
      let a = root;
      let wa = w0;
      while (wa >= 0) {
        a = nodes[2 * a + 1] + +(codes[ca + (wa >> 8)] > (wa & 255));
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
 * unless they already are), all writing into one shared output; then it helps with the workers'
 * ranges block by block (blocks are claimed atomically), and blocks until all are done. Each row's sum is the same whichever thread computes it. With `link` "softmax" each row
 * comes back as its softmax, computed by the thread that summed it.
 */
export function compactPredict(
  cm: CompactModel,
  X: Matrix,
  base: Float64Array,
  nTrees: number,
  link: CompactLink = "raw",
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
    predictRange(cm, data, rowStride, colStride, base, out, 0, n, nTrees, 0, link);
    return out;
  }
  const out = new Float64Array(new SharedArrayBuffer(n * K * 8));
  const ctrl = teamControl();
  // Part p's next block to score: a thread done with its own part helps with the others'.
  const claims = new Int32Array(new SharedArrayBuffer(4 * threads));
  const bound = (t: number) => Math.round((t * n) / threads);
  const pool = sharedPool();
  const isShared = data.buffer instanceof SharedArrayBuffer;
  let whole: FloatArray | null = isShared ? data : null;
  const parts: { data: FloatArray; shift: number }[] = [{ data, shift: 0 }];
  for (let t = 1; t < threads; t++) {
    const s = bound(t);
    const e = bound(t + 1);
    if (!isShared && X.layout === "row")
      parts.push({ data: sharedCopy(data.subarray(s * rowStride, e * rowStride)), shift: s });
    else {
      whole ??= sharedCopy(data);
      parts.push({ data: whole, shift: 0 });
    }
    const args = { model: cm, ...parts[t], rowStride, colStride, base, out, start: s, end: e, nTrees, link };
    // A failing worker marks the team failed (awaitTeam throws); the rejection itself says no more.
    pool.call(COMPACT_MODULE, "predictPart", { ...args, claims, part: t, team: ctrl }).catch(() => {});
  }
  predictRange(cm, data, rowStride, colStride, base, out, 0, bound(1), nTrees, 0, link);
  for (let t = 1; t < threads; t++) {
    const { data: d, shift } = parts[t];
    predictRange(
      cm,
      d,
      rowStride,
      colStride,
      base,
      out,
      bound(t),
      bound(t + 1),
      nTrees,
      shift,
      link,
      claims,
      t,
    );
  }
  awaitTeam(ctrl, threads - 1);
  return out;
}

/** Worker side of `compactPredict`: scores the blocks of rows [start, end) it claims and counts itself done. */
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
  link: CompactLink;
  claims: Int32Array;
  part: number;
  team: Int32Array;
}): void {
  const a = args;
  const { model, data, rowStride, colStride, base, out, start, end, nTrees, shift, link } = a;
  predictRange(
    model,
    data,
    rowStride,
    colStride,
    base,
    out,
    start,
    end,
    nTrees,
    shift,
    link,
    a.claims,
    a.part,
  );
  finishTeamTask(a.team);
}
