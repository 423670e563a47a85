import { NetwardenError, sha256 } from "../../core/index.js";
import { loadModel } from "../registry.js";
import type { FittedModel, SerializedModel } from "../types.js";

/**
 * Compact model files. Small models are their `toJSON()` text. Large ones are binary:
 *
 *   "NWMB" | u32 version | u32 header length H | H bytes of JSON header | padding to 8 |
 *   blobs (each 8-byte aligned) | 32-byte sha256 of everything before it
 *
 * The header is the model's JSON with every long numeric list replaced by {"$nwblob": i}; blob i
 * holds that list raw, as the narrowest exact type (u8, i32, f32 or f64; f64n keeps nulls as NaN).
 * Numbers come back bit for bit, so both forms load into the same model.
 */
export const BINARY_MAGIC = "NWMB";
export const BINARY_VERSION = 1;

/** Numeric lists shorter than this stay in the JSON header. */
const MIN_BLOB = 64;
/** "auto" writes binary once the model holds this many numbers in long lists. */
export const AUTO_BINARY_NUMBERS = 20_000;
const CHECKSUM_BYTES = 32;
const BLOB_KEY = "$nwblob";

type BlobType = "u8" | "i32" | "f32" | "f64" | "f64n";

interface BlobInfo {
  type: BlobType;
  length: number;
}

interface Header {
  model: unknown;
  blobs: BlobInfo[];
}

const BYTES: Record<BlobType, number> = { u8: 1, i32: 4, f32: 4, f64: 8, f64n: 8 };

export interface EncodeOptions {
  /** "auto" (default): JSON for small models, binary for large ones. */
  form?: "auto" | "json" | "binary";
}

/** A fitted model (or its `toJSON()` form) as bytes; see `decodeModel`. */
export function encodeModel(model: FittedModel | SerializedModel, options: EncodeOptions = {}): Uint8Array {
  const json = isSerialized(model) ? model : model.toJSON();
  const form = options.form ?? "auto";
  if (form === "json") return new TextEncoder().encode(JSON.stringify(json));
  const blobs: (number | null)[][] = [];
  const stripped = extract(json, blobs);
  let numbers = 0;
  for (const b of blobs) numbers += b.length;
  if (form === "auto" && numbers < AUTO_BINARY_NUMBERS) return new TextEncoder().encode(JSON.stringify(json));
  return writeBinary(stripped, blobs);
}

/** The model in bytes written by `encodeModel` (either form); damage is NW_MODEL_FORMAT. */
export function decodeModel(bytes: Uint8Array): FittedModel {
  return loadModel(decodeSerialized(bytes));
}

/** The `toJSON()` form held in bytes written by `encodeModel`, without building the model. */
export function decodeSerialized(bytes: Uint8Array): SerializedModel {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) bad("no bytes");
  if (modelForm(bytes) === "json") {
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as SerializedModel;
    } catch (e) {
      return bad(`not valid JSON (${(e as Error).message})`);
    }
  }
  return readBinary(bytes);
}

/** Which form bytes are in: binary when they start with the magic, JSON otherwise. */
export function modelForm(bytes: Uint8Array): "json" | "binary" {
  const m = BINARY_MAGIC;
  const isBinary =
    bytes.length >= 4 &&
    bytes[0] === m.charCodeAt(0) &&
    bytes[1] === m.charCodeAt(1) &&
    bytes[2] === m.charCodeAt(2) &&
    bytes[3] === m.charCodeAt(3);
  return isBinary ? "binary" : "json";
}

function isSerialized(model: FittedModel | SerializedModel): model is SerializedModel {
  return typeof (model as FittedModel).toJSON !== "function";
}

function bad(what: string): never {
  throw new NetwardenError("NW_MODEL_FORMAT", `cannot read model file: ${what}`, {
    where: "model file",
    hint: "The file is damaged or was not written by netwarden; restore it from the registry or retrain",
  });
}

/** Copy of `value` with long numeric lists moved into `blobs`. */
function extract(value: unknown, blobs: (number | null)[][]): unknown {
  if (Array.isArray(value)) {
    if (value.length >= MIN_BLOB && value.every((v) => typeof v === "number" || v === null)) {
      blobs.push(value as (number | null)[]);
      return { [BLOB_KEY]: blobs.length - 1 };
    }
    return value.map((v) => extract(v, blobs));
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = extract(v, blobs);
    return out;
  }
  return value;
}

/** The narrowest type that holds every value exactly; non-finite numbers become null, as in JSON. */
function blobType(a: (number | null)[]): BlobType {
  let u8 = true;
  let i32 = true;
  let f32 = true;
  for (const v of a) {
    if (v === null || !Number.isFinite(v)) return "f64n";
    if (u8 && !(Number.isInteger(v) && v >= 0 && v <= 255)) u8 = false;
    if (i32 && !(Number.isInteger(v) && v >= -2147483648 && v <= 2147483647)) i32 = false;
    if (f32 && Math.fround(v) !== v) f32 = false;
  }
  if (u8) return "u8";
  if (i32) return "i32";
  return f32 ? "f32" : "f64";
}

const align8 = (n: number) => (n + 7) & ~7;

function writeBinary(model: unknown, blobs: (number | null)[][]): Uint8Array {
  const infos: BlobInfo[] = blobs.map((b) => ({ type: blobType(b), length: b.length }));
  const header = new TextEncoder().encode(JSON.stringify({ model, blobs: infos } satisfies Header));
  let size = align8(12 + header.length);
  const offsets = infos.map((info) => {
    const at = size;
    size = align8(size + info.length * BYTES[info.type]);
    return at;
  });
  const out = new Uint8Array(size + CHECKSUM_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = BINARY_MAGIC.charCodeAt(i);
  view.setUint32(4, BINARY_VERSION, true);
  view.setUint32(8, header.length, true);
  out.set(header, 12);
  blobs.forEach((b, i) => {
    const { type, length } = infos[i];
    const at = offsets[i];
    // out is freshly allocated and offsets are 8-aligned, so typed views can write in place.
    if (type === "u8") out.set(b as number[], at);
    else if (type === "i32") new Int32Array(out.buffer, at, length).set(b as number[]);
    else if (type === "f32") new Float32Array(out.buffer, at, length).set(b as number[]);
    else {
      const dst = new Float64Array(out.buffer, at, length);
      for (let k = 0; k < length; k++) {
        const v = b[k];
        dst[k] = v === null || !Number.isFinite(v) ? Number.NaN : v;
      }
    }
  });
  out.set(Buffer.from(sha256(out.subarray(0, size)), "hex"), size);
  return out;
}

function readBinary(bytes: Uint8Array): SerializedModel {
  if (bytes.length < 12 + CHECKSUM_BYTES) bad(`binary file of ${bytes.length} bytes is truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== BINARY_VERSION) {
    throw new NetwardenError("NW_MODEL_FORMAT", `model file format version ${version} is not supported`, {
      where: "model file",
      hint: `This netwarden reads version ${BINARY_VERSION}; use the netwarden version that wrote the file`,
    });
  }
  const end = bytes.length - CHECKSUM_BYTES;
  const want = Buffer.from(bytes.subarray(end)).toString("hex");
  if (sha256(bytes.subarray(0, end)) !== want) bad("checksum mismatch (the file is damaged or truncated)");
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > end) bad("header runs past the end of the file");
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as Header;
  } catch (e) {
    return bad(`header is not JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== "object" || !Array.isArray(header.blobs)) bad("header has no blob table");
  let at = align8(12 + headerLength);
  const lists = header.blobs.map((info, i) => {
    const width = BYTES[info?.type];
    if (!width || !Number.isInteger(info.length) || info.length < 0) bad(`blob ${i} has a bad description`);
    if (at + info.length * width > end) bad(`blob ${i} runs past the end of the file`);
    const list = readList(bytes, at, info);
    at = align8(at + info.length * width);
    return list;
  });
  return revive(header.model, lists) as SerializedModel;
}

/** A blob as a plain list (what `loadModel` reads). */
function readList(bytes: Uint8Array, at: number, info: BlobInfo): (number | null)[] {
  const { type, length } = info;
  const start = bytes.byteOffset + at;
  // Views need aligned offsets; bytes handed over from elsewhere may not be, then copy first.
  const src = start % 8 === 0 ? bytes.buffer : bytes.slice(at, at + length * BYTES[type]).buffer;
  const off = start % 8 === 0 ? start : 0;
  const typed =
    type === "u8"
      ? new Uint8Array(src, off, length)
      : type === "i32"
        ? new Int32Array(src, off, length)
        : type === "f32"
          ? new Float32Array(src, off, length)
          : new Float64Array(src, off, length);
  const out: (number | null)[] = new Array(length);
  if (type === "f64n") for (let k = 0; k < length; k++) out[k] = Number.isNaN(typed[k]) ? null : typed[k];
  else for (let k = 0; k < length; k++) out[k] = typed[k];
  return out;
}

function revive(value: unknown, lists: (number | null)[][]): unknown {
  if (Array.isArray(value)) return value.map((v) => revive(v, lists));
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === BLOB_KEY) {
      const i = o[BLOB_KEY];
      if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= lists.length)
        bad(`unknown blob ${String(i)}`);
      return lists[i as number];
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = revive(o[k], lists);
    return out;
  }
  return value;
}
