import type { TreeNodes } from "../tree/ensemble.js";
import { binnedLeaf, type GrowParams, HistGrower } from "./grower.js";

/**
 * The state of a boosting fit that the threads growing its trees share. Margins are class-major
 * (margins[k * n + i]) so that the thread growing class k's tree is the only writer of its slice.
 */
export interface BoostShared {
  /** Identifies the fit: a worker rebuilds its grower when the key changes. */
  key: string;
  n: number;
  nOutputs: number;
  /** Column-major bins of the training rows; missing bin of f is nBins[f]. */
  bins: Uint8Array;
  nBins: Uint16Array;
  upper: readonly Float64Array[];
  grow: GrowParams;
  /** Gradient pairs, class-major and interleaved (see HistShared.gh). */
  gh: Float64Array;
  margins: Float64Array;
  /** The round's row sample (sorted; its first `sampleLen` entries) and its membership flags. */
  sample: Int32Array;
  inSample: Uint8Array;
  /** Validation rows (column-major bins) and their class-major margins, when there are any. */
  vBins: Uint8Array | null;
  vn: number;
  vMargins: Float64Array | null;
}

/** A grown tree, trimmed to its nodes, with the bin index of each threshold. */
export interface ClassTree {
  k: number;
  nNodes: number;
  nodes: TreeNodes;
  binThreshold: Int32Array;
}

/**
 * Grows class k's tree of the current round with `grower` and adds its leaf values to the
 * training and validation margins of class k. `sampleLen` 0 means every row.
 */
export function growClassTreeWith(
  grower: HistGrower,
  sh: BoostShared,
  k: number,
  features: Int32Array,
  sampleLen: number,
): ClassTree {
  const sample = sampleLen > 0 ? sh.sample.subarray(0, sampleLen) : null;
  const nNodes = grower.grow(k, sample, features);
  const nd = grower.nodes;
  const { feature, value } = nd;
  const idx = grower.rowIndex;
  const n = sh.n;
  const m = sh.margins;
  const o = k * n;
  // Rows of the sample already sit in their leaf's range; only the others need a walk.
  for (let node = 0; node < nNodes; node++) {
    if (feature[node] >= 0) continue;
    const v = value[node];
    for (let i = grower.nodeStart[node]; i < grower.nodeEnd[node]; i++) m[o + idx[i]] += v;
  }
  if (sample) {
    for (let r = 0; r < n; r++) {
      if (sh.inSample[r]) continue;
      m[o + r] += value[binnedLeaf(nd, grower.binThreshold, sh.nBins, sh.bins, n, r)];
    }
  }
  if (sh.vBins && sh.vMargins) {
    const vo = k * sh.vn;
    for (let r = 0; r < sh.vn; r++) {
      sh.vMargins[vo + r] += value[binnedLeaf(nd, grower.binThreshold, sh.nBins, sh.vBins, sh.vn, r)];
    }
  }
  return {
    k,
    nNodes,
    nodes: {
      feature: nd.feature.slice(0, nNodes),
      threshold: nd.threshold.slice(0, nNodes),
      left: nd.left.slice(0, nNodes),
      right: nd.right.slice(0, nNodes),
      defaultLeft: nd.defaultLeft.slice(0, nNodes),
      value: nd.value.slice(0, nNodes),
      gain: nd.gain.slice(0, nNodes),
      cover: nd.cover.slice(0, nNodes),
    },
    binThreshold: grower.binThreshold.slice(0, nNodes),
  };
}

/** A one-thread grower over the shared state (its gradients are the shared ones). */
export function classTreeGrower(sh: BoostShared): HistGrower {
  return new HistGrower(
    { bins: sh.bins, nRows: sh.n, nFeatures: sh.nBins.length },
    { nFeatures: sh.nBins.length, nBins: sh.nBins, upper: sh.upper },
    sh.nOutputs,
    sh.grow,
    1,
    sh.gh,
  );
}

/** This module, for the worker pool (which maps it to its compiled copy under Vitest). */
export const TREES_MODULE = import.meta.url;

let cached: { key: string; grower: HistGrower } | null = null;

/**
 * Worker side of tree-parallel boosting (one tree per class per round, the classes of a round
 * spread over threads): grows class k's tree. The grower is kept between calls of the same fit.
 */
export function growClassTree(args: {
  shared: BoostShared;
  k: number;
  features: Int32Array;
  sampleLen: number;
}): ClassTree {
  const sh = args.shared;
  if (!cached || cached.key !== sh.key) cached = { key: sh.key, grower: classTreeGrower(sh) };
  return growClassTreeWith(cached.grower, sh, args.k, args.features, args.sampleLen);
}

/**
 * Fills the gradient pairs (class-major, interleaved: gh[k * 2n + 2i] = g, gh[k * 2n + 2i + 1] = h)
 * of rows [start, end) for the current margins (class-major: margins[k * n + i]) and writes
 * their weighted log-loss sum and weight sum to sums[0] and sums[1].
 */
function gradientRange(
  margins: Float64Array,
  y: Int32Array,
  w: Float64Array,
  nOut: number,
  gh: Float64Array,
  start: number,
  end: number,
  sums: Float64Array,
): void {
  const n = y.length;
  let loss = 0;
  let wsum = 0;
  if (nOut === 1) {
    for (let i = start; i < end; i++) {
      const z = margins[i];
      // One exp serves the probability and the loss: softplus(±z) = max(±z, 0) + log1p(e^-|z|).
      const e = Math.exp(-Math.abs(z));
      const p = z >= 0 ? 1 / (1 + e) : e / (1 + e);
      const t = y[i];
      const wi = w[i];
      gh[2 * i] = (p - t) * wi;
      gh[2 * i + 1] = Math.max(p * (1 - p), 1e-16) * wi;
      const hinge = Math.max(t === 1 ? -z : z, 0);
      loss += wi * (hinge + Math.log1p(e));
      wsum += wi;
    }
    sums[0] = loss;
    sums[1] = wsum;
    return;
  }
  const ex = new Float64Array(nOut);
  const stride = 2 * n;
  for (let i = start; i < end; i++) {
    let max = margins[i];
    for (let k = 1; k < nOut; k++) if (margins[k * n + i] > max) max = margins[k * n + i];
    let sum = 0;
    for (let k = 0; k < nOut; k++) sum += ex[k] = Math.exp(margins[k * n + i] - max);
    const wi = w[i];
    const t = y[i];
    for (let k = 0; k < nOut; k++) {
      const p = ex[k] / sum;
      const q = k * stride + 2 * i;
      gh[q] = (p - (k === t ? 1 : 0)) * wi;
      gh[q + 1] = Math.max(p * (1 - p), 1e-16) * wi;
    }
    loss += wi * (Math.log(sum) + max - margins[t * n + i]);
    wsum += wi;
  }
  sums[0] = loss;
  sums[1] = wsum;
}

/** Rows per gradient chunk: chunks are the unit of work and of the loss sum, whatever the threads. */
export const GRAD_CHUNK = 8192;

/**
 * Gradients of chunks [c0, c1) of rows (GRAD_CHUNK each) of a fit; chunk c's loss and weight sums
 * go to partial[2c] and partial[2c + 1]. Runs on a worker or inline.
 */
export function gradientChunks(args: {
  shared: BoostShared;
  y: Int32Array;
  w: Float64Array;
  c0: number;
  c1: number;
  partial: Float64Array;
}): void {
  const { shared: sh, y, w, partial } = args;
  const n = y.length;
  for (let c = args.c0; c < args.c1; c++) {
    const s = c * GRAD_CHUNK;
    const e = Math.min(n, s + GRAD_CHUNK);
    gradientRange(sh.margins, y, w, sh.nOutputs, sh.gh, s, e, partial.subarray(2 * c, 2 * c + 2));
  }
}
