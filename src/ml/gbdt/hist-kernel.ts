import { align64, instantiate } from "../wasm.js";
import { WASM_BASE64 } from "./hist-kernel.wasm.js";

interface KernelExports {
  zero(p: number, bytes: number): void;
  build(hist: number, codes: number, nf: number, idx: number, count: number, gh: number): void;
  buildList(
    hist: number,
    codes: number,
    nf: number,
    idx: number,
    count: number,
    gh: number,
    list: number,
    m: number,
  ): void;
}

/**
 * One HistEngine's WebAssembly histogram builder: its slot codes live in the kernel's memory, and
 * each build copies the node's row numbers in, sums into the kernel's histogram, and copies that
 * out. Gradients are copied in once per tree (`loadGradients`).
 */
export class HistKernel {
  /** Row-major slot codes (rows × nf), filled by the engine. */
  readonly codes: Uint16Array;
  private readonly idx: Int32Array;
  private readonly gh: Float64Array;
  private readonly list: Int32Array;
  private readonly hist: Float64Array;
  private readonly at: { codes: number; idx: number; gh: number; list: number; hist: number };
  private readonly k: KernelExports;

  private constructor(
    buf: ArrayBuffer,
    k: KernelExports,
    at: HistKernel["at"],
    private readonly n: number,
    private readonly nf: number,
    histLen: number,
  ) {
    this.k = k;
    this.at = at;
    this.codes = new Uint16Array(buf, at.codes, n * nf);
    this.idx = new Int32Array(buf, at.idx, n);
    this.gh = new Float64Array(buf, at.gh, 2 * n);
    this.list = new Int32Array(buf, at.list, nf);
    this.hist = new Float64Array(buf, at.hist, histLen);
  }

  /** A kernel for n rows × nf features and histograms of `histLen` doubles; null when it cannot run here. */
  static create(n: number, nf: number, histLen: number): HistKernel | null {
    const at = { codes: 0, idx: 0, gh: 0, list: 0, hist: 0 };
    at.idx = align64(at.codes + 2 * n * nf);
    at.gh = align64(at.idx + 4 * n);
    at.list = align64(at.gh + 16 * n);
    at.hist = align64(at.list + 4 * nf);
    const inst = instantiate<KernelExports>(WASM_BASE64, at.hist + 8 * histLen);
    if (!inst) return null;
    return new HistKernel(inst.buffer, inst.exports, at, n, nf, histLen);
  }

  /** Gradient pairs of this tree: gh[off .. off + 2n). */
  loadGradients(gh: Float64Array, off: number): void {
    this.gh.set(gh.subarray(off, off + 2 * this.n));
  }

  /** The features built, as local numbers; all of them when `m` = nf. */
  setFeatures(list: Int32Array, m: number): void {
    this.list.set(list.subarray(0, m));
  }

  /** `into` = the histogram of rows rowIndex[start .. end) over the first `m` listed features. */
  build(into: Float64Array, rowIndex: Int32Array, start: number, end: number, m: number): void {
    const { at, k } = this;
    const count = end - start;
    this.idx.set(rowIndex.subarray(start, end));
    k.zero(at.hist, 8 * this.hist.length);
    if (m === this.nf) k.build(at.hist, at.codes, this.nf, at.idx, count, at.gh);
    else k.buildList(at.hist, at.codes, this.nf, at.idx, count, at.gh, at.list, m);
    into.set(this.hist);
  }
}
