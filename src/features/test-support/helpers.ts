import { isNetwardenError, type NetwardenError } from "../../core/index.js";
import { type Column, Table } from "../../data/index.js";

/** The NetwardenError `f` throws (fails the test when it throws nothing or something else). */
export function thrown(f: () => unknown): NetwardenError {
  try {
    f();
  } catch (e) {
    if (isNetwardenError(e)) return e;
    throw e;
  }
  throw new Error("expected a NetwardenError, nothing was thrown");
}

/** Through JSON text and back, as a bundle file would carry it. */
export function viaJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

/** Column values as plain arrays (NaN kept), for toEqual. */
export function columnsOf(t: Table): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const c of t.columns) {
    if (c.type !== "numeric") throw new Error(`column ${c.name} is not numeric`);
    out[c.name] = Array.from(c.values);
  }
  return out;
}

/**
 * Row `i` as its own one-row table, as a server would build it from a request: each categorical
 * dictionary holds only the value sent, after `decoys` values listed first, so codes differ from
 * the training table's.
 */
export function oneRowTable(t: Table, i: number, decoys: readonly string[] = ["zz-decoy"]): Table {
  const cols = t.columns.map((c): Column => {
    if (c.type === "numeric") return { type: "numeric", name: c.name, values: Float64Array.of(c.values[i]) };
    const code = c.codes[i];
    if (code === -1)
      return { type: "categorical", name: c.name, codes: Int32Array.of(-1), categories: [...decoys] };
    return {
      type: "categorical",
      name: c.name,
      codes: Int32Array.of(decoys.length),
      categories: [...decoys, c.categories[code]],
    };
  });
  return new Table(cols, 1);
}

/** The same rows with every categorical dictionary reversed (codes remapped to match). */
export function reversedDictionaries(t: Table): Table {
  return new Table(
    t.columns.map((c): Column => {
      if (c.type === "numeric") return c;
      const n = c.categories.length;
      return {
        type: "categorical",
        name: c.name,
        codes: c.codes.map((code) => (code === -1 ? -1 : n - 1 - code)),
        categories: [...c.categories].reverse(),
      };
    }),
    t.nRows,
  );
}
