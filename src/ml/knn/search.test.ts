import { describe, expect, it } from "vitest";
import { NeighborIndex } from "../../features/resample/index.js";
import { toLayout } from "../matrix.js";
import { loadPhishing } from "../test-support/datasets.js";
import { searchParallel } from "./search.js";

describe("parallel neighbour search", () => {
  const d = loadPhishing();
  const X = toLayout(d.X, "row").data as Float64Array;
  const n = 8000;
  const index = NeighborIndex.build(X.subarray(0, n * d.X.nCols), n, d.X.nCols, { k: 5 }, true);
  const queries = X.subarray(n * d.X.nCols);
  const want = index.kneighbors(queries, 5);

  it("worker threads alone give the bytes of a single-thread search", () => {
    // The calling thread only waits, so every chunk is searched by one of the two workers.
    const got = searchParallel(index, queries, 5, 3, { callerShare: false });
    expect(got.chunksOnWorkers).toBe(Math.ceil((d.X.nRows - n) / 64));
    expect(Buffer.from(got.indices.buffer).equals(Buffer.from(want.indices.buffer))).toBe(true);
    expect(Buffer.from(got.distances.buffer).equals(Buffer.from(want.distances.buffer))).toBe(true);
  });

  it("the calling thread and workers together give the same bytes", () => {
    for (const threads of [2, 4]) {
      const got = searchParallel(index, queries, 5, threads);
      expect(Array.from(got.indices)).toEqual(Array.from(want.indices));
      expect(Array.from(got.distances)).toEqual(Array.from(want.distances));
    }
  });
});
