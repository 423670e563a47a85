import { NetwardenError } from "../core/index.js";

/** Numeric column: one float per row, NaN marks a missing value. */
export interface NumericColumn {
  readonly type: "numeric";
  readonly name: string;
  readonly values: Float64Array;
}

/** Categorical column, dictionary-encoded: `codes[i]` indexes `categories`; -1 marks a missing value. */
export interface CategoricalColumn {
  readonly type: "categorical";
  readonly name: string;
  readonly codes: Int32Array;
  readonly categories: readonly string[];
}

export type Column = NumericColumn | CategoricalColumn;

export const MISSING_CODE = -1;

export function numericColumn(name: string, values: Float64Array | ArrayLike<number>): NumericColumn {
  return {
    type: "numeric",
    name,
    values: values instanceof Float64Array ? values : Float64Array.from(values),
  };
}

/** Builds a dictionary-encoded column; categories are in order of first appearance. null = missing. */
export function categoricalColumn(name: string, values: ArrayLike<string | null>): CategoricalColumn {
  const index = new Map<string, number>();
  const categories: string[] = [];
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) {
      codes[i] = MISSING_CODE;
      continue;
    }
    let c = index.get(v);
    if (c === undefined) {
      c = categories.length;
      categories.push(v);
      index.set(v, c);
    }
    codes[i] = c;
  }
  return { type: "categorical", name, codes, categories };
}

/** Columnar table. Immutable by convention: operations return new tables sharing what they can. */
export class Table {
  readonly columns: readonly Column[];
  readonly nRows: number;
  private readonly byName: Map<string, Column>;

  constructor(columns: readonly Column[], nRows?: number) {
    this.columns = columns;
    this.nRows = nRows ?? (columns.length ? columnLength(columns[0]) : 0);
    this.byName = new Map();
    for (const c of columns) {
      if (this.byName.has(c.name)) {
        throw new NetwardenError("NW_SCHEMA_INVALID", `column \`${c.name}\` appears twice`, {
          hint: "Give every column a distinct name",
        });
      }
      if (columnLength(c) !== this.nRows) {
        throw new NetwardenError(
          "NW_INTERNAL",
          `column \`${c.name}\` has ${columnLength(c)} rows, expected ${this.nRows}`,
        );
      }
      this.byName.set(c.name, c);
    }
  }

  get names(): string[] {
    return this.columns.map((c) => c.name);
  }

  get nCols(): number {
    return this.columns.length;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  column(name: string): Column {
    const c = this.byName.get(name);
    if (!c) {
      throw new NetwardenError("NW_SCHEMA_MISSING_COLUMN", `column \`${name}\` is not in the table`, {
        hint: `Available columns: ${this.names.join(", ")}`,
      });
    }
    return c;
  }

  numeric(name: string): NumericColumn {
    const c = this.column(name);
    if (c.type !== "numeric") throw new NetwardenError("NW_INTERNAL", `column \`${name}\` is not numeric`);
    return c;
  }

  categorical(name: string): CategoricalColumn {
    const c = this.column(name);
    if (c.type !== "categorical") {
      throw new NetwardenError("NW_INTERNAL", `column \`${name}\` is not categorical`);
    }
    return c;
  }

  select(names: readonly string[]): Table {
    return new Table(
      names.map((n) => this.column(n)),
      this.nRows,
    );
  }

  drop(names: readonly string[]): Table {
    const gone = new Set(names);
    return new Table(
      this.columns.filter((c) => !gone.has(c.name)),
      this.nRows,
    );
  }

  withColumn(column: Column): Table {
    const rest = this.columns.filter((c) => c.name !== column.name);
    return new Table([...rest, column], this.nRows);
  }

  /** Rows at `indices`, in that order. Categorical columns keep their dictionary. */
  take(indices: ArrayLike<number>): Table {
    const n = indices.length;
    const cols = this.columns.map((c): Column => {
      if (c.type === "numeric") {
        const v = new Float64Array(n);
        for (let i = 0; i < n; i++) v[i] = c.values[indices[i]];
        return { type: "numeric", name: c.name, values: v };
      }
      const codes = new Int32Array(n);
      for (let i = 0; i < n; i++) codes[i] = c.codes[indices[i]];
      return { type: "categorical", name: c.name, codes, categories: c.categories };
    });
    return new Table(cols, n);
  }

  /** The value at row `i` as the user wrote it: number, string, or null when missing. */
  value(name: string, i: number): number | string | null {
    return cellValue(this.column(name), i);
  }

  /** Row `i` as a plain object (for messages, quarantine files and tests; not for hot paths). */
  row(i: number): Record<string, number | string | null> {
    const out: Record<string, number | string | null> = {};
    for (const c of this.columns) out[c.name] = cellValue(c, i);
    return out;
  }
}

export function columnLength(c: Column): number {
  return c.type === "numeric" ? c.values.length : c.codes.length;
}

export function cellValue(c: Column, i: number): number | string | null {
  if (c.type === "numeric") {
    const v = c.values[i];
    return Number.isNaN(v) ? null : v;
  }
  const code = c.codes[i];
  return code === MISSING_CODE ? null : c.categories[code];
}

/**
 * The rows of `tables` one after another, for the columns of the first (every table must have them
 * with the same type). Categorical dictionaries are merged by label.
 */
export function concatTables(tables: readonly Table[]): Table {
  if (tables.length === 1) return tables[0];
  const n = tables.reduce((s, t) => s + t.nRows, 0);
  const cols = tables[0].columns.map((first): Column => {
    if (first.type === "numeric") {
      const v = new Float64Array(n);
      let at = 0;
      for (const t of tables) {
        v.set(t.numeric(first.name).values, at);
        at += t.nRows;
      }
      return { type: "numeric", name: first.name, values: v };
    }
    const index = new Map<string, number>();
    const categories: string[] = [];
    const codes = new Int32Array(n);
    let at = 0;
    for (const t of tables) {
      const c = t.categorical(first.name);
      const map = c.categories.map((label) => {
        let k = index.get(label);
        if (k === undefined) {
          k = categories.length;
          categories.push(label);
          index.set(label, k);
        }
        return k;
      });
      for (let i = 0; i < c.codes.length; i++)
        codes[at + i] = c.codes[i] < 0 ? MISSING_CODE : map[c.codes[i]];
      at += t.nRows;
    }
    return { type: "categorical", name: first.name, codes, categories };
  });
  return new Table(cols, n);
}
