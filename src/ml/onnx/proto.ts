import onnxProto from "onnx-proto";
import { NetwardenError } from "../../core/index.js";

/** The generated ONNX protobuf classes (onnx-proto is CommonJS: its namespace is the default export). */
export const onnx = onnxProto.onnx;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type ModelProto = onnxProto.onnx.IModelProto;
export type TensorProto = onnxProto.onnx.ITensorProto;

export const ATTR = onnx.AttributeProto.AttributeType;
export const DTYPE = onnx.TensorProto.DataType;
export const ML_DOMAIN = "ai.onnx.ml";

export const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export function intAttr(name: string, value: number): AttributeProto {
  return { name, type: ATTR.INT, i: value };
}

export function intsAttr(name: string, values: ArrayLike<number>): AttributeProto {
  return { name, type: ATTR.INTS, ints: Array.from(values) };
}

export function stringAttr(name: string, value: string): AttributeProto {
  return { name, type: ATTR.STRING, s: utf8.encode(value) };
}

export function stringsAttr(name: string, values: readonly string[]): AttributeProto {
  return { name, type: ATTR.STRINGS, strings: values.map((v) => utf8.encode(v)) };
}

/** A 1-D double tensor attribute (the `*_as_tensor` attributes of ai.onnx.ml opset 3). */
export function doublesAttr(name: string, values: ArrayLike<number>): AttributeProto {
  return {
    name,
    type: ATTR.TENSOR,
    t: { dims: [values.length], dataType: DTYPE.DOUBLE, doubleData: Array.from(values) },
  };
}

/** A tensor graph input or output with a symbolic first dimension. */
export function tensorInfo(name: string, elemType: number, dims: (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export function encodeOnnx(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** Decodes ONNX bytes; anything protobuf cannot read is NW_MODEL_FORMAT. */
export function decodeOnnx(bytes: Uint8Array, where: string): onnxProto.onnx.ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new NetwardenError("NW_MODEL_FORMAT", `not an ONNX model: ${(e as Error).message}`, {
      where,
      hint: "Pass the bytes of an .onnx file (a serialised ModelProto)",
      cause: e,
    });
  }
}

/** int64 fields decode as Long objects when the `long` package is present. */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "number" ? v : v.toNumber();
}

export function attrString(a: AttributeProto): string {
  return a.s ? fromUtf8.decode(a.s) : "";
}

export function attrStrings(a: AttributeProto): string[] {
  return (a.strings ?? []).map((s) => fromUtf8.decode(s));
}

export function attrInts(a: AttributeProto): number[] {
  return (a.ints ?? []).map((v) => toNumber(v as number));
}

/**
 * Numbers of a FLOATS attribute or of a float/double TENSOR attribute (raw little-endian bytes or
 * typed fields); `undefined` for other attribute types.
 */
export function attrNumbers(a: AttributeProto): number[] | undefined {
  if (a.type === ATTR.FLOATS) return a.floats ?? [];
  if (a.type !== ATTR.TENSOR || !a.t) return undefined;
  const t = a.t;
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  if (t.dataType === DTYPE.DOUBLE) {
    if (!raw) return t.doubleData ?? [];
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Array.from({ length: raw.byteLength / 8 }, (_, i) => view.getFloat64(i * 8, true));
  }
  if (t.dataType === DTYPE.FLOAT) {
    if (!raw) return t.floatData ?? [];
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
  }
  return undefined;
}
