/**
 * Builds a Table from records that arrive as values rather than text: database rows, MongoDB
 * documents, Parquet columns. It applies the schema exactly as the CSV reader does (same column
 * order, same missing tokens, same number parsing, same dictionary order, same row issues), so a
 * dataset read from a database gives the same Table, the same fingerprint and the same model as
 * the same dataset read from its CSV file.
 */
import { NetwardenError, type Progress } from "../../core/index.js";
import { closestName, parseNumber, type RowIssue } from "../csv.js";
import { type DataSchema, DEFAULT_MISSING_TOKENS } from "../schema.js";
import { type Column, MISSING_CODE, Table } from "../table.js";

/** What every source reader returns; the same shape as the parts of a CSV read the pipeline uses. */
export interface SourceReadResult {
  table: Table;
  rowIssues: RowIssue[];
  /** 1-based record number of each table row (a source's "line"). */
  lineOf: Int32Array;
  /** Column names as the source has them, in source order. */
  header: string[];
  /** Source columns the schema does not list (not loaded). */
  unexpectedColumns: string[];
  /** How the source is named in messages and reports: "postgres table `phishing`". */
  label: string;
}

const BLOCK = 1 << 16;
const MAX_ISSUE_TEXT = 200;

/** A column being filled, one value at a time. */
abstract class Sink {
  constructor(readonly name: string) {}
  abstract push(value: unknown, row: number, line: number): void;
  abstract finish(n: number): Column;
}

class Blocks<T extends Float64Array | Int32Array> {
  private readonly full: T[] = [];
  cur: T;
  at = 0;
  constructor(private readonly make: (n: number) => T) {
    this.cur = make(BLOCK);
  }
  push(v: number): void {
    if (this.at === BLOCK) {
      this.full.push(this.cur);
      this.cur = this.make(BLOCK);
      this.at = 0;
    }
    this.cur[this.at++] = v;
  }
  finish(n: number): T {
    const out = this.make(n);
    let off = 0;
    for (const b of this.full) {
      out.set(b, off);
      off += b.length;
    }
    out.set(this.cur.subarray(0, n - off), off);
    return out;
  }
}

/** The text a non-text value stands for, as it would appear in a CSV export. */
function textOf(v: unknown): string | undefined {
  switch (typeof v) {
    case "string":
      return v;
    case "number":
    case "bigint":
      return String(v);
    case "boolean":
      return v ? "true" : "false";
    case "object": {
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.toISOString();
      // BSON scalars (ObjectId, Decimal128, Long, Int32, Double), pg's numeric-as-text wrappers...
      const s = (v as { toString?: () => string }).toString;
      if (typeof s === "function" && s !== Object.prototype.toString && !Array.isArray(v)) {
        const t = (v as { toString(): string }).toString();
        if (t !== "[object Object]") return t;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

class NumericSink extends Sink {
  private readonly values = new Blocks((n) => new Float64Array(n));
  constructor(
    name: string,
    private readonly missing: ReadonlySet<string>,
    private readonly issue: (
      row: number,
      line: number,
      column: string,
      value: string,
      reason: string,
    ) => void,
  ) {
    super(name);
  }
  push(v: unknown, row: number, line: number): void {
    if (v === null || v === undefined) {
      this.values.push(Number.NaN);
      return;
    }
    if (typeof v === "number") {
      this.values.push(v);
      return;
    }
    if (typeof v === "boolean") {
      this.values.push(v ? 1 : 0);
      return;
    }
    if (typeof v === "bigint") {
      this.values.push(Number(v));
      return;
    }
    const text = v instanceof Date ? undefined : textOf(v);
    if (text === undefined) {
      this.values.push(Number.NaN);
      this.issue(row, line, this.name, describe(v), "not a number");
      return;
    }
    const n = parseNumber(text);
    this.values.push(n);
    if (Number.isNaN(n) && !this.missing.has(text) && !this.missing.has(text.trim())) {
      this.issue(row, line, this.name, text, "not a number");
    }
  }
  finish(n: number): Column {
    return { type: "numeric", name: this.name, values: this.values.finish(n) };
  }
}

class CategoricalSink extends Sink {
  private readonly codes = new Blocks((n) => new Int32Array(n));
  private readonly categories: string[] = [];
  private readonly index = new Map<string, number>();
  constructor(
    name: string,
    private readonly missing: ReadonlySet<string>,
    private readonly issue: (
      row: number,
      line: number,
      column: string,
      value: string,
      reason: string,
    ) => void,
  ) {
    super(name);
  }
  push(v: unknown, row: number, line: number): void {
    if (v === null || v === undefined) {
      this.codes.push(MISSING_CODE);
      return;
    }
    const text = textOf(v);
    if (text === undefined) {
      this.codes.push(MISSING_CODE);
      this.issue(row, line, this.name, describe(v), "not a single value (a nested object or list)");
      return;
    }
    let code = this.index.get(text);
    if (code === undefined) {
      code = this.missing.has(text.trim()) ? MISSING_CODE : this.categories.push(text) - 1;
      this.index.set(text, code);
    }
    this.codes.push(code);
  }
  finish(n: number): Column {
    return { type: "categorical", name: this.name, codes: this.codes.finish(n), categories: this.categories };
  }
}

function describe(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > MAX_ISSUE_TEXT ? `${s.slice(0, MAX_ISSUE_TEXT)}…` : s;
}

export interface BuilderOptions {
  schema: DataSchema;
  /** How the source is named in messages: "postgres table `phishing`". */
  label: string;
  progress?: Progress;
  /** Source column dropped unless the schema declares it (MongoDB's and `datasets load`'s `_id`). */
  implicitId?: string;
}

/**
 * Collects records into typed columns. Tabular sources call `columns(names)` once, then
 * `row(values)`; document sources call `document(doc)` and the columns are the schema's.
 */
export class RecordTableBuilder {
  private readonly schema: DataSchema;
  private readonly label: string;
  private readonly missing: Set<string>;
  private readonly sinks = new Map<string, Sink>();
  private readonly outOrder: string[];
  private readonly issues: RowIssue[] = [];
  private readonly lines = new Blocks((n) => new Int32Array(n));
  private header: string[] = [];
  private positions: { at: number; sink: Sink }[] = [];
  private unexpected: string[] = [];
  private readonly seen = new Set<string>();
  private readonly extra = new Set<string>();
  private mode: "none" | "rows" | "documents" = "none";
  nRows = 0;

  constructor(private readonly options: BuilderOptions) {
    this.schema = options.schema;
    this.label = options.label;
    this.missing = new Set(this.schema.missingTokens ?? DEFAULT_MISSING_TOKENS);
    const names = new Set<string>();
    for (const c of this.schema.columns) {
      if (names.has(c.name)) {
        throw new NetwardenError("NW_SCHEMA_INVALID", "the schema lists a column more than once", {
          hint: "Give every schema column a distinct name",
        });
      }
      names.add(c.name);
      if (c.role === "ignore") continue;
      const issue = this.issue;
      this.sinks.set(
        c.name,
        c.type === "categorical"
          ? new CategoricalSink(c.name, this.missing, issue)
          : new NumericSink(c.name, this.missing, issue),
      );
    }
    this.outOrder = this.schema.columns.filter((c) => c.role !== "ignore").map((c) => c.name);
  }

  private readonly issue = (
    row: number,
    line: number,
    column: string,
    value: string,
    reason: string,
  ): void => {
    this.issues.push({
      row,
      line,
      column,
      value: value.length > MAX_ISSUE_TEXT ? `${value.slice(0, MAX_ISSUE_TEXT)}…` : value,
      reason,
    });
  };

  private declared(name: string): boolean {
    return this.schema.columns.some((c) => c.name === name);
  }

  /** The source's columns, in its order (tabular sources). */
  columns(names: readonly string[]): void {
    this.mode = "rows";
    const kept = names.filter((n) => n !== this.options.implicitId || this.declared(n));
    const dupes = kept.filter((n, i) => kept.indexOf(n) !== i);
    if (dupes.length) {
      throw new NetwardenError(
        "NW_DATA_MALFORMED",
        `${this.label} has the column name \`${dupes[0]}\` more than once`,
        {
          where: this.label,
          hint: "Give every column a distinct name (in SQL: alias it with AS)",
        },
      );
    }
    this.header = kept;
    const present = new Set(kept);
    const absent = this.outOrder.filter((n) => !present.has(n));
    if (absent.length) throw this.missingColumns(absent, kept);
    this.noteUnexpected(kept.filter((n) => !this.declared(n)));
    this.positions = [];
    names.forEach((n, at) => {
      const sink = this.sinks.get(n);
      if (sink) this.positions.push({ at, sink });
    });
  }

  /** One record of a tabular source, aligned with `columns`. */
  row(values: ArrayLike<unknown>): void {
    const r = this.nRows++;
    const line = r + 1;
    this.lines.push(line);
    for (const { at, sink } of this.positions) sink.push(values[at], r, line);
  }

  /** One document: schema columns are looked up by name, absent fields are missing. */
  document(doc: Record<string, unknown>): void {
    this.mode = "documents";
    const r = this.nRows++;
    const line = r + 1;
    this.lines.push(line);
    for (const key of Object.keys(doc)) {
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      if (!this.declared(key) && key !== this.options.implicitId) this.extra.add(key);
    }
    for (const [name, sink] of this.sinks) sink.push(doc[name], r, line);
  }

  /** The Table; NW_DATA_EMPTY when no record came, schema errors for documents' columns. */
  finish(): SourceReadResult {
    if (this.nRows === 0) {
      throw new NetwardenError("NW_DATA_EMPTY", `${this.label} returned no rows`, {
        where: this.label,
        hint: "Check the table, query, filter or object: it must hold at least one labelled record",
      });
    }
    if (this.mode === "documents") {
      // Documents: the columns are the fields seen in any document.
      const header = [...this.seen].filter((k) => k !== this.options.implicitId || this.declared(k));
      const absent = this.outOrder.filter((n) => !this.seen.has(n));
      if (absent.length) throw this.missingColumns(absent, header);
      this.header = header;
      this.noteUnexpected([...this.extra]);
    }
    const n = this.nRows;
    const byName = new Map<string, Column>();
    for (const [name, sink] of this.sinks) byName.set(name, sink.finish(n));
    return {
      table: new Table(
        this.outOrder.map((name) => byName.get(name) as Column),
        n,
      ),
      rowIssues: this.issues,
      lineOf: this.lines.finish(n),
      header: this.header,
      unexpectedColumns: this.unexpected,
      label: this.label,
    };
  }

  private noteUnexpected(names: string[]): void {
    this.unexpected = names;
    if (!names.length) return;
    const list = names.map((n) => `\`${n}\``).join(", ");
    if (this.schema.unexpectedColumns === "error") {
      throw new NetwardenError(
        "NW_SCHEMA_UNEXPECTED_COLUMN",
        `${this.label} has column${names.length > 1 ? "s" : ""} ${list} that the schema does not declare`,
        {
          where: this.label,
          hint: "Add them to the schema (role: ignore drops them), leave them out of the query or projection, or set unexpected_columns: warn",
          details: { unexpected: names },
        },
      );
    }
    if (this.schema.unexpectedColumns === "warn") {
      this.options.progress?.log(`${this.label}: columns not in the schema, not loaded: ${list}`, "warn");
    }
  }

  private missingColumns(absent: string[], present: string[]): NetwardenError {
    const suggestions: Record<string, string> = {};
    for (const a of absent) {
      const s = closestName(a, present);
      if (s) suggestions[a] = s;
    }
    const first = absent[0];
    const more =
      absent.length > 1
        ? ` (also missing: ${absent
            .slice(1)
            .map((a) => `\`${a}\``)
            .join(", ")})`
        : "";
    const guess = suggestions[first] ? `Did you mean \`${suggestions[first]}\`? ` : "";
    return new NetwardenError(
      "NW_SCHEMA_MISSING_COLUMN",
      `column \`${first}\` is in the schema but not in ${this.label}${more}; it has: ${present.join(", ") || "no columns"}`,
      {
        where: this.label,
        hint: `${guess}Fix the name in the schema or in the source, or give the column role: ignore`,
        details: { missing: absent, available: present, suggestions },
      },
    );
  }
}
