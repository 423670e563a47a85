import { align64, instantiate } from "../wasm.js";
import { WASM_BASE64 } from "./cart-kernel.wasm.js";

interface Exports {
  accumulate(
    col: number,
    y: number,
    w: number,
    idx: number,
    s: number,
    e: number,
    hist: number,
    cnt: number,
    touched: number,
    K: number,
  ): number;
}

/**
 * A CART grower's working arrays in WebAssembly memory (one per grower and thread), with the
 * kernel that builds a node's per-feature class histogram. The grower uses the views (`idx`,
 * `w`, `hist`, `cnt`, `touched`) exactly as it would its own arrays.
 */
export class CartKernel {
  readonly idx: Int32Array;
  readonly w: Float64Array;
  readonly hist: Float64Array;
  readonly cnt: Int32Array;
  readonly touched: Int32Array;

  private constructor(
    buf: ArrayBuffer,
    private readonly k: Exports,
    private readonly at: {
      bins: number;
      y: number;
      w: number;
      idx: number;
      hist: number;
      cnt: number;
      touched: number;
    },
    private readonly n: number,
    private readonly K: number,
    bins: Uint8Array,
    y: Int32Array,
    maxBins: number,
  ) {
    new Uint8Array(buf, at.bins, bins.length).set(bins);
    new Int32Array(buf, at.y, n).set(y);
    this.w = new Float64Array(buf, at.w, n);
    this.idx = new Int32Array(buf, at.idx, n);
    this.hist = new Float64Array(buf, at.hist, maxBins * K);
    this.cnt = new Int32Array(buf, at.cnt, maxBins);
    this.touched = new Int32Array(buf, at.touched, maxBins);
  }

  /** Null when kernels are off or the data does not fit. */
  static create(bins: Uint8Array, y: Int32Array, n: number, K: number, maxBins: number): CartKernel | null {
    const at = { bins: 0, y: 0, w: 0, idx: 0, hist: 0, cnt: 0, touched: 0 };
    at.y = align64(bins.length);
    at.w = align64(at.y + 4 * n);
    at.idx = align64(at.w + 8 * n);
    at.hist = align64(at.idx + 4 * n);
    at.cnt = align64(at.hist + 8 * maxBins * K);
    at.touched = align64(at.cnt + 4 * maxBins);
    const inst = instantiate<Exports>(WASM_BASE64, at.touched + 4 * maxBins);
    return inst ? new CartKernel(inst.buffer, inst.exports, at, n, K, bins, y, maxBins) : null;
  }

  /** Class weights per bin of feature f over rows idx[s .. e) (weights from `w`); returns the bins touched. */
  accumulate(f: number, s: number, e: number): number {
    const { at } = this;
    return this.k.accumulate(
      at.bins + f * this.n,
      at.y,
      at.w,
      at.idx,
      s,
      e,
      at.hist,
      at.cnt,
      at.touched,
      this.K,
    );
  }
}
