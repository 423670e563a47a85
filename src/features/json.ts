import { NetwardenError } from "../core/index.js";

/**
 * Readers for serialised transformers. A bundle may have been edited, truncated or written by
 * another version, so every field is checked and a bad one is reported with its JSON path.
 */
export function formatError(where: string, message: string): NetwardenError {
  return new NetwardenError("NW_MODEL_FORMAT", message, {
    where,
    hint: "The preprocessor in this bundle is damaged or from an incompatible netwarden version; retrain the model or restore the bundle",
  });
}

export function readObject(v: unknown, where: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw formatError(where, "expected an object");
  return v as Record<string, unknown>;
}

export function readString(v: unknown, where: string): string {
  if (typeof v !== "string") throw formatError(where, "expected a string");
  return v;
}

export function readNumber(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw formatError(where, "expected a finite number");
  return v;
}

export function readInt(v: unknown, where: string, min: number): number {
  const n = readNumber(v, where);
  if (!Number.isInteger(n) || n < min) throw formatError(where, `expected an integer >= ${min}`);
  return n;
}

export function readEnum<T extends string>(v: unknown, where: string, values: readonly T[]): T {
  if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
    throw formatError(where, `expected one of ${values.join(", ")}`);
  }
  return v as T;
}

export function readArray(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw formatError(where, "expected an array");
  return v;
}

export function readStringArray(v: unknown, where: string): string[] {
  return readArray(v, where).map((s, i) => readString(s, `${where}[${i}]`));
}

/** Numbers with `null` standing for NaN (JSON has no NaN). */
export function readNullableNumbers(v: unknown, where: string): Float64Array {
  const a = readArray(v, where);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] === null ? Number.NaN : readNumber(a[i], `${where}[${i}]`);
  return out;
}

export function readNumbers(v: unknown, where: string): Float64Array {
  const a = readArray(v, where);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = readNumber(a[i], `${where}[${i}]`);
  return out;
}

/** The writing side of `readNullableNumbers`. */
export function nullableNumbers(a: Float64Array): (number | null)[] {
  const out: (number | null)[] = new Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Number.isNaN(a[i]) ? null : a[i];
  return out;
}

export function uniqueNames(names: readonly string[], where: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw formatError(where, `column \`${n}\` is listed twice`);
    seen.add(n);
  }
}
