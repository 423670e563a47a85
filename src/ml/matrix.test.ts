import { describe, expect, it } from "vitest";
import { checkMatrix, fromColumns, fromRows, getColumn, getRow, takeRows, toLayout } from "./matrix.js";

describe("matrix helpers", () => {
  const cols = [Float64Array.of(1, 2, 3), Float64Array.of(4, 5, 6)];

  it("builds column-major matrices from columns", () => {
    const X = fromColumns(cols);
    expect(X).toMatchObject({ nRows: 3, nCols: 2, layout: "col" });
    expect(Array.from(X.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("converts layouts both ways", () => {
    const X = fromColumns(cols);
    const R = toLayout(X, "row");
    expect(Array.from(R.data)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(toLayout(R, "col").data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(toLayout(X, "col")).toBe(X);
  });

  it("reads rows and columns in either layout", () => {
    for (const X of [
      fromColumns(cols),
      fromRows([
        [1, 4],
        [2, 5],
        [3, 6],
      ]),
    ]) {
      expect(Array.from(getRow(X, 1))).toEqual([2, 5]);
      expect(Array.from(getColumn(X, 1))).toEqual([4, 5, 6]);
    }
  });

  it("takes rows in the given order", () => {
    const rows = Int32Array.of(2, 0);
    expect(Array.from(takeRows(fromColumns(cols), rows).data)).toEqual([3, 1, 6, 4]);
    expect(Array.from(takeRows(toLayout(fromColumns(cols), "row"), rows).data)).toEqual([3, 6, 1, 4]);
    expect(() => takeRows(fromColumns(cols), Int32Array.of(3))).toThrow(/outside 0..2/);
  });

  it("rejects ragged and mis-sized input", () => {
    expect(() => fromColumns([Float64Array.of(1, 2), Float64Array.of(1)])).toThrow(/column 1 has 1 values/);
    expect(() => fromRows([[1, 2], [3]])).toThrow(/row 1 has 1 values/);
    expect(() => checkMatrix({ data: new Float64Array(5), nRows: 2, nCols: 3, layout: "row" })).toThrow(
      /claims 2 × 3 but holds 5/,
    );
  });
});
