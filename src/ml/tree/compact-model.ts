/**
 * A tree ensemble recompiled for prediction. Each input value is turned once into a byte code
 * (how many of the thresholds the model uses on that feature are below it), so a split is an
 * integer compare. A row has two codes per used feature: slot u and slot U + u, equal except for
 * a missing value, which is 0 in the first (left at every split) and 255 in the second (right at
 * every split: ranks are at most 254). A node's word is slot · 256 + rank, its slot chosen by
 * where the node sends missing values, and a row goes right when its code in that slot > rank,
 * which equals x > threshold for every non-missing x.
 *
 * Node form: two int32 per node, the word (−1 on a leaf) and its left child (right = left + 1; a
 * leaf points to itself). Leaf values are added tree by tree in the ensemble's order, so results
 * are bit for bit those of the float walk.
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
   * When every tree is at most MAX_PERFECT_DEPTH (compact.ts) deep and at most 128 features are used: each tree
   * again as a perfect binary tree of depth `perfectDepth` (shallow leaves turned into words that
   * pass left), in `perfectLayout` order (below), and the values of its 2^depth leaves. A walk is then a
   * fixed number of branch-free steps with no child pointers; −1 when not built.
   */
  perfectDepth: number;
  perfect: Uint16Array;
  perfectValues: Float64Array;
  /** Each tree's own depth: below it its perfect words only pass left, so a walk may stop there. */
  treeDepth: Uint8Array;
}

/** Levels of a perfect tree in its top block: 2^5 u16 words, one cache line. */
const TOP_LEVELS = 5;

export interface PerfectLayout {
  P: number;
  sub: number;
  words: number;
}

/**
 * Where a perfect tree of depth D keeps its words: its top P = min(D, 5) levels in a block of 2^P
 * u16 words (heap order from index 1: one cache line), then, for each of the 2^P top leaves j, a
 * block of 2^(D − P) words with the next levels (heap order from 1) at 2^P + j · 2^(D − P). A walk
 * reads two cache lines instead of one per level. `words` per tree. (The kernel's batch walk
 * lays them out again in plain heap order: see `heapWords` in compact-kernel.ts.)
 */
export function perfectLayout(D: number): PerfectLayout {
  const P = Math.min(D, TOP_LEVELS);
  return { P, sub: D - P, words: D > P ? (1 << P) + (1 << D) : 1 << D };
}

/** Word index in its tree of the node with heap index h (from 1) on `level`. */
export function perfectWord(h: number, level: number, P: number, sub: number): number {
  if (level < P) return h;
  const below = level - P;
  const q = h - (1 << level);
  return (1 << P) + ((q >> below) << sub) + (1 << below) + (q & ((1 << below) - 1));
}
