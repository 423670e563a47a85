import { describe, expect, it } from "vitest";
import type { NetwardenError } from "../../core/index.js";
import { fromRows } from "../matrix.js";
import { allocNodes, EnsembleBuilder, TreeEnsemble } from "./ensemble.js";

/** Stump on feature f: x ≤ t → a, else b; missing goes left when dl. */
function stump(f: number, t: number, a: number, b: number, dl: 0 | 1) {
  const nd = allocNodes(3);
  nd.feature.set([f, -1, -1]);
  nd.threshold[0] = t;
  nd.left[0] = 1;
  nd.right[0] = 2;
  nd.defaultLeft[0] = dl;
  nd.value.set([0, a, b]);
  nd.gain[0] = 2;
  nd.cover.set([3, 1, 2]);
  return nd;
}

describe("TreeEnsemble", () => {
  const b = new EnsembleBuilder(2);
  b.add(stump(0, 0.5, -1, 1, 1), 3, 0);
  b.add(stump(1, Number.POSITIVE_INFINITY, 10, 20, 0), 3, 1);
  b.add(stump(1, 2, 100, 200, 0), 3, 0);
  const ens = b.build();

  it("walks every tree and adds leaves to their output", () => {
    const X = fromRows([
      [0, 1],
      [1, 3],
      [Number.NaN, Number.NaN],
    ]);
    const raw = ens.predictRaw(X, Float64Array.of(0.5, -0.5));
    // row 0: out0 = .5 - 1 + 100, out1 = -.5 + 10
    // row 1: out0 = .5 + 1 + 200, out1 = -.5 + 10
    // row 2 (missing): tree 0 left (-1), tree 1 right (20), tree 2 right (200)
    expect(Array.from(raw)).toEqual([99.5, 9.5, 201.5, 9.5, 199.5, 19.5]);
    expect(Array.from(ens.predictRaw(X, Float64Array.of(0, 0), 1))).toEqual([-1, 0, 1, 0, -1, 0]);
  });

  it("sums gain per feature", () => {
    expect(Array.from(ens.gainPerFeature(3))).toEqual([2, 4, 0]);
  });

  it("round-trips through JSON, infinite thresholds included", () => {
    const json = JSON.parse(JSON.stringify(ens.toJSON()));
    expect(json.threshold[3]).toBeNull();
    const back = TreeEnsemble.fromJSON(json, 2);
    expect(back.toJSON()).toEqual(ens.toJSON());
    expect(back.nodes.threshold[3]).toBe(Number.POSITIVE_INFINITY);
  });

  it("rejects damaged node arrays", () => {
    const good = ens.toJSON();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...good, left: [...good.left].fill(0) }, /bad children/],
      [{ ...good, feature: good.feature.map((f) => (f === 1 ? 5 : f)) }, /feature 5/],
      [{ ...good, value: good.value.slice(1) }, /`value` has 8 entries/],
      [{ ...good, roots: [0, 3, 99] }, /root index/],
      [{ ...good, gain: [...good.gain.slice(1), "x"] }, /non-number/],
    ];
    for (const [bad, msg] of cases) {
      try {
        TreeEnsemble.fromJSON(bad, 2);
        expect.unreachable();
      } catch (e) {
        expect((e as NetwardenError).code).toBe("NW_MODEL_FORMAT");
        expect((e as Error).message).toMatch(msg);
      }
    }
  });
});

describe("TreeEnsemble with vector leaves", () => {
  // Two trees over 3 outputs; each leaf adds a whole vector.
  const b = new EnsembleBuilder(3, 3);
  const t0 = allocNodes(3, 3);
  t0.feature.set([0, -1, -1]);
  t0.threshold[0] = 0.5;
  t0.left[0] = 1;
  t0.right[0] = 2;
  t0.defaultLeft[0] = 0;
  t0.value.set([0, 0, 0, 0.5, 0.25, 0.25, 0, 0.1, 0.9]);
  t0.cover.set([4, 2, 2]);
  const t1 = allocNodes(1, 3);
  t1.feature[0] = -1;
  t1.value.set([1, 2, 3]);
  t1.cover[0] = 4;
  b.add(t0, 3, 2);
  b.add(t1, 1, 0);
  const ens = b.build();

  it("adds the reached leaf's vector to every output", () => {
    expect(ens.leafWidth).toBe(3);
    expect(Array.from(ens.treeOutput)).toEqual([0, 0]);
    // Five rows so the four-row path and the tail both run; NaN goes right (defaultLeft 0).
    const X = fromRows([[0], [1], [Number.NaN], [0.5], [2]]);
    const raw = ens.predictRaw(X, Float64Array.of(10, 20, 30));
    const left = [11.5, 22.25, 33.25];
    const right = [11, 22.1, 33.9];
    const expected = [left, right, right, left, right].flat();
    expect(raw.length).toBe(15);
    for (let i = 0; i < 15; i++) expect(raw[i]).toBeCloseTo(expected[i], 14);
    expect(Array.from(ens.predictRaw(X, new Float64Array(3), 1).subarray(0, 3))).toEqual([0.5, 0.25, 0.25]);
  });

  it("round-trips through JSON and reads a missing leafWidth as 1", () => {
    const json = JSON.parse(JSON.stringify(ens.toJSON()));
    expect(json.leafWidth).toBe(3);
    expect(json.value).toHaveLength(12);
    const back = TreeEnsemble.fromJSON(json, 1);
    expect(back.toJSON()).toEqual(ens.toJSON());
    const scalar = new EnsembleBuilder(2);
    scalar.add(stump(0, 0.5, -1, 1, 1), 3, 1);
    const { leafWidth: _, ...old } = scalar.build().toJSON();
    expect(TreeEnsemble.fromJSON(old, 1).leafWidth).toBe(1);
  });

  it("rejects a leafWidth that is neither 1 nor nOutputs, and short value arrays", () => {
    const good = ens.toJSON();
    expect(() => TreeEnsemble.fromJSON({ ...good, leafWidth: 2 }, 1)).toThrow(/leafWidth/);
    expect(() => TreeEnsemble.fromJSON({ ...good, value: good.value.slice(3) }, 1)).toThrow(
      /`value` has 9 entries, expected 12/,
    );
  });
});
