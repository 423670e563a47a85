import { NetwardenError } from "../core/index.js";
import {
  type CategoricalColumn,
  type Column,
  MISSING_CODE,
  type NumericColumn,
  Table,
} from "../data/index.js";

/** The two shapes a transformer input can take; binary columns are numeric. */
export type InputType = "numeric" | "categorical";

/** Category that `constant` imputation of a categorical column fills in. */
export const MISSING_CATEGORY = "__missing__";
/** Level that infrequent categories are pooled into by the encoders. */
export const OTHER_CATEGORY = "__other__";

const NUMBER_TEXT = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

export function inputColumn(table: Table, name: string): Column {
  if (!table.has(name)) {
    throw new NetwardenError("NW_TRANSFORM_INVALID", `input column \`${name}\` is missing`, {
      where: `column \`${name}\``,
      hint: `Send every feature the model was trained on; the data has: ${table.names.join(", ") || "no columns"}`,
      details: { column: name },
    });
  }
  return table.column(name);
}

/**
 * A column as numbers. A categorical column is accepted when its texts are numbers, because
 * clients (JSON, CSV uploads) often send "1.5" for 1.5; anything else is an error naming the row.
 */
export function asNumeric(column: Column): NumericColumn {
  if (column.type === "numeric") return column;
  const { categories, codes, name } = column;
  const parsed = new Float64Array(categories.length);
  for (let c = 0; c < categories.length; c++) {
    parsed[c] = NUMBER_TEXT.test(categories[c]) ? Number(categories[c]) : Number.NaN;
  }
  const values = new Float64Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i];
    if (code === MISSING_CODE) {
      values[i] = Number.NaN;
      continue;
    }
    const v = parsed[code];
    if (Number.isNaN(v)) {
      throw new NetwardenError(
        "NW_TRANSFORM_INVALID",
        `column \`${name}\` must hold numbers, but has the value ${JSON.stringify(categories[code])}`,
        {
          where: `column \`${name}\`, row ${i + 1}`,
          hint: "Send a number for this column, or null when the value is missing",
          details: { column: name, row: i, value: categories[code] },
        },
      );
    }
    values[i] = v;
  }
  return { type: "numeric", name, values };
}

/** A column as category strings; numbers become their shortest text ("1", "1.5"). */
export function asCategorical(column: Column): CategoricalColumn {
  if (column.type === "categorical") return column;
  const index = new Map<number, number>();
  const categories: string[] = [];
  const codes = new Int32Array(column.values.length);
  for (let i = 0; i < codes.length; i++) {
    const v = column.values[i];
    if (Number.isNaN(v)) {
      codes[i] = MISSING_CODE;
      continue;
    }
    // -0 and 0 must be one category, as their text is the same
    const key = v === 0 ? 0 : v;
    let c = index.get(key);
    if (c === undefined) {
      c = categories.length;
      categories.push(String(key));
      index.set(key, c);
    }
    codes[i] = c;
  }
  return { type: "categorical", name: column.name, codes, categories };
}

export function coerce(column: Column, type: InputType): Column {
  return type === "numeric" ? asNumeric(column) : asCategorical(column);
}

/** Values of a numeric input (shared with the table, never mutate). */
export function numericValues(table: Table, name: string): Float64Array {
  return asNumeric(inputColumn(table, name)).values;
}

export function categoricalInput(table: Table, name: string): CategoricalColumn {
  return asCategorical(inputColumn(table, name));
}

/** The listed columns, or else every column of the table that `accept` takes. */
export function resolveColumns(
  table: Table,
  columns: readonly string[] | undefined,
  accept: (c: Column) => boolean,
): string[] {
  if (columns === undefined) return table.columns.filter(accept).map((c) => c.name);
  const seen = new Set<string>();
  for (const name of columns) {
    if (seen.has(name)) {
      throw new NetwardenError("NW_TRANSFORM_INVALID", `column \`${name}\` is listed twice`, {
        where: `column \`${name}\``,
        hint: "List each column once",
      });
    }
    seen.add(name);
    inputColumn(table, name);
  }
  return [...columns];
}

/**
 * Replaces columns in place (one input may become several outputs) and keeps the others. An
 * output named like a column that stays would make the table ambiguous, so it is refused.
 */
export function replaceColumns(table: Table, replacements: ReadonlyMap<string, readonly Column[]>): Table {
  const out: Column[] = [];
  const kept = new Set(table.names.filter((n) => !replacements.has(n)));
  const made = new Set<string>();
  for (const c of table.columns) {
    const r = replacements.get(c.name);
    if (!r) {
      out.push(c);
      continue;
    }
    for (const col of r) {
      if (kept.has(col.name) || made.has(col.name)) {
        throw new NetwardenError(
          "NW_TRANSFORM_INVALID",
          `output column \`${col.name}\` made from \`${c.name}\` has the name of another column`,
          { where: `column \`${c.name}\``, hint: "Rename one of the two columns (or the value) in the data" },
        );
      }
      made.add(col.name);
      out.push(col);
    }
  }
  return new Table(out, table.nRows);
}

export interface LevelCount {
  value: string;
  count: number;
}

/**
 * Non-missing category counts, by string value (a dictionary may list a string twice or list
 * unused strings), ordered by descending count, ties by value. This order fixes output columns
 * and ordinal codes, so it must not depend on the dictionary order.
 */
export function levelCounts(column: CategoricalColumn): LevelCount[] {
  const perCode = new Float64Array(column.categories.length);
  const codes = column.codes;
  for (let i = 0; i < codes.length; i++) if (codes[i] !== MISSING_CODE) perCode[codes[i]]++;
  const byValue = new Map<string, number>();
  for (let c = 0; c < perCode.length; c++) {
    if (perCode[c] > 0) {
      const v = column.categories[c];
      byValue.set(v, (byValue.get(v) ?? 0) + perCode[c]);
    }
  }
  return [...byValue]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

/** Maps each code of `column`'s dictionary to `lookup(category)`; the dictionary is read once. */
export function mapCodes(
  column: CategoricalColumn,
  lookup: ReadonlyMap<string, number>,
  absent: number,
): Int32Array {
  const map = new Int32Array(column.categories.length);
  for (let c = 0; c < map.length; c++) map[c] = lookup.get(column.categories[c]) ?? absent;
  return map;
}
