import { NetwardenError } from "../core/index.js";
import type { FloatArray, Matrix } from "./types.js";

/** Column-major matrix from equal-length columns (copied into one buffer). */
export function fromColumns(cols: readonly FloatArray[]): Matrix {
  const nCols = cols.length;
  const nRows = nCols === 0 ? 0 : cols[0].length;
  const data = new Float64Array(nRows * nCols);
  for (let j = 0; j < nCols; j++) {
    if (cols[j].length !== nRows) {
      throw new NetwardenError(
        "NW_LEARNER_INVALID_INPUT",
        `column ${j} has ${cols[j].length} values, column 0 has ${nRows}`,
        { where: `matrix column ${j}`, hint: "All columns of a matrix must have the same length" },
      );
    }
    data.set(cols[j], j * nRows);
  }
  return { data, nRows, nCols, layout: "col" };
}

/** Row-major matrix from equal-length rows (copied into one buffer). */
export function fromRows(rows: readonly ArrayLike<number>[]): Matrix {
  const nRows = rows.length;
  const nCols = nRows === 0 ? 0 : rows[0].length;
  const data = new Float64Array(nRows * nCols);
  for (let i = 0; i < nRows; i++) {
    const r = rows[i];
    if (r.length !== nCols) {
      throw new NetwardenError(
        "NW_LEARNER_INVALID_INPUT",
        `row ${i} has ${r.length} values, row 0 has ${nCols}`,
        {
          where: `matrix row ${i}`,
          hint: "All rows of a matrix must have the same length",
        },
      );
    }
    const o = i * nCols;
    for (let j = 0; j < nCols; j++) data[o + j] = r[j];
  }
  return { data, nRows, nCols, layout: "row" };
}

/** Throws unless `data` holds exactly nRows × nCols values in a known layout. */
export function checkMatrix(X: Matrix, what = "X"): void {
  const ok =
    X !== null &&
    typeof X === "object" &&
    (X.data instanceof Float64Array || X.data instanceof Float32Array) &&
    Number.isInteger(X.nRows) &&
    Number.isInteger(X.nCols) &&
    X.nRows >= 0 &&
    X.nCols >= 0 &&
    (X.layout === "row" || X.layout === "col");
  if (!ok) {
    throw new NetwardenError("NW_LEARNER_INVALID_INPUT", `${what} is not a matrix`, {
      where: what,
      hint: "Pass { data: Float64Array | Float32Array, nRows, nCols, layout: 'row' | 'col' }",
    });
  }
  if (X.data.length !== X.nRows * X.nCols) {
    throw new NetwardenError(
      "NW_LEARNER_INVALID_INPUT",
      `${what} claims ${X.nRows} × ${X.nCols} but holds ${X.data.length} values`,
      { where: what, hint: "data.length must equal nRows * nCols" },
    );
  }
}

/** Strides such that element (i, j) is data[i * rowStride + j * colStride]. */
export function strides(X: Matrix): { rowStride: number; colStride: number } {
  return X.layout === "row" ? { rowStride: X.nCols, colStride: 1 } : { rowStride: 1, colStride: X.nRows };
}

/** The same values in the requested layout (X itself when it already has it). */
export function toLayout(X: Matrix, layout: "row" | "col"): Matrix {
  if (X.layout === layout) return X;
  const { nRows, nCols } = X;
  const src = X.data;
  const data = new Float64Array(nRows * nCols);
  if (layout === "row") {
    for (let j = 0; j < nCols; j++) {
      const o = j * nRows;
      for (let i = 0; i < nRows; i++) data[i * nCols + j] = src[o + i];
    }
  } else {
    for (let i = 0; i < nRows; i++) {
      const o = i * nCols;
      for (let j = 0; j < nCols; j++) data[j * nRows + i] = src[o + j];
    }
  }
  return { data, nRows, nCols, layout };
}

/** Row i as a Float64Array (written into `out` when given). */
export function getRow(X: Matrix, i: number, out = new Float64Array(X.nCols)): Float64Array {
  const { rowStride, colStride } = strides(X);
  const o = i * rowStride;
  for (let j = 0; j < X.nCols; j++) out[j] = X.data[o + j * colStride];
  return out;
}

/** Column j as a Float64Array (written into `out` when given). */
export function getColumn(X: Matrix, j: number, out = new Float64Array(X.nRows)): Float64Array {
  const { rowStride, colStride } = strides(X);
  const o = j * colStride;
  for (let i = 0; i < X.nRows; i++) out[i] = X.data[o + i * rowStride];
  return out;
}

/** The given rows, in the given order, as a new matrix of the same layout. */
export function takeRows(X: Matrix, rows: Int32Array): Matrix {
  const { nRows, nCols } = X;
  const m = rows.length;
  for (let k = 0; k < m; k++) {
    if (!(rows[k] >= 0 && rows[k] < nRows)) {
      throw new NetwardenError(
        "NW_LEARNER_INVALID_INPUT",
        `row index ${rows[k]} is outside 0..${nRows - 1}`,
        {
          where: `row list position ${k}`,
          hint: "Row indices must refer to rows of the matrix",
        },
      );
    }
  }
  const src = X.data;
  const data = new Float64Array(m * nCols);
  if (X.layout === "row") {
    for (let k = 0; k < m; k++) data.set(src.subarray(rows[k] * nCols, rows[k] * nCols + nCols), k * nCols);
  } else {
    for (let j = 0; j < nCols; j++) {
      const o = j * nRows;
      const d = j * m;
      for (let k = 0; k < m; k++) data[d + k] = src[o + rows[k]];
    }
  }
  return { data, nRows: m, nCols, layout: X.layout };
}

/** Rows [from, to) of a row-major n × K array replaced in place by their softmax. */
export function softmaxRows(a: Float64Array, from: number, to: number, K: number): void {
  for (let i = from; i < to; i++) {
    const o = i * K;
    let max = a[o];
    for (let k = 1; k < K; k++) if (a[o + k] > max) max = a[o + k];
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(a[o + k] - max);
      a[o + k] = e;
      sum += e;
    }
    for (let k = 0; k < K; k++) a[o + k] /= sum;
  }
}
