import { describe, expect, it } from "vitest";
import { arrayBuffer, sharedCopy } from "./memory.js";

describe("shared memory helpers", () => {
  it("copies a typed array into shared memory, same type and values, independent of the source", () => {
    for (const a of [
      Uint8Array.of(1, 255),
      Uint16Array.of(7, 65_535),
      Int32Array.of(-3, 9),
      Float64Array.of(0.5, -1e300),
    ]) {
      const b = sharedCopy(a);
      expect(b.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(b.constructor).toBe(a.constructor);
      expect(Array.from(b)).toEqual(Array.from(a));
      a[0] = 42;
      expect(b[0]).not.toBe(42);
    }
    // A view copies only its own elements.
    const view = Float32Array.of(1, 2, 3, 4).subarray(1, 3);
    expect(Array.from(sharedCopy(view))).toEqual([2, 3]);
  });

  it("hands out shared or plain memory as asked", () => {
    expect(arrayBuffer(16, true)).toBeInstanceOf(SharedArrayBuffer);
    expect(arrayBuffer(16, false)).toBeInstanceOf(ArrayBuffer);
    expect(arrayBuffer(16, false).byteLength).toBe(16);
  });
});
