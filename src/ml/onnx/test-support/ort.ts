import { InferenceSession, Tensor } from "onnxruntime-node";
import { expect } from "vitest";
import { toLayout } from "../../matrix.js";
import type { Matrix } from "../../types.js";

/** Runs an ONNX model in onnxruntime-node: its probabilities (as doubles) and labels. */
export async function ortRun(
  bytes: Uint8Array,
  X: Matrix,
  type: "float64" | "float32" = "float64",
): Promise<{ proba: Float64Array; label: unknown[] }> {
  const session = await InferenceSession.create(bytes);
  const rows = toLayout(X, "row").data;
  const data = type === "float64" ? Float64Array.from(rows) : Float32Array.from(rows);
  const out = await session.run({ [session.inputNames[0]]: new Tensor(type, data, [X.nRows, X.nCols]) });
  return {
    proba: Float64Array.from(out[session.outputNames[1]].data as Float32Array),
    label: Array.from(out[session.outputNames[0]].data as ArrayLike<unknown>),
  };
}

export async function ortProba(bytes: Uint8Array, X: Matrix, type: "float64" | "float32" = "float64") {
  return (await ortRun(bytes, X, type)).proba;
}

export function maxDiff(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
