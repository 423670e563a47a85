import { NetwardenError } from "../core/index.js";
import { MISSING_CODE, type Table } from "./table.js";

/**
 * Row identity over some columns, shared by several tables: rows with the same values get the
 * same id, ids are 0..nKeys-1 in order of first appearance (table by table). Categorical values
 * are compared by their text, so tables with different dictionaries still agree; NaN equals NaN
 * and -0 equals 0.
 */
export function rowKeysAcross(
  tables: readonly Table[],
  columns: readonly string[],
): { keys: Int32Array[]; nKeys: number } {
  if (columns.length === 0) {
    throw new NetwardenError("NW_SCHEMA_INVALID", "row keys need at least one column", {
      hint: "Name the columns that identify a row",
    });
  }
  // Per column and table: either the numeric values or the codes in one dictionary shared by all tables.
  const views = columns.map((name) => columnViews(tables, name));
  const keyOf = new Map<number, number>();
  const repTable: number[] = [];
  const repRow: number[] = [];
  let fallback: Map<string, number> | null = null;
  const keys = tables.map((t) => new Int32Array(t.nRows));
  const f64 = new Float64Array(1);
  const u32 = new Uint32Array(f64.buffer);
  let nKeys = 0;

  const same = (t1: number, r1: number, t2: number, r2: number): boolean => {
    for (const v of views) {
      const a = v[t1][r1];
      const b = v[t2][r2];
      if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) return false;
    }
    return true;
  };
  const exactText = (t: number, r: number): string => views.map((v) => String(v[t][r])).join("\u0000");

  for (let t = 0; t < tables.length; t++) {
    const out = keys[t];
    for (let r = 0; r < out.length; r++) {
      let h1 = 0x12345678;
      let h2 = 0x9abcdef0;
      for (const v of views) {
        const x = v[t][r];
        let lo: number;
        let hi: number;
        if (Number.isNaN(x)) {
          lo = 0;
          hi = 0x7ff80000;
        } else if (x === 0) {
          lo = hi = 0;
        } else {
          f64[0] = x;
          lo = u32[0];
          hi = u32[1];
        }
        h1 = mix(mix(h1, lo), hi);
        h2 = mix(mix(h2 ^ 0x5bd1e995, hi), lo);
      }
      const key = (fmix(h1) >>> 0) * 2097152 + (fmix(h2) >>> 11);
      let id = keyOf.get(key);
      if (id === undefined) {
        id = nKeys++;
        keyOf.set(key, id);
        repTable.push(t);
        repRow.push(r);
      } else if (!same(t, r, repTable[id], repRow[id])) {
        // A hash collision between different rows: settle it on the exact values.
        fallback ??= new Map();
        const text = exactText(t, r);
        let fid = fallback.get(text);
        if (fid === undefined) {
          fid = nKeys++;
          fallback.set(text, fid);
          repTable.push(t);
          repRow.push(r);
        }
        id = fid;
      }
      out[r] = id;
    }
  }
  return { keys, nKeys };
}

/** Group ids of a table's rows: identical rows (over `columns`) share an id. */
export function rowKeys(table: Table, columns: readonly string[]): Int32Array {
  return rowKeysAcross([table], columns).keys[0];
}

type View = ArrayLike<number>;

function columnViews(tables: readonly Table[], name: string): View[] {
  const cols = tables.map((t) => t.column(name));
  if (cols.every((c) => c.type === "numeric")) return cols.map((c) => (c.type === "numeric" ? c.values : []));
  // Categorical (or mixed) columns: re-code every table into one dictionary keyed by text.
  const dict = new Map<string, number>();
  const codeOf = (label: string): number => {
    let c = dict.get(label);
    if (c === undefined) {
      c = dict.size;
      dict.set(label, c);
    }
    return c;
  };
  return cols.map((c) => {
    if (c.type === "categorical") {
      const remap = Int32Array.from(c.categories, codeOf);
      const out = new Int32Array(c.codes.length);
      for (let i = 0; i < out.length; i++)
        out[i] = c.codes[i] === MISSING_CODE ? MISSING_CODE : remap[c.codes[i]];
      return out;
    }
    const out = new Int32Array(c.values.length);
    for (let i = 0; i < out.length; i++)
      out[i] = Number.isNaN(c.values[i]) ? MISSING_CODE : codeOf(String(c.values[i]));
    return out;
  });
}

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
