import { describe, expect, it } from "vitest";
import { Rng } from "../../core/index.js";
import { type NeighborAlgorithm, NeighborIndex, type NeighborMetric } from "./neighbors.js";

/** k nearest rows by plain enumeration: distance in column order, ties by lower row. */
function naive(
  data: Float64Array,
  n: number,
  d: number,
  query: Float64Array,
  k: number,
  metric: NeighborMetric,
  skip = -1,
): { indices: number[]; distances: number[] } {
  const all: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    if (i === skip) continue;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const diff = query[j] - data[i * d + j];
      s += metric === "manhattan" ? Math.abs(diff) : diff * diff;
    }
    all.push([metric === "manhattan" ? s : Math.sqrt(s), i]);
  }
  all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return { indices: all.slice(0, k).map((e) => e[1]), distances: all.slice(0, k).map((e) => e[0]) };
}

/** Integer coordinates in a small range: exact distances, many ties and duplicate rows. */
function gridData(n: number, d: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n * d }, () => rng.int(5) - 2);
}

const CASES: { algorithm: NeighborAlgorithm; leafSize: number }[] = [
  { algorithm: "brute", leafSize: 4 },
  { algorithm: "kd_tree", leafSize: 1 },
  { algorithm: "kd_tree", leafSize: 3 },
  { algorithm: "kd_tree", leafSize: 8 },
];

describe("neighbour index", () => {
  it("1-D by hand: nearest first, equal distances by lower row", () => {
    const data = Float64Array.of(0, 1, 3, 3, 7, -1);
    for (const { algorithm, leafSize } of CASES) {
      const index = NeighborIndex.build(data, 6, 1, { algorithm, leafSize });
      // From 2: rows 1, 2, 3 are all at 1; from 5: rows 2, 3, 4 are all at 2.
      const r = index.kneighbors(Float64Array.of(2, 5), 3);
      expect(Array.from(r.indices)).toEqual([1, 2, 3, 2, 3, 4]);
      expect(Array.from(r.distances)).toEqual([1, 1, 1, 2, 2, 2]);
      expect(Array.from(index.kneighbors(Float64Array.of(2), 2).indices)).toEqual([1, 2]);
      expect(index.nDistinct).toBe(5);
    }
  });

  it("matches plain enumeration exactly on tie-heavy integer data, for both metrics", () => {
    const n = 700;
    const d = 3;
    const data = gridData(n, d, 1);
    const queries = gridData(60, d, 2);
    for (const metric of ["euclidean", "manhattan"] as const) {
      for (const { algorithm, leafSize } of CASES) {
        const index = NeighborIndex.build(data, n, d, { metric, algorithm, leafSize });
        expect(index.algorithm).toBe(algorithm);
        for (const k of [1, 4, 25]) {
          const r = index.kneighbors(queries, k);
          for (let q = 0; q < 60; q++) {
            const want = naive(data, n, d, queries.subarray(q * d, q * d + d), k, metric);
            expect(Array.from(r.indices.subarray(q * k, q * k + k))).toEqual(want.indices);
            expect(Array.from(r.distances.subarray(q * k, q * k + k))).toEqual(want.distances);
          }
        }
      }
    }
  });

  it("gives the same bytes with and without the tree on continuous data", () => {
    const rng = new Rng(3);
    const n = 2000;
    const d = 12;
    // Points near a 2-D plane in 12-D plus noise, so the tree prunes.
    const data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const a = rng.normal();
      const b = rng.normal();
      for (let j = 0; j < d; j++) data[i * d + j] = a * (j + 1) - b * (j % 3) + 0.05 * rng.normal();
    }
    const queries = data.map((v) => v + 0.01);
    for (const metric of ["euclidean", "manhattan"] as const) {
      const brute = NeighborIndex.build(data, n, d, { metric, algorithm: "brute" }).kneighbors(queries, 7);
      const tree = NeighborIndex.build(data, n, d, { metric, algorithm: "kd_tree" }).kneighbors(queries, 7);
      expect(Buffer.from(tree.indices.buffer).equals(Buffer.from(brute.indices.buffer))).toBe(true);
      expect(Buffer.from(tree.distances.buffer).equals(Buffer.from(brute.distances.buffer))).toBe(true);
      for (const q of [0, 999, 1999]) {
        const want = naive(data, n, d, queries.subarray(q * d, q * d + d), 7, metric);
        expect(Array.from(tree.indices.subarray(q * 7, q * 7 + 7))).toEqual(want.indices);
      }
    }
  });

  it("auto keeps the tree on structured data and scans noise", () => {
    const rng = new Rng(4);
    const n = 2000;
    const d = 40;
    const plane = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const a = rng.normal();
      const b = rng.normal();
      for (let j = 0; j < d; j++) plane[i * d + j] = a * Math.cos(j) + b * Math.sin(j);
    }
    const noise = Float64Array.from({ length: n * d }, () => rng.normal());
    expect(NeighborIndex.build(plane, n, d).algorithm).toBe("kd_tree");
    expect(NeighborIndex.build(noise, n, d).algorithm).toBe("brute");
    // Few distinct points: no tree.
    expect(NeighborIndex.build(gridData(300, 1, 5), 300, 1).algorithm).toBe("brute");
  });

  it("selfNeighbors returns each row's nearest other rows, duplicates included", () => {
    const n = 500;
    const d = 2;
    const data = gridData(n, d, 6);
    for (const { algorithm, leafSize } of CASES) {
      const index = NeighborIndex.build(data, n, d, { algorithm, leafSize });
      const r = index.selfNeighbors(3);
      for (let i = 0; i < n; i += 7) {
        const want = naive(data, n, d, data.subarray(i * d, i * d + d), 3, "euclidean", i);
        expect(Array.from(r.indices.subarray(i * 3, i * 3 + 3))).toEqual(want.indices);
        expect(Array.from(r.distances.subarray(i * 3, i * 3 + 3))).toEqual(want.distances);
      }
    }
    // Two rows: each is the other's only neighbour; −0 and 0 are the same point.
    const two = NeighborIndex.build(Float64Array.of(0, -0), 2, 1);
    expect(two.nDistinct).toBe(1);
    expect(Array.from(two.selfNeighbors(1).indices)).toEqual([1, 0]);
  });

  it("an index rebuilt from its state (as a worker does) answers the same", () => {
    const data = gridData(400, 3, 7);
    const index = NeighborIndex.build(data, 400, 3, { algorithm: "kd_tree" }, true);
    expect(index.state.pts.buffer).toBeInstanceOf(SharedArrayBuffer);
    const again = NeighborIndex.fromState(structuredClone(index.state));
    const q = gridData(30, 3, 8);
    expect(again.kneighbors(q, 5)).toEqual(index.kneighbors(q, 5));
  });
});
