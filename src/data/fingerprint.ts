import { createHash } from "node:crypto";
import { endianness } from "node:os";
import { type Column, MISSING_CODE, type Table } from "./table.js";

const FORMAT = "netwarden.table-fingerprint/v1";

/**
 * sha256 (hex) of the table's content: column names, types and values, not the bytes of the file
 * it came from, so the same data read from a CSV or a database has the same fingerprint.
 * Columns are taken in name order; categorical columns are hashed through their sorted, used
 * categories, so dictionary order does not matter; NaN and -0 are canonicalised.
 */
export function fingerprintTable(table: Table): string {
  const h = createHash("sha256");
  const cols = [...table.columns].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  h.update(JSON.stringify({ format: FORMAT, rows: table.nRows, columns: cols.map((c) => [c.name, c.type]) }));
  for (const c of cols) hashColumn(h, c);
  return h.digest("hex");
}

function hashColumn(h: ReturnType<typeof createHash>, c: Column): void {
  if (c.type === "numeric") {
    const v = new Float64Array(c.values.length);
    for (let i = 0; i < v.length; i++) {
      const x = c.values[i];
      v[i] = Number.isNaN(x) ? Number.NaN : x === 0 ? 0 : x;
    }
    h.update(littleEndian(new Uint8Array(v.buffer), 8));
    return;
  }
  const used = new Uint8Array(c.categories.length);
  for (const code of c.codes) if (code !== MISSING_CODE) used[code] = 1;
  const order = c.categories
    .map((label, code) => ({ label, code }))
    .filter((e) => used[e.code])
    .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  const rank = new Int32Array(c.categories.length).fill(MISSING_CODE);
  order.forEach((e, r) => {
    rank[e.code] = r;
  });
  h.update(JSON.stringify(order.map((e) => e.label)));
  const codes = new Int32Array(c.codes.length);
  for (let i = 0; i < codes.length; i++)
    codes[i] = c.codes[i] === MISSING_CODE ? MISSING_CODE : rank[c.codes[i]];
  h.update(littleEndian(new Uint8Array(codes.buffer), 4));
}

/** Typed-array bytes in little-endian order whatever the machine (swapped in place: callers pass copies). */
function littleEndian(bytes: Uint8Array, width: 4 | 8): Uint8Array {
  if (endianness() === "LE") return bytes;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return width === 8 ? b.swap64() : b.swap32();
}
