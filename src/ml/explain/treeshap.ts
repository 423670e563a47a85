import { NetwardenError } from "../../core/index.js";
import { strides } from "../matrix.js";
import type { TreeNodes } from "../tree/ensemble.js";
import type { Explanation, Matrix } from "../types.js";

/**
 * The parts of a TreeEnsemble TreeSHAP reads. Scalar leaves (leafWidth 1): tree t adds its leaf
 * value to output treeOutput[t]. Vector leaves (leafWidth = nOutputs): `nodes.value` holds
 * leafWidth values per node and a tree adds its whole leaf vector to all outputs.
 */
export interface ShapTrees {
  readonly nOutputs: number;
  readonly leafWidth: number;
  readonly roots: Int32Array;
  readonly treeOutput: Int32Array;
  readonly nodes: TreeNodes;
}

/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, "Consistent individualized feature
 * attribution for tree ensembles", Algorithm 2), using node covers as the background
 * distribution. Contributions are in the space of `predictRaw(X, base)`: for every row and output,
 * expectedValue + Σ contributions equals the raw score. Missing values follow the node's default
 * direction.
 */
export function treeShap(trees: ShapTrees, X: Matrix, base: Float64Array): Explanation {
  const K = trees.nOutputs;
  if (base.length !== K) {
    throw new NetwardenError("NW_INTERNAL", `treeShap: base has ${base.length} values for ${K} outputs`, {
      hint: "This is a bug in netwarden; please report it",
    });
  }
  const F = X.nCols;
  const n = X.nRows;
  const values = new Float64Array(n * K * F);
  const walker = new ShapWalker(trees, F);
  const { rowStride, colStride } = strides(X);
  const row = new Float64Array(F);
  for (let i = 0; i < n; i++) {
    const o = i * rowStride;
    for (let j = 0; j < F; j++) row[j] = X.data[o + j * colStride];
    walker.explainRow(row, values, i * K * F);
  }
  return { values, expectedValue: shapExpectedValue(trees, base), nOutputs: K };
}

/** base plus every tree's cover-weighted mean leaf value: the mean raw score over the training data. */
export function shapExpectedValue(trees: ShapTrees, base: Float64Array): Float64Array {
  const out = Float64Array.from(base);
  const W = trees.leafWidth;
  const { feature, left, right, value, cover } = trees.nodes;
  const weight = new Float64Array(feature.length);
  for (let t = 0; t < trees.roots.length; t++) {
    const stack = [trees.roots[t]];
    weight[trees.roots[t]] = 1;
    while (stack.length > 0) {
      const node = stack.pop() as number;
      const w = weight[node];
      if (feature[node] < 0) {
        if (W === 1) out[trees.treeOutput[t]] += w * value[node];
        else for (let k = 0; k < W; k++) out[k] += w * value[node * W + k];
        continue;
      }
      const l = left[node];
      const r = right[node];
      const fl = leftShare(cover[l], cover[r]);
      weight[l] = w * fl;
      weight[r] = w * (1 - fl);
      stack.push(r, l);
    }
  }
  return out;
}

/**
 * Share of the background that goes left. The children's covers, not the parent's, are the
 * denominator so that the shares sum to 1 exactly and additivity holds even when a stored parent
 * cover is rounded.
 */
function leftShare(cl: number, cr: number): number {
  const s = cl + cr;
  return s > 0 ? cl / s : 0.5;
}

/** Deepest path (in edges) of any tree. */
function maxDepth(trees: ShapTrees): number {
  const { feature, left, right } = trees.nodes;
  const depth = new Int32Array(feature.length);
  let max = 0;
  for (const root of trees.roots) {
    const stack = [root];
    depth[root] = 0;
    while (stack.length > 0) {
      const node = stack.pop() as number;
      if (feature[node] < 0) {
        if (depth[node] > max) max = depth[node];
        continue;
      }
      depth[left[node]] = depth[node] + 1;
      depth[right[node]] = depth[node] + 1;
      stack.push(left[node], right[node]);
    }
  }
  return max;
}

/**
 * One row at a time through every tree. The "unique path" of the paper is kept as four typed
 * arrays; each recursion level works on its own slice, copied from its parent's, so nothing is
 * allocated per node.
 */
class ShapWalker {
  private readonly pathFeature: Int32Array;
  private readonly pathZero: Float64Array;
  private readonly pathOne: Float64Array;
  private readonly pathWeight: Float64Array;
  private readonly leafWidth: number;
  private row: Float64Array = new Float64Array(0);
  private phi: Float64Array = new Float64Array(0);
  /** Offset in phi of the current row's output 0 and of the current tree's output. */
  private rowOffset = 0;
  private treeOffset = 0;

  constructor(
    private readonly trees: ShapTrees,
    private readonly nFeatures: number,
  ) {
    const d = maxDepth(trees) + 2;
    // Level ℓ's slice starts at most Σ_{m<ℓ} (m + 2) entries in and holds ℓ + 2 entries.
    const size = ((d + 2) * (d + 3)) / 2;
    this.pathFeature = new Int32Array(size);
    this.pathZero = new Float64Array(size);
    this.pathOne = new Float64Array(size);
    this.pathWeight = new Float64Array(size);
    this.leafWidth = trees.leafWidth;
  }

  explainRow(row: Float64Array, phi: Float64Array, offset: number): void {
    this.row = row;
    this.phi = phi;
    this.rowOffset = offset;
    const { roots, treeOutput } = this.trees;
    for (let t = 0; t < roots.length; t++) {
      this.treeOffset = offset + (this.leafWidth === 1 ? treeOutput[t] * this.nFeatures : 0);
      this.recurse(roots[t], 0, 0, 0, 1, 1, -1);
    }
  }

  private recurse(
    node: number,
    parentOff: number,
    off: number,
    depth: number,
    zeroFraction: number,
    oneFraction: number,
    featureIndex: number,
  ): void {
    const pf = this.pathFeature;
    const pz = this.pathZero;
    const po = this.pathOne;
    const pw = this.pathWeight;
    if (off !== parentOff) {
      pf.copyWithin(off, parentOff, parentOff + depth);
      pz.copyWithin(off, parentOff, parentOff + depth);
      po.copyWithin(off, parentOff, parentOff + depth);
      pw.copyWithin(off, parentOff, parentOff + depth);
    }
    this.extend(off, depth, zeroFraction, oneFraction, featureIndex);
    const { feature, threshold, left, right, defaultLeft, value, cover } = this.trees.nodes;
    const split = feature[node];
    if (split < 0) {
      const W = this.leafWidth;
      const F = this.nFeatures;
      const phi = this.phi;
      for (let i = 1; i <= depth; i++) {
        const w = this.unwoundSum(off, depth, i) * (po[off + i] - pz[off + i]);
        const f = pf[off + i];
        if (W === 1) phi[this.treeOffset + f] += w * value[node];
        else for (let k = 0; k < W; k++) phi[this.rowOffset + k * F + f] += w * value[node * W + k];
      }
      return;
    }
    const x = this.row[split];
    const goLeft = Number.isNaN(x) ? defaultLeft[node] === 1 : x <= threshold[node];
    const l = left[node];
    const r = right[node];
    const fl = leftShare(cover[l], cover[r]);
    const hot = goLeft ? l : r;
    const cold = goLeft ? r : l;
    const hotZero = goLeft ? fl : 1 - fl;
    let inZero = 1;
    let inOne = 1;
    // A feature met again on the path: undo its earlier entry so it is counted once.
    let k = 0;
    while (k <= depth && pf[off + k] !== split) k++;
    if (k <= depth) {
      inZero = pz[off + k];
      inOne = po[off + k];
      this.unwind(off, depth, k);
      depth -= 1;
    }
    const childOff = off + depth + 2;
    this.recurse(hot, off, childOff, depth + 1, hotZero * inZero, inOne, split);
    this.recurse(cold, off, childOff, depth + 1, (1 - hotZero) * inZero, 0, split);
  }

  private extend(off: number, depth: number, zeroFraction: number, oneFraction: number, f: number): void {
    const pw = this.pathWeight;
    this.pathFeature[off + depth] = f;
    this.pathZero[off + depth] = zeroFraction;
    this.pathOne[off + depth] = oneFraction;
    pw[off + depth] = depth === 0 ? 1 : 0;
    for (let i = depth - 1; i >= 0; i--) {
      pw[off + i + 1] += (oneFraction * pw[off + i] * (i + 1)) / (depth + 1);
      pw[off + i] = (zeroFraction * pw[off + i] * (depth - i)) / (depth + 1);
    }
  }

  private unwind(off: number, depth: number, index: number): void {
    const pf = this.pathFeature;
    const pz = this.pathZero;
    const po = this.pathOne;
    const pw = this.pathWeight;
    const one = po[off + index];
    const zero = pz[off + index];
    let next = pw[off + depth];
    for (let i = depth - 1; i >= 0; i--) {
      if (one !== 0) {
        const tmp = pw[off + i];
        pw[off + i] = (next * (depth + 1)) / ((i + 1) * one);
        next = tmp - (pw[off + i] * zero * (depth - i)) / (depth + 1);
      } else {
        pw[off + i] = (pw[off + i] * (depth + 1)) / (zero * (depth - i));
      }
    }
    for (let i = index; i < depth; i++) {
      pf[off + i] = pf[off + i + 1];
      pz[off + i] = pz[off + i + 1];
      po[off + i] = po[off + i + 1];
    }
  }

  /** Total path weight with entry `index` removed, without changing the path. */
  private unwoundSum(off: number, depth: number, index: number): number {
    const pw = this.pathWeight;
    const one = this.pathOne[off + index];
    const zero = this.pathZero[off + index];
    let next = pw[off + depth];
    let total = 0;
    for (let i = depth - 1; i >= 0; i--) {
      if (one !== 0) {
        const tmp = (next * (depth + 1)) / ((i + 1) * one);
        total += tmp;
        next = pw[off + i] - (tmp * zero * (depth - i)) / (depth + 1);
      } else if (zero !== 0) {
        total += (pw[off + i] / zero) * ((depth + 1) / (depth - i));
      }
    }
    return total;
  }
}
