import { align64, instantiate } from "../wasm.js";
import { WASM_BASE64 } from "./compact-kernel.wasm.js";

/** What the kernel reads of a PerfectTrees (compact.ts). */
interface PerfectTrees {
  nOutputs: number;
  leafWidth: number;
  treeOutput: Int32Array;
  used: Int32Array;
  perfectDepth: number;
  perfect: Int16Array;
  perfectValues: Float64Array;
  treeDepth: Uint8Array;
}

interface Exports {
  block(
    perfect: number,
    values: number,
    treeOut: number,
    depths: number,
    nTrees: number,
    depth: number,
    codes: number,
    U: number,
    B: number,
    out: number,
    K: number,
  ): void;
  row(
    perfect: number,
    values: number,
    treeOut: number,
    depths: number,
    nTrees: number,
    depth: number,
    codes: number,
    out: number,
  ): void;
}

/**
 * A compact model's perfect trees in a WebAssembly instance (one per model and thread): the walks of
 * `perfectBlock` / `perfectRow` for one value per leaf. The caller codes rows into `codes`, puts
 * the running outputs in `out`, calls `block` or `row`, and reads `out` back.
 */
export class CompactKernel {
  /** Coded rows of a block (rows × U). */
  readonly codes: Uint16Array;
  /** Outputs of a block (rows × K), added to in place. */
  readonly out: Float64Array;

  private constructor(
    buf: ArrayBuffer,
    private readonly k: Exports,
    private readonly at: {
      perfect: number;
      values: number;
      treeOut: number;
      depths: number;
      codes: number;
      out: number;
    },
    private readonly cm: PerfectTrees,
    private readonly U: number,
    block: number,
  ) {
    new Int16Array(buf, at.perfect, cm.perfect.length).set(cm.perfect);
    new Float64Array(buf, at.values, cm.perfectValues.length).set(cm.perfectValues);
    new Int32Array(buf, at.treeOut, cm.treeOutput.length).set(cm.treeOutput);
    new Uint8Array(buf, at.depths, cm.treeDepth.length).set(cm.treeDepth);
    this.codes = new Uint16Array(buf, at.codes, block * U);
    this.out = new Float64Array(buf, at.out, block * cm.nOutputs);
  }

  /** For models with perfect trees and one value per leaf; null otherwise or when kernels are off. */
  static create(cm: PerfectTrees, block: number): CompactKernel | null {
    if (cm.perfectDepth < 0 || cm.leafWidth !== 1) return null;
    const U = Math.max(1, cm.used.length);
    const at = { perfect: 0, values: 0, treeOut: 0, depths: 0, codes: 0, out: 0 };
    at.values = align64(2 * cm.perfect.length);
    at.treeOut = align64(at.values + 8 * cm.perfectValues.length);
    at.depths = align64(at.treeOut + 4 * cm.treeOutput.length);
    at.codes = align64(at.depths + cm.treeDepth.length);
    at.out = align64(at.codes + 2 * block * U);
    const inst = instantiate<Exports>(WASM_BASE64, at.out + 8 * block * cm.nOutputs);
    return inst ? new CompactKernel(inst.buffer, inst.exports, at, cm, U, block) : null;
  }

  /** Walks B coded rows through the first nTrees trees. */
  block(B: number, nTrees: number): void {
    const { at, cm } = this;
    this.k.block(
      at.perfect,
      at.values,
      at.treeOut,
      at.depths,
      nTrees,
      cm.perfectDepth,
      at.codes,
      this.U,
      B,
      at.out,
      cm.nOutputs,
    );
  }

  /** Walks the coded row at codes[0 ..] through the first nTrees trees into out[0 .. K). */
  row(nTrees: number): void {
    const { at, cm } = this;
    this.k.row(at.perfect, at.values, at.treeOut, at.depths, nTrees, cm.perfectDepth, at.codes, at.out);
  }
}
