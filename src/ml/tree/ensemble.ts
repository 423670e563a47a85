import { NetwardenError } from "../../core/index.js";
import { softmaxRows, strides } from "../matrix.js";
import type { Matrix } from "../types.js";
import { type CompactModel, compactAddRow, compactModel, compactPays, compactPredict } from "./compact.js";

/** Shared by the small arrays `smallArray` hands out (64 KiB; a new one when it is used up). */
let slab = new ArrayBuffer(0);
let slabUsed = 0;

/**
 * A zeroed Float64Array of n values for a single row's result. V8 allocates a typed array over 64
 * bytes outside its heap, which costs about 0.4 µs, a tenth of a small model's whole prediction;
 * a view on a shared block costs 25 ns (Node pools small Buffers the same way). A view keeps its
 * block alive: 64 KiB for up to 800 ten-class results.
 */
function smallArray(n: number): Float64Array {
  if (n <= 8) return new Float64Array(n);
  if (slabUsed + 8 * n > slab.byteLength) {
    slab = new ArrayBuffer(Math.max(65_536, 8 * n));
    slabUsed = 0;
  }
  const a = new Float64Array(slab, slabUsed, n);
  slabUsed += 8 * n;
  return a;
}

/**
 * One tree as built: node 0 is the root; a leaf has feature -1. A row goes left when
 * x ≤ threshold, and a missing value (NaN) goes left when defaultLeft is 1.
 */
export interface TreeNodes {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  defaultLeft: Uint8Array;
  /**
   * Leaf output (0 on internal nodes). With vector leaves (leafWidth W > 1) node i owns
   * value[i * W .. i * W + W - 1].
   */
  value: Float64Array;
  /** Loss reduction of the split (0 on leaves); summed for feature importance. */
  gain: Float64Array;
  /** Sum of hessians (or of weights) that reached the node; TreeSHAP needs it. */
  cover: Float64Array;
}

/** JSON form of a TreeEnsemble: the node arrays as plain lists. */
export interface SerializedEnsemble {
  nOutputs: number;
  /** Values per leaf: 1 (scalar leaves, the default when absent) or nOutputs (vector leaves). */
  leafWidth?: number;
  roots: number[];
  treeOutput: number[];
  feature: number[];
  /** +Infinity is written as null (JSON has no infinity). */
  threshold: (number | null)[];
  left: number[];
  right: number[];
  defaultLeft: number[];
  value: number[];
  gain: number[];
  cover: number[];
}

/**
 * Trees flattened into shared node arrays. The two children of a node are stored next to each
 * other (right = left + 1), which lets prediction step without branches.
 *
 * Leaves are scalar (leafWidth 1: tree t adds its leaf value to output treeOutput[t], as in
 * gradient boosting with one tree per class) or vectors (leafWidth = nOutputs: a tree adds its
 * whole leaf vector to all outputs, as forests do with class distributions).
 */
export class TreeEnsemble {
  /**
   * The nodes packed for prediction, 16 bytes each so that a step reads one cache line: a float64
   * (the threshold; the leaf value for scalar leaves) and two int32 (feature · 2 + 1 when missing
   * values go right, or −1 on a leaf; the left child, right = left + 1). Same buffer, two views.
   */
  private readonly packedF: Float64Array;
  private readonly packedI: Int32Array;
  /**
   * The binned-input predictor, built on first use; null when a feature has too many thresholds
   * or the model is too small for coding rows to pay.
   */
  private compact: CompactModel | null | undefined;

  constructor(
    readonly nOutputs: number,
    /** Root node of each tree. */
    readonly roots: Int32Array,
    /** Which output (class margin) each tree adds to; unused with vector leaves. */
    readonly treeOutput: Int32Array,
    readonly nodes: TreeNodes,
    readonly leafWidth = 1,
  ) {
    const { feature, threshold, left, defaultLeft, value } = nodes;
    const m = feature.length;
    const buf = new ArrayBuffer(m * 16);
    this.packedF = new Float64Array(buf);
    this.packedI = new Int32Array(buf);
    for (let i = 0; i < m; i++) {
      const leaf = feature[i] < 0;
      this.packedF[2 * i] = leaf ? (leafWidth === 1 ? value[i] : 0) : threshold[i];
      this.packedI[4 * i + 2] = leaf ? -1 : feature[i] * 2 + (defaultLeft[i] ? 0 : 1);
      this.packedI[4 * i + 3] = leaf ? i : left[i];
    }
  }

  get nTrees(): number {
    return this.roots.length;
  }

  /**
   * Softmax of each row's raw scores (`predictRaw`), the same numbers as applying it afterwards;
   * a large batch's rows are turned by the threads that summed them, while still in cache.
   */
  predictSoftmax(X: Matrix, base: Float64Array, nTrees = this.roots.length): Float64Array {
    const cm = this.compactForm();
    if (cm && X.nRows > 1) return compactPredict(cm, X, base, nTrees, "softmax");
    const raw = this.predictRaw(X, base, nTrees);
    softmaxRows(raw, 0, X.nRows, this.nOutputs);
    return raw;
  }

  private compactForm(): CompactModel | null {
    if (this.compact === undefined) {
      const cm = compactModel(this);
      this.compact = cm && compactPays(cm) ? cm : null;
    }
    return this.compact;
  }

  /**
   * Raw scores: `base[k]` plus the sum of the leaves each row reaches, over the first `nTrees`
   * trees. Row-major nRows × nOutputs.
   */
  predictRaw(X: Matrix, base: Float64Array, nTrees = this.roots.length): Float64Array {
    const cm = this.compactForm();
    if (cm && X.nRows === 1) {
      // A served request's path: kept short (no views, no copies beyond the K outputs).
      const K = this.nOutputs;
      const row = smallArray(K);
      for (let k = 0; k < K; k++) row[k] = base[k];
      compactAddRow(cm, X.data, 0, 1, row, 0, nTrees);
      return row;
    }
    if (cm && X.nRows > 1) return compactPredict(cm, X, base, nTrees);
    return this.floatPredict(X, base, nTrees);
  }

  /** `predictRaw` by the float nodes (models without a compact form, and empty batches). */
  private floatPredict(X: Matrix, base: Float64Array, nTrees: number): Float64Array {
    const K = this.nOutputs;
    const n = X.nRows;
    const out = new Float64Array(n * K);
    for (let i = 0; i < n; i++) out.set(base, i * K);
    if (n === 1) {
      this.addRow(X.data, 0, X.layout === "row" ? 1 : X.nRows, out, nTrees);
      return out;
    }
    const { rowStride, colStride } = strides(X);
    const data = X.data;
    const pf = this.packedF;
    const pi = this.packedI;
    const value = this.nodes.value;
    const roots = this.roots;
    const treeOutput = this.treeOutput;
    const vector = this.leafWidth > 1;
    // Branch-free steps (right child = left + 1) and four rows walked side by side: the walks are
    // chains of dependent loads, and interleaving four independent chains keeps the CPU busy.
    // Leaves are negative: the AND of the four is negative only once all have reached one.
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const x0 = i * rowStride;
      const x1 = x0 + rowStride;
      const x2 = x1 + rowStride;
      const x3 = x2 + rowStride;
      const o = i * K;
      for (let t = 0; t < nTrees; t++) {
        const r = roots[t];
        let a = r;
        let b = r;
        let c = r;
        let d = r;
        let fa = pi[4 * r + 2];
        let fb = fa;
        let fc = fa;
        let fd = fa;
        while ((fa & fb & fc & fd) >= 0) {
          if (fa >= 0) {
            const x = data[x0 + (fa >> 1) * colStride];
            a = pi[4 * a + 3] + (+(x > pf[2 * a]) | (+Number.isNaN(x) & fa));
            fa = pi[4 * a + 2];
          }
          if (fb >= 0) {
            const x = data[x1 + (fb >> 1) * colStride];
            b = pi[4 * b + 3] + (+(x > pf[2 * b]) | (+Number.isNaN(x) & fb));
            fb = pi[4 * b + 2];
          }
          if (fc >= 0) {
            const x = data[x2 + (fc >> 1) * colStride];
            c = pi[4 * c + 3] + (+(x > pf[2 * c]) | (+Number.isNaN(x) & fc));
            fc = pi[4 * c + 2];
          }
          if (fd >= 0) {
            const x = data[x3 + (fd >> 1) * colStride];
            d = pi[4 * d + 3] + (+(x > pf[2 * d]) | (+Number.isNaN(x) & fd));
            fd = pi[4 * d + 2];
          }
        }
        if (vector) {
          const va = a * K;
          const vb = b * K;
          const vc = c * K;
          const vd = d * K;
          for (let k = 0; k < K; k++) {
            out[o + k] += value[va + k];
            out[o + K + k] += value[vb + k];
            out[o + 2 * K + k] += value[vc + k];
            out[o + 3 * K + k] += value[vd + k];
          }
        } else {
          const k = treeOutput[t];
          out[o + k] += pf[2 * a];
          out[o + K + k] += pf[2 * b];
          out[o + 2 * K + k] += pf[2 * c];
          out[o + 3 * K + k] += pf[2 * d];
        }
      }
    }
    for (; i < n; i++) this.addRow(data, i * rowStride, colStride, out, nTrees, i * K);
    return out;
  }

  /**
   * Adds one row's leaves to out[o..o + K): four trees walked side by side, for the same reason
   * four rows are in the batch loop — a single row's latency is what a served request waits for.
   */
  private addRow(
    data: ArrayLike<number>,
    xo: number,
    colStride: number,
    out: Float64Array,
    nTrees: number,
    o = 0,
  ): void {
    const K = this.nOutputs;
    const pf = this.packedF;
    const pi = this.packedI;
    const value = this.nodes.value;
    const roots = this.roots;
    const treeOutput = this.treeOutput;
    const vector = this.leafWidth > 1;
    let t = 0;
    for (; t + 4 <= nTrees; t += 4) {
      let a = roots[t];
      let b = roots[t + 1];
      let c = roots[t + 2];
      let d = roots[t + 3];
      let fa = pi[4 * a + 2];
      let fb = pi[4 * b + 2];
      let fc = pi[4 * c + 2];
      let fd = pi[4 * d + 2];
      // Leaves are negative: the AND of the four is negative only once all have reached one.
      while ((fa & fb & fc & fd) >= 0) {
        if (fa >= 0) {
          const x = data[xo + (fa >> 1) * colStride];
          a = pi[4 * a + 3] + (+(x > pf[2 * a]) | (+Number.isNaN(x) & fa));
          fa = pi[4 * a + 2];
        }
        if (fb >= 0) {
          const x = data[xo + (fb >> 1) * colStride];
          b = pi[4 * b + 3] + (+(x > pf[2 * b]) | (+Number.isNaN(x) & fb));
          fb = pi[4 * b + 2];
        }
        if (fc >= 0) {
          const x = data[xo + (fc >> 1) * colStride];
          c = pi[4 * c + 3] + (+(x > pf[2 * c]) | (+Number.isNaN(x) & fc));
          fc = pi[4 * c + 2];
        }
        if (fd >= 0) {
          const x = data[xo + (fd >> 1) * colStride];
          d = pi[4 * d + 3] + (+(x > pf[2 * d]) | (+Number.isNaN(x) & fd));
          fd = pi[4 * d + 2];
        }
      }
      if (vector) {
        // Tree by tree, in order: the same sums as the batch path, bit for bit.
        for (let k = 0; k < K; k++) out[o + k] += value[a * K + k];
        for (let k = 0; k < K; k++) out[o + k] += value[b * K + k];
        for (let k = 0; k < K; k++) out[o + k] += value[c * K + k];
        for (let k = 0; k < K; k++) out[o + k] += value[d * K + k];
      } else {
        out[o + treeOutput[t]] += pf[2 * a];
        out[o + treeOutput[t + 1]] += pf[2 * b];
        out[o + treeOutput[t + 2]] += pf[2 * c];
        out[o + treeOutput[t + 3]] += pf[2 * d];
      }
    }
    for (; t < nTrees; t++) {
      let node = roots[t];
      let f = pi[4 * node + 2];
      while (f >= 0) {
        const x = data[xo + (f >> 1) * colStride];
        node = pi[4 * node + 3] + (+(x > pf[2 * node]) | (+Number.isNaN(x) & f));
        f = pi[4 * node + 2];
      }
      if (vector) {
        for (let k = 0; k < K; k++) out[o + k] += value[node * K + k];
      } else out[o + treeOutput[t]] += pf[2 * node];
    }
  }

  /** Gain summed per feature over all splits. */
  gainPerFeature(nFeatures: number): Float64Array {
    const imp = new Float64Array(nFeatures);
    const { feature, gain } = this.nodes;
    for (let i = 0; i < feature.length; i++) if (feature[i] >= 0) imp[feature[i]] += gain[i];
    return imp;
  }

  toJSON(): SerializedEnsemble {
    const nd = this.nodes;
    return {
      nOutputs: this.nOutputs,
      leafWidth: this.leafWidth,
      roots: Array.from(this.roots),
      treeOutput: Array.from(this.treeOutput),
      feature: Array.from(nd.feature),
      threshold: Array.from(nd.threshold, (t) => (t === Number.POSITIVE_INFINITY ? null : t)),
      left: Array.from(nd.left),
      right: Array.from(nd.right),
      defaultLeft: Array.from(nd.defaultLeft),
      value: Array.from(nd.value),
      gain: Array.from(nd.gain),
      cover: Array.from(nd.cover),
    };
  }

  /** Rebuilds an ensemble, checking every index so a corrupt file cannot loop or read out of range. */
  static fromJSON(s: unknown, nFeatures: number): TreeEnsemble {
    const bad = (what: string): never => {
      throw new NetwardenError("NW_MODEL_FORMAT", `tree ensemble: ${what}`, {
        where: "model state.trees",
        hint: "The model file is damaged or was not written by netwarden; retrain or restore it",
      });
    };
    if (!s || typeof s !== "object") bad("not an object");
    const o = s as Record<string, unknown>;
    const nums = (key: string, allowNull = false): number[] => {
      const a = o[key];
      if (!Array.isArray(a)) bad(`\`${key}\` is not an array`);
      for (const v of a as unknown[]) {
        if (!(typeof v === "number" && Number.isFinite(v)) && !(allowNull && v === null)) {
          bad(`\`${key}\` holds a non-number`);
        }
      }
      return a as number[];
    };
    const nOutputs = o.nOutputs;
    if (!Number.isInteger(nOutputs) || (nOutputs as number) < 1) bad("`nOutputs` is not a positive integer");
    const leafWidth = o.leafWidth ?? 1;
    if (leafWidth !== 1 && leafWidth !== nOutputs) bad("`leafWidth` must be 1 or `nOutputs`");
    const W = leafWidth as number;
    const roots = nums("roots");
    const treeOutput = nums("treeOutput");
    const feature = nums("feature");
    const threshold = nums("threshold", true);
    const left = nums("left");
    const right = nums("right");
    const defaultLeft = nums("defaultLeft");
    const value = nums("value");
    const gain = nums("gain");
    const cover = nums("cover");
    const m = feature.length;
    for (const [k, a] of Object.entries({ threshold, left, right, defaultLeft, gain, cover })) {
      if (a.length !== m) bad(`\`${k}\` has ${a.length} entries, \`feature\` has ${m}`);
    }
    if (value.length !== m * W) bad(`\`value\` has ${value.length} entries, expected ${m * W}`);
    if (treeOutput.length !== roots.length) bad("`treeOutput` and `roots` differ in length");
    for (const t of treeOutput)
      if (!Number.isInteger(t) || t < 0 || t >= (nOutputs as number)) bad("bad tree output");
    for (const r of roots) if (!Number.isInteger(r) || r < 0 || r >= m) bad("root index out of range");
    for (let i = 0; i < m; i++) {
      const f = feature[i];
      if (!Number.isInteger(f) || f < -1 || f >= nFeatures) bad(`node ${i} has feature ${f}`);
      // Children must come after their parent: this rules out cycles without a graph walk.
      if (f >= 0 && !(left[i] > i && left[i] < m && right[i] > i && right[i] < m))
        bad(`node ${i} has bad children`);
    }
    return new TreeEnsemble(
      nOutputs as number,
      Int32Array.from(roots),
      Int32Array.from(treeOutput),
      {
        feature: Int32Array.from(feature),
        threshold: Float64Array.from(threshold, (t) => (t === null ? Number.POSITIVE_INFINITY : t)),
        left: Int32Array.from(left),
        right: Int32Array.from(right),
        defaultLeft: Uint8Array.from(defaultLeft, (d) => (d ? 1 : 0)),
        value: Float64Array.from(value),
        gain: Float64Array.from(gain),
        cover: Float64Array.from(cover),
      },
      W,
    );
  }
}

/** Collects trees into growing node arrays, then freezes them into a TreeEnsemble. */
export class EnsembleBuilder {
  private size = 0;
  private cap = 1024;
  private nd: TreeNodes;
  private readonly roots: number[] = [];
  private readonly outputs: number[] = [];

  constructor(
    readonly nOutputs: number,
    /** 1 for scalar leaves, nOutputs for vector leaves. */
    readonly leafWidth = 1,
  ) {
    this.nd = allocNodes(1024, leafWidth);
  }

  get nTrees(): number {
    return this.roots.length;
  }

  /**
   * Appends a tree (node 0 = its root; child indices relative to the tree; right = left + 1;
   * `tree.value` holds leafWidth values per node). `output` is ignored with vector leaves.
   */
  add(tree: TreeNodes, nNodes: number, output: number): void {
    while (this.size + nNodes > this.cap) this.grow();
    const base = this.size;
    const nd = this.nd;
    const W = this.leafWidth;
    for (let i = 0; i < nNodes; i++) {
      const j = base + i;
      const leaf = tree.feature[i] < 0;
      if (!leaf && tree.right[i] !== tree.left[i] + 1) {
        throw new NetwardenError(
          "NW_INTERNAL",
          `tree node ${i}: children ${tree.left[i]}, ${tree.right[i]} not adjacent`,
          {
            hint: "This is a bug in netwarden; please report it",
          },
        );
      }
      nd.feature[j] = tree.feature[i];
      nd.threshold[j] = leaf ? 0 : tree.threshold[i];
      nd.left[j] = leaf ? -1 : base + tree.left[i];
      nd.right[j] = leaf ? -1 : base + tree.right[i];
      nd.defaultLeft[j] = leaf ? 0 : tree.defaultLeft[i];
      for (let k = 0; k < W; k++) nd.value[j * W + k] = leaf ? tree.value[i * W + k] : 0;
      nd.gain[j] = leaf ? 0 : tree.gain[i];
      nd.cover[j] = tree.cover[i];
    }
    this.size += nNodes;
    this.roots.push(base);
    this.outputs.push(W > 1 ? 0 : output);
  }

  /** The ensemble of the first `nTrees` trees added. */
  build(nTrees = this.roots.length): TreeEnsemble {
    const end = nTrees < this.roots.length ? this.roots[nTrees] : this.size;
    const nd = this.nd;
    const W = this.leafWidth;
    return new TreeEnsemble(
      this.nOutputs,
      Int32Array.from(this.roots.slice(0, nTrees)),
      Int32Array.from(this.outputs.slice(0, nTrees)),
      {
        feature: nd.feature.slice(0, end),
        threshold: nd.threshold.slice(0, end),
        left: nd.left.slice(0, end),
        right: nd.right.slice(0, end),
        defaultLeft: nd.defaultLeft.slice(0, end),
        value: nd.value.slice(0, end * W),
        gain: nd.gain.slice(0, end),
        cover: nd.cover.slice(0, end),
      },
      W,
    );
  }

  private grow(): void {
    const bigger = allocNodes(this.cap * 2, this.leafWidth);
    for (const k of Object.keys(bigger) as (keyof TreeNodes)[]) bigger[k].set(this.nd[k] as never);
    this.nd = bigger;
    this.cap *= 2;
  }
}

/** Node arrays for `n` nodes, with `leafWidth` values per node. */
export function allocNodes(n: number, leafWidth = 1): TreeNodes {
  return {
    feature: new Int32Array(n),
    threshold: new Float64Array(n),
    left: new Int32Array(n),
    right: new Int32Array(n),
    defaultLeft: new Uint8Array(n),
    value: new Float64Array(n * leafWidth),
    gain: new Float64Array(n),
    cover: new Float64Array(n),
  };
}
