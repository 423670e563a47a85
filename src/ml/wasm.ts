/**
 * WebAssembly kernels (see `*.wat` next to their users, compiled by `npm run wasm`): one compiled
 * module per kernel and thread, and instances each with their own fixed-size memory — never grown,
 * because growing detaches the old buffer, and one detach slows every typed-array access in the
 * thread.
 */

/** The part of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
  Memory: new (size: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
}
type WasmModule = { readonly __wasmModule: unique symbol };
const api = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** Largest memory an instance asks for: wasm32 addresses 4 GiB; keep well inside it. */
const MAX_BYTES = 3 * 2 ** 30;
const PAGE = 65_536;
const compiled = new Map<string, WasmModule | null>();

/** `NETWARDEN_WASM=off` runs every kernel's JavaScript twin instead (same results; for comparisons). */
export function wasmEnabled(): boolean {
  return process.env.NETWARDEN_WASM !== "off" && api !== undefined;
}

function moduleOf(base64: string): WasmModule | null {
  let m = compiled.get(base64);
  if (m === undefined) {
    try {
      m = api ? new api.Module(Buffer.from(base64, "base64")) : null;
    } catch {
      m = null;
    }
    compiled.set(base64, m);
  }
  return m;
}

/** Rounds a byte offset up to a cache line. */
export function align64(x: number): number {
  return (x + 63) & ~63;
}

/**
 * An instance of the kernel `base64` with `bytes` of memory (imported as env.memory); null when
 * kernels are off, WebAssembly is missing, or the memory would be too large.
 */
export function instantiate<E>(base64: string, bytes: number): { exports: E; buffer: ArrayBuffer } | null {
  if (!wasmEnabled() || bytes > MAX_BYTES) return null;
  const mod = moduleOf(base64);
  if (!mod || !api) return null;
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  const memory = new api.Memory({ initial: pages, maximum: pages });
  const inst = new api.Instance(mod, { env: { memory } });
  return { exports: inst.exports as E, buffer: memory.buffer };
}
