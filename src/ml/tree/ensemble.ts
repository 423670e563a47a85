import { NetwardenError } from "../../core/index.js";
import { strides } from "../matrix.js";
import type { Matrix } from "../types.js";

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
  /** Leaf output (0 on internal nodes). */
  value: Float64Array;
  /** Loss reduction of the split (0 on leaves); summed for feature importance. */
  gain: Float64Array;
  /** Sum of hessians (or of weights) that reached the node; TreeSHAP needs it. */
  cover: Float64Array;
}

/** JSON form of a TreeEnsemble: the node arrays as plain lists. */
export interface SerializedEnsemble {
  nOutputs: number;
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
 */
export class TreeEnsemble {
  /** 1 where a missing value goes right (internal nodes only). */
  private readonly missingRight: Uint8Array;

  constructor(
    readonly nOutputs: number,
    /** Root node of each tree. */
    readonly roots: Int32Array,
    /** Which output (class margin) each tree adds to. */
    readonly treeOutput: Int32Array,
    readonly nodes: TreeNodes,
  ) {
    const { feature, defaultLeft } = nodes;
    this.missingRight = new Uint8Array(feature.length);
    for (let i = 0; i < feature.length; i++)
      this.missingRight[i] = feature[i] >= 0 && !defaultLeft[i] ? 1 : 0;
  }

  get nTrees(): number {
    return this.roots.length;
  }

  /**
   * Raw scores: `base[k]` plus the sum of the leaves each row reaches, over the first `nTrees`
   * trees. Row-major nRows × nOutputs.
   */
  predictRaw(X: Matrix, base: Float64Array, nTrees = this.roots.length): Float64Array {
    const K = this.nOutputs;
    const n = X.nRows;
    const out = new Float64Array(n * K);
    for (let i = 0; i < n; i++) out.set(base, i * K);
    const { rowStride, colStride } = strides(X);
    const data = X.data;
    const { feature, threshold, left, value } = this.nodes;
    const mr = this.missingRight;
    const roots = this.roots;
    const treeOutput = this.treeOutput;
    // Branch-free steps (right child = left + 1) and four rows walked side by side: the walks are
    // chains of dependent loads, and interleaving four independent chains keeps the CPU busy.
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
        let fa = feature[r];
        let fb = fa;
        let fc = fa;
        let fd = fa;
        while (fa >= 0 || fb >= 0 || fc >= 0 || fd >= 0) {
          if (fa >= 0) {
            const x = data[x0 + fa * colStride];
            a = left[a] + (+(x > threshold[a]) | (+Number.isNaN(x) & mr[a]));
            fa = feature[a];
          }
          if (fb >= 0) {
            const x = data[x1 + fb * colStride];
            b = left[b] + (+(x > threshold[b]) | (+Number.isNaN(x) & mr[b]));
            fb = feature[b];
          }
          if (fc >= 0) {
            const x = data[x2 + fc * colStride];
            c = left[c] + (+(x > threshold[c]) | (+Number.isNaN(x) & mr[c]));
            fc = feature[c];
          }
          if (fd >= 0) {
            const x = data[x3 + fd * colStride];
            d = left[d] + (+(x > threshold[d]) | (+Number.isNaN(x) & mr[d]));
            fd = feature[d];
          }
        }
        const k = treeOutput[t];
        out[o + k] += value[a];
        out[o + K + k] += value[b];
        out[o + 2 * K + k] += value[c];
        out[o + 3 * K + k] += value[d];
      }
    }
    for (; i < n; i++) {
      const xo = i * rowStride;
      const o = i * K;
      for (let t = 0; t < nTrees; t++) {
        let node = roots[t];
        let f = feature[node];
        while (f >= 0) {
          const x = data[xo + f * colStride];
          node = left[node] + (+(x > threshold[node]) | (+Number.isNaN(x) & mr[node]));
          f = feature[node];
        }
        out[o + treeOutput[t]] += value[node];
      }
    }
    return out;
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
    for (const [k, a] of Object.entries({ threshold, left, right, defaultLeft, value, gain, cover })) {
      if (a.length !== m) bad(`\`${k}\` has ${a.length} entries, \`feature\` has ${m}`);
    }
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
    return new TreeEnsemble(nOutputs as number, Int32Array.from(roots), Int32Array.from(treeOutput), {
      feature: Int32Array.from(feature),
      threshold: Float64Array.from(threshold, (t) => (t === null ? Number.POSITIVE_INFINITY : t)),
      left: Int32Array.from(left),
      right: Int32Array.from(right),
      defaultLeft: Uint8Array.from(defaultLeft, (d) => (d ? 1 : 0)),
      value: Float64Array.from(value),
      gain: Float64Array.from(gain),
      cover: Float64Array.from(cover),
    });
  }
}

/** Collects trees into growing node arrays, then freezes them into a TreeEnsemble. */
export class EnsembleBuilder {
  private size = 0;
  private cap = 1024;
  private nd: TreeNodes = allocNodes(1024);
  private readonly roots: number[] = [];
  private readonly outputs: number[] = [];

  constructor(readonly nOutputs: number) {}

  get nTrees(): number {
    return this.roots.length;
  }

  /** Appends a tree (node 0 = its root; child indices relative to the tree; right = left + 1). */
  add(tree: TreeNodes, nNodes: number, output: number): void {
    while (this.size + nNodes > this.cap) this.grow();
    const base = this.size;
    const nd = this.nd;
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
      nd.value[j] = leaf ? tree.value[i] : 0;
      nd.gain[j] = leaf ? 0 : tree.gain[i];
      nd.cover[j] = tree.cover[i];
    }
    this.size += nNodes;
    this.roots.push(base);
    this.outputs.push(output);
  }

  /** The ensemble of the first `nTrees` trees added. */
  build(nTrees = this.roots.length): TreeEnsemble {
    const end = nTrees < this.roots.length ? this.roots[nTrees] : this.size;
    const nd = this.nd;
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
        value: nd.value.slice(0, end),
        gain: nd.gain.slice(0, end),
        cover: nd.cover.slice(0, end),
      },
    );
  }

  private grow(): void {
    const bigger = allocNodes(this.cap * 2);
    for (const k of Object.keys(bigger) as (keyof TreeNodes)[]) bigger[k].set(this.nd[k] as never);
    this.nd = bigger;
    this.cap *= 2;
  }
}

export function allocNodes(n: number): TreeNodes {
  return {
    feature: new Int32Array(n),
    threshold: new Float64Array(n),
    left: new Int32Array(n),
    right: new Int32Array(n),
    defaultLeft: new Uint8Array(n),
    value: new Float64Array(n),
    gain: new Float64Array(n),
    cover: new Float64Array(n),
  };
}
