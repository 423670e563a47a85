import type { FloatArray } from "../types.js";
import { align64, instantiate } from "../wasm.js";
import { WASM_BASE64 } from "./compact-kernel.wasm.js";
import { type CompactModel, perfectLayout, perfectWord } from "./compact-model.js";

/** Trees the kernel's `row` walks side by side (ROW_LANES in scripts/gen-compact-kernel.mjs). */
const ROW_LANES = 8;

type Code = (
  x: number,
  B: number,
  rs: number,
  cs: number,
  used: number,
  cutStart: number,
  cuts: number,
  U: number,
  codes: number,
) => void;

type Table = (x: number, cs: number, used: number, cutStart: number, cuts: number, U: number) => void;

interface Exports {
  code: Code;
  code32: Code;
  table: Table;
  block(
    words: number,
    values: number,
    treeOut: number,
    depths: number,
    nTrees: number,
    D: number,
    codes: number,
    groupBytes: number,
    B: number,
    out: number,
    ostride: number,
    base: number,
    K: number,
    rows: number,
  ): void;
  row(
    words: number,
    values: number,
    treeOut: number,
    depths: number,
    nTrees: number,
    D: number,
    out: number,
    groupDepths: number,
  ): void;
  nodeRow(
    nodes: number,
    roots: number,
    leafAt: number,
    values: number,
    treeOut: number,
    nTrees: number,
    W: number,
    out: number,
    ones: number,
    zb: number,
    idle: number,
  ): void;
}

type Layout = Record<
  | "table"
  | "words"
  | "rowWords"
  | "values"
  | "treeOut"
  | "depths"
  | "groupDepths"
  | "used"
  | "cutStart"
  | "cuts"
  | "x"
  | "codes"
  | "out"
  | "base"
  | "rows"
  | "nodes"
  | "roots"
  | "leafAt"
  | "nodeValues"
  | "ones",
  number
>;

/**
 * A compact model's trees and cuts in a WebAssembly instance (one per model and thread).
 * Single rows: a row is copied in and turned into a table of its decisions at every (slot, rank)
 * (`tableRow`), then walked with words that index the table (`row`: its outputs added to
 * `out[0 .. K)`), over perfect trees or, for deeper trees and vector leaves, over the nodes.
 * Batches (perfect trees with one value per leaf, `blocks`): rows are copied in and coded there
 * (`codeRows`), then walked (`block`: a block's outputs, row by row, in `rows`).
 */
export class CompactKernel {
  /** One row's outputs for `row`, added to in place. */
  readonly out: Float64Array;
  /** A block's outputs after `block`, row-major. */
  readonly rows: Float64Array;
  /** Whether `codeRows` and `block` work (perfect trees, one value per leaf). */
  readonly blocks: boolean;
  private readonly base: Float64Array;
  private readonly x64: Float64Array;
  private readonly x32: Float32Array;
  /** Columns a row must have: the highest feature the model uses, plus one. */
  private readonly C: number;
  private readonly U: number;
  /** The node walk's idle leaf. */
  private readonly idle: number;

  private constructor(
    buf: ArrayBuffer,
    private readonly k: Exports,
    private readonly at: Layout,
    private readonly cm: CompactModel,
    readonly blockRows: number,
    form: NodeForm | null,
  ) {
    this.U = cm.used.length;
    this.C = columns(cm);
    this.blocks = !form;
    this.idle = form?.idle ?? 0;
    const K = cm.nOutputs;
    new Int32Array(buf, at.used, this.U).set(cm.used);
    new Int32Array(buf, at.cutStart, this.U + 1).set(cm.cutStart.subarray(0, this.U + 1));
    new Float64Array(buf, at.cuts, cm.cuts.length).set(cm.cuts);
    new Int32Array(buf, at.treeOut, cm.treeOutput.length).set(cm.treeOutput);
    if (!form) {
      new Int32Array(buf, at.words, cm.treeDepth.length << cm.perfectDepth).set(heapWords(cm));
      new Uint16Array(buf, at.rowWords, cm.perfect.length).set(tableWords(cm));
      new Float64Array(buf, at.values, cm.perfectValues.length).set(cm.perfectValues);
      new Uint8Array(buf, at.depths, cm.treeDepth.length).set(cm.treeDepth);
      // The deepest of each group of trees the row walk takes side by side: how far its lanes go.
      const groups = new Uint8Array(buf, at.groupDepths, Math.floor(cm.treeDepth.length / ROW_LANES));
      for (let t = 0; t < groups.length * ROW_LANES; t++) {
        const g = Math.floor(t / ROW_LANES);
        groups[g] = Math.max(groups[g], cm.treeDepth[t]);
      }
    } else {
      new Int32Array(buf, at.nodes, form.nodes.length).set(form.nodes);
      new Int32Array(buf, at.leafAt, form.leafAt.length).set(form.leafAt);
      new Float64Array(buf, at.nodeValues, form.values.length).set(form.values);
      new Float64Array(buf, at.ones, form.ones.length).set(form.ones);
      new Int32Array(buf, at.roots, form.roots.length).set(form.roots);
    }
    this.x64 = new Float64Array(buf, at.x, blockRows * this.C);
    this.x32 = new Float32Array(buf, at.x, blockRows * this.C);
    this.out = new Float64Array(buf, at.out, blockRows * K);
    this.base = new Float64Array(buf, at.base, this.blocks ? K : 0);
    this.rows = new Float64Array(buf, at.rows, this.blocks ? blockRows * K : 0);
  }

  /** For every compact model that splits on some feature; null when kernels are off. */
  static create(cm: CompactModel, blockRows: number): CompactKernel | null {
    if (cm.used.length === 0) return null;
    const U = cm.used.length;
    const K = cm.nOutputs;
    // Perfect trees with one value per leaf walk in blocks; the others by their nodes.
    const blocks = cm.perfectDepth >= 0 && cm.leafWidth === 1;
    const form = blocks ? null : nodeForm(cm);
    if (!blocks && !form) return null;
    // A batch walk needs a block of rows; a node walk only ever takes one.
    const rows = blocks ? blockRows : 1;
    // Every region, sized 0 when this model's walk does not use it.
    const b = (bytes: number) => (form ? 0 : bytes);
    const sizes: [keyof Layout, number][] = [
      // At address 0, where the row walks' words point; then, for the node walk, the zeros its
      // leaves' words point at.
      ["table", zeroBase(cm) + (form?.zeros ?? 0)],
      ["used", 4 * U],
      ["cutStart", 4 * (U + 1)],
      ["cuts", 8 * cm.cuts.length],
      ["treeOut", 4 * cm.treeOutput.length],
      ["x", 8 * rows * columns(cm)],
      ["out", 8 * rows * K],
      // Perfect trees, one value per leaf: batches and the perfect row walk.
      ["words", b(4 * (cm.treeDepth.length << Math.max(0, cm.perfectDepth)))],
      ["rowWords", b(2 * cm.perfect.length)],
      ["values", b(8 * cm.perfectValues.length)],
      ["depths", b(cm.treeDepth.length)],
      ["groupDepths", b(Math.floor(cm.treeDepth.length / ROW_LANES))],
      // Codes of sixteen rows interleaved.
      ["codes", b(2 * U * 16 * Math.ceil(blockRows / 16))],
      ["base", b(8 * K)],
      ["rows", b(8 * blockRows * K)],
      // The node walk.
      ["nodes", 4 * (form?.nodes.length ?? 0)],
      ["roots", 4 * (form?.roots.length ?? 0)],
      ["leafAt", 4 * (form?.leafAt.length ?? 0)],
      ["nodeValues", 8 * (form?.values.length ?? 0)],
      ["ones", 8 * (form?.ones.length ?? 0)],
    ];
    const at = {} as Layout;
    let end = 0;
    for (const [name, bytes] of sizes) {
      at[name] = end;
      end = align64(end + bytes);
    }
    const inst = instantiate<Exports>(WASM_BASE64, end);
    return inst ? new CompactKernel(inst.buffer, inst.exports, at, cm, rows, form) : null;
  }

  /**
   * Copies B rows (row r's feature f at data[xo + r · rowStride + f · colStride]) into the
   * instance, as they are (float32 stays float32), and codes them there.
   */
  codeRows(data: FloatArray, xo: number, B: number, rowStride: number, colStride: number): void {
    const { C, cm } = this;
    const x = data instanceof Float32Array ? this.x32 : this.x64;
    let rs = C;
    let cs = 1;
    if (colStride === 1 && (rowStride === C || B === 1)) {
      // Row-major and dense (or one row): one copy.
      x.set(data.subarray(xo, xo + (B - 1) * rowStride + C));
      rs = rowStride;
    } else if (colStride === 1) {
      for (let r = 0; r < B; r++) x.set(data.subarray(xo + r * rowStride, xo + r * rowStride + C), r * C);
    } else if (rowStride === 1) {
      // Column-major: the used columns, each one copy.
      for (const f of cm.used) x.set(data.subarray(xo + f * colStride, xo + f * colStride + B), f * B);
      rs = 1;
      cs = B;
    } else {
      for (let r = 0; r < B; r++)
        for (const f of cm.used) x[r * C + f] = data[xo + r * rowStride + f * colStride];
    }
    const { at, U } = this;
    const size = x.BYTES_PER_ELEMENT;
    const code = x === this.x32 ? this.k.code32 : this.k.code;
    code(at.x, B, rs * size, cs * size, at.used, at.cutStart, at.cuts, U, at.codes);
  }

  /** Walks the B coded rows through the first nTrees trees, from `base`; the sums go to `rows`. */
  block(B: number, nTrees: number, base: Float64Array): void {
    const { at, cm } = this;
    this.base.set(base);
    this.k.block(
      at.words,
      at.values,
      at.treeOut,
      at.depths,
      nTrees,
      cm.perfectDepth,
      at.codes,
      32 * this.U,
      B,
      at.out,
      8 * this.blockRows,
      at.base,
      cm.nOutputs,
      at.rows,
    );
  }

  /** Copies one row (feature f at data[xo + f · colStride]) in and makes its table. */
  tableRow(data: FloatArray, xo: number, colStride: number): void {
    const { C, cm, at, U } = this;
    // Copied as float64 element by element (no views: this path is microseconds).
    const x = this.x64;
    if (colStride === 1) for (let f = 0; f < C; f++) x[f] = data[xo + f];
    else for (const f of cm.used) x[f] = data[xo + f * colStride];
    this.k.table(at.x, 8, at.used, at.cutStart, at.cuts, U);
  }

  /** Walks the row of the last `tableRow` through the first nTrees trees, adding to out[0 .. K). */
  row(nTrees: number): void {
    const { at, cm } = this;
    if (this.blocks) {
      this.k.row(
        at.rowWords,
        at.values,
        at.treeOut,
        at.depths,
        nTrees,
        cm.perfectDepth,
        at.out,
        at.groupDepths,
      );
    } else {
      this.k.nodeRow(
        at.nodes,
        at.roots,
        at.leafAt,
        at.nodeValues,
        at.treeOut,
        nTrees,
        cm.leafWidth,
        at.out,
        at.ones,
        zeroBase(this.cm),
        this.idle,
      );
    }
  }
}

/** Where a row's table ends: its bytes (see `table`) and the 15 a fill may write past them, plus one. */
function zeroBase(cm: CompactModel): number {
  return 1 + 2 * cm.cuts.length + 16;
}

function columns(cm: CompactModel): number {
  return cm.used.reduce((a, f) => Math.max(a, f + 1), 1);
}

/** The table index (see the kernel's `table`) of word w (slot · 256 + rank); 0 for a word that passes left. */
function tableIndex(cm: CompactModel, w: number): number {
  const rank = w & 255;
  if (rank === 255) return 0;
  const U = cm.used.length;
  const slot = w >> 8;
  const u = slot < U ? slot : slot - U;
  const start = cm.cutStart[u];
  return 1 + 2 * start + (slot < U ? 0 : cm.cutStart[u + 1] - start) + rank;
}

/**
 * The perfect words of each tree for batches, in plain heap order (word h at h, from 1; 2^D a
 * tree: a block of rows touches all of a tree's lines anyway, and a step then needs no base per
 * subtree), each an int32 (slot · 16) · 256 + rank: the slot's offset in a group of coded rows
 * (sixteen rows' codes of one slot side by side) is one shift away.
 */
function heapWords(cm: CompactModel): Int32Array {
  const D = cm.perfectDepth;
  const { P, sub, words: TW } = perfectLayout(D);
  const nTrees = cm.treeDepth.length;
  const out = new Int32Array(nTrees << D);
  for (let t = 0; t < nTrees; t++)
    for (let level = 0; level < D; level++)
      for (let h = 1 << level; h < 2 << level; h++) {
        const w = cm.perfect[t * TW + perfectWord(h, level, P, sub)];
        out[(t << D) + h] = ((w >> 8) << 12) | (w & 255);
      }
  return out;
}

/**
 * The perfect words as table indexes: slot s < U (missing goes left) and rank r → 1 + 2 ·
 * cutStart[s] + r; slot U + u → 1 + 2 · cutStart[u] + (cuts of u) + r; a word that passes left
 * → 0, whose byte is always 0.
 */
function tableWords(cm: CompactModel): Uint16Array {
  return Uint16Array.from(cm.perfect, (w) => tableIndex(cm, w));
}

interface NodeForm {
  nodes: Int32Array;
  /** The last node: a leaf that adds +0 (to output 0), walked by lanes past the last tree. */
  idle: number;
  /** Bytes of zeros after the row's table that pure leaves' words point at. */
  zeros: number;
  roots: Int32Array;
  leafAt: Int32Array;
  values: Float64Array;
  ones: Float64Array;
}

/**
 * The nodes for the kernel's node walk, in `clumpOrder` (padding is 0): one int32 each, the offset
 * to its left child (right = left + 1) · 65536 + its word as a table index. A leaf has offset 0 and
 * a word whose table byte is always 0, so the walk never leaves it: for a vector leaf whose values
 * are all zero but one (a pure leaf of a forest), the word is zeroBase + j · 256 + class with the
 * value at ones[j] (read without another load); for any other leaf it is 0 and its values are at
 * byte leafAt[i] of `values` (or leafAt[i] = −1 − (j · 256 + class) for a pure leaf whose word
 * would not fit 16 bits). Null when an index or an offset does not fit 16 bits (no kernel then).
 */
function nodeForm(cm: CompactModel): NodeForm | null {
  const m = cm.leafAt.length;
  const W = cm.leafWidth;
  const zb = zeroBase(cm);
  if (zb > 0xffff) return null;
  const order = clumpOrder(cm);
  const at = new Int32Array(m).fill(-1);
  for (let q = 0; q < order.length; q++) if (order[q] >= 0) at[order[q]] = q;
  const idle = order.length;
  const nodes = new Int32Array(idle + 1);
  const leafAt = new Int32Array(idle + 1);
  const values: number[] = [];
  // ones[0] = +0: the idle leaf (code 0) adds it.
  const ones: number[] = [0];
  const oneAt = new Map<number, number>();
  nodes[idle] = zb;
  let zeros = 1;
  for (let q = 0; q < order.length; q++) {
    const i = order[q];
    if (i < 0) continue;
    const w = cm.nodes[2 * i];
    if (w >= 0) {
      const word = tableIndex(cm, w);
      const offset = at[cm.nodes[2 * i + 1]] - q;
      // One int32 a node: the table index below, the offset to the left child above.
      if (word > 0xffff || offset <= 0 || offset > 0xffff) return null;
      nodes[q] = (offset << 16) | word;
      continue;
    }
    const v = cm.leafAt[i];
    let nonzero = 0;
    let c = 0;
    for (let k = 0; k < W; k++) {
      if (cm.values[v + k] !== 0) {
        nonzero++;
        c = k;
      }
    }
    if (W > 1 && W <= 256 && nonzero <= 1) {
      const x = cm.values[v + c];
      let j = oneAt.get(x);
      if (j === undefined) {
        j = ones.length;
        ones.push(x);
        oneAt.set(x, j);
      }
      const code = j * 256 + c;
      if (zb + code <= 0xffff) {
        nodes[q] = zb + code;
        zeros = Math.max(zeros, code + 1);
      } else leafAt[q] = -1 - code;
      continue;
    }
    leafAt[q] = 8 * values.length;
    for (let k = 0; k < W; k++) values.push(cm.values[v + k]);
  }
  // Whole groups of lanes: the last one's spare lanes read the idle root (the walk also sends
  // lanes past nTrees there).
  const roots = new Int32Array(Math.ceil(cm.roots.length / ROW_LANES) * ROW_LANES).fill(idle);
  cm.roots.forEach((r, t) => {
    roots[t] = at[r];
  });
  return {
    nodes,
    idle,
    zeros,
    roots,
    leafAt,
    values: Float64Array.from(values),
    ones: Float64Array.from(ones),
  };
}

/**
 * A node order for single-row walks (new position → old node; −1 is padding): each tree's root,
 * then its nodes in clumps of three levels — a node's children, their children and theirs, side
 * by side (pairs stay pairs) — each clump followed by the clumps below it, depth first. A clump
 * (at most 14 nodes, 15 with its tree's root) never straddles 64 bytes: when it does not fit in
 * what is left of one, it starts the next. A path then reads one cache line every three levels.
 */
function clumpOrder(cm: CompactModel): Int32Array {
  const order: number[] = [];
  const isLeaf = (i: number) => cm.nodes[2 * i] < 0;
  const place = (unit: number[]): void => {
    if ((order.length % 16) + unit.length > 16) while (order.length % 16 !== 0) order.push(-1);
    for (const i of unit) order.push(i);
  };
  const clump = (top: number, unit: number[]): void => {
    // Three levels of child pairs below `top`, breadth first.
    let level = [top];
    for (let d = 0; d < 3; d++) {
      const next: number[] = [];
      for (const i of level) {
        if (isLeaf(i)) continue;
        const l = cm.nodes[2 * i + 1];
        unit.push(l, l + 1);
        next.push(l, l + 1);
      }
      level = next;
    }
    place(unit);
    for (const i of level) if (!isLeaf(i)) clump(i, []);
  };
  for (const root of cm.roots) clump(root, [root]);
  return Int32Array.from(order);
}
