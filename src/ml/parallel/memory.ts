/** Typed arrays that can be copied into shared memory. */
export type ShareableArray = Uint8Array | Uint16Array | Int32Array | Float32Array | Float64Array;

/** A copy of `a` in shared memory: worker threads then read it without copies of their own. */
export function sharedCopy<T extends ShareableArray>(a: T): T {
  const Ctor = a.constructor as new (buffer: SharedArrayBuffer) => T;
  const b = new Ctor(new SharedArrayBuffer(a.byteLength));
  b.set(a as never);
  return b;
}

/** `bytes` of memory, shared between threads when `shared`. */
export function arrayBuffer(bytes: number, shared: boolean): ArrayBuffer | SharedArrayBuffer {
  return shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}
