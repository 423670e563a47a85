import type { FloatArray } from "../types.js";
import { align64, instantiate } from "../wasm.js";
import { WASM_BASE64 } from "./compact-kernel.wasm.js";

/** Trees the kernel's `row` walks side by side (ROW_LANES in scripts/gen-compact-kernel.mjs). */
const ROW_LANES = 8;

/** What the kernel reads of a compact model (compact.ts). */
interface PerfectTrees {
  nOutputs: number;
  leafWidth: number;
  treeOutput: Int32Array;
  used: Int32Array;
  cuts: Float64Array;
  cutStart: Int32Array;
  perfectDepth: number;
  perfect: Uint16Array;
  perfectValues: Float64Array;
  treeDepth: Uint8Array;
}

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
  | "rows",
  number
>;

/**
 * A compact model's perfect trees and cuts in a WebAssembly instance (one per model and thread).
 * Batches: rows are copied in and coded there (`codeRows`), then walked (`block`: a block's
 * outputs, row by row, in `rows`). Single rows: one row is copied in and turned into a table of
 * its decisions at every (slot, rank) (`tableRow`), then walked with words that index the table
 * (`row`: its outputs added to `out[0 .. K)`); a step is then two loads and two adds.
 */
export class CompactKernel {
  /** One row's outputs for `row`, added to in place. */
  readonly out: Float64Array;
  /** A block's outputs after `block`, row-major. */
  readonly rows: Float64Array;
  private readonly base: Float64Array;
  private readonly x64: Float64Array;
  private readonly x32: Float32Array;
  /** Columns a row must have: the highest feature the model uses, plus one. */
  private readonly C: number;
  private readonly U: number;

  private constructor(
    buf: ArrayBuffer,
    private readonly k: Exports,
    private readonly at: Layout,
    private readonly cm: PerfectTrees,
    readonly blockRows: number,
  ) {
    this.U = cm.used.length;
    this.C = columns(cm);
    const K = cm.nOutputs;
    new Uint16Array(buf, at.words, cm.perfect.length).set(cm.perfect);
    new Uint16Array(buf, at.rowWords, cm.perfect.length).set(tableWords(cm));
    new Float64Array(buf, at.values, cm.perfectValues.length).set(cm.perfectValues);
    new Int32Array(buf, at.treeOut, cm.treeOutput.length).set(cm.treeOutput);
    new Uint8Array(buf, at.depths, cm.treeDepth.length).set(cm.treeDepth);
    // The deepest of each group of trees the row walk takes side by side: how far its lanes go.
    const groups = new Uint8Array(buf, at.groupDepths, Math.floor(cm.treeDepth.length / ROW_LANES));
    for (let t = 0; t < groups.length * ROW_LANES; t++) {
      const g = Math.floor(t / ROW_LANES);
      groups[g] = Math.max(groups[g], cm.treeDepth[t]);
    }
    new Int32Array(buf, at.used, this.U).set(cm.used);
    new Int32Array(buf, at.cutStart, this.U + 1).set(cm.cutStart.subarray(0, this.U + 1));
    new Float64Array(buf, at.cuts, cm.cuts.length).set(cm.cuts);
    this.x64 = new Float64Array(buf, at.x, blockRows * this.C);
    this.x32 = new Float32Array(buf, at.x, blockRows * this.C);
    this.out = new Float64Array(buf, at.out, blockRows * K);
    this.base = new Float64Array(buf, at.base, K);
    this.rows = new Float64Array(buf, at.rows, blockRows * K);
  }

  /** For models with perfect trees and one value per leaf; null otherwise or when kernels are off. */
  static create(cm: PerfectTrees, blockRows: number): CompactKernel | null {
    if (cm.perfectDepth < 0 || cm.leafWidth !== 1 || cm.used.length === 0) return null;
    const U = cm.used.length;
    const K = cm.nOutputs;
    const sizes: [keyof Layout, number][] = [
      // At address 0, where the row walk's words point.
      ["table", 1 + 2 * cm.cuts.length + 16],
      ["words", 2 * cm.perfect.length],
      ["rowWords", 2 * cm.perfect.length],
      ["values", 8 * cm.perfectValues.length],
      ["treeOut", 4 * cm.treeOutput.length],
      ["depths", cm.treeDepth.length],
      ["groupDepths", Math.floor(cm.treeDepth.length / ROW_LANES)],
      ["used", 4 * U],
      ["cutStart", 4 * (U + 1)],
      ["cuts", 8 * cm.cuts.length],
      ["x", 8 * blockRows * columns(cm)],
      // Codes of eight rows interleaved; a single row still takes a group.
      ["codes", 2 * U * Math.max(8, blockRows)],
      ["out", 8 * blockRows * K],
      ["base", 8 * K],
      ["rows", 8 * blockRows * K],
    ];
    const at = {} as Layout;
    let end = 0;
    for (const [name, bytes] of sizes) {
      at[name] = end;
      end = align64(end + bytes);
    }
    const inst = instantiate<Exports>(WASM_BASE64, end);
    return inst ? new CompactKernel(inst.buffer, inst.exports, at, cm, blockRows) : null;
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
      16 * this.U,
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
  }
}

function columns(cm: PerfectTrees): number {
  return cm.used.reduce((a, f) => Math.max(a, f + 1), 1);
}

/**
 * The perfect words as table indexes (see the kernel's `table`): slot s < U (missing goes left)
 * and rank r → 1 + 2 · cutStart[s] + r; slot U + u → 1 + 2 · cutStart[u] + (cuts of u) + r; a
 * word that passes left (rank 255) → 0, whose byte is always 0.
 */
function tableWords(cm: PerfectTrees): Uint16Array {
  const U = cm.used.length;
  const out = new Uint16Array(cm.perfect.length);
  for (let i = 0; i < out.length; i++) {
    const w = cm.perfect[i];
    const rank = w & 255;
    if (rank === 255) continue;
    const slot = w >> 8;
    const u = slot < U ? slot : slot - U;
    const start = cm.cutStart[u];
    out[i] = 1 + 2 * start + (slot < U ? 0 : cm.cutStart[u + 1] - start) + rank;
  }
  return out;
}
