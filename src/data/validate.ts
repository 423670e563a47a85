import type { RowIssue } from "./csv.js";
import type { ColumnSpec, DataSchema } from "./schema.js";
import { type Column, MISSING_CODE, type Table } from "./table.js";

/** A row that failed validation, with every reason (a row can fail several checks). */
export interface InvalidRow {
  /** 0-based table row. */
  row: number;
  /** 1-based line in the source file, when known. */
  line?: number;
  reasons: string[];
}

/** Per-column data quality. */
export interface ColumnQuality {
  name: string;
  role: ColumnSpec["role"];
  type: Column["type"];
  missing: number;
  missingRate: number;
  maxMissingRate?: number;
  /** The missing rate is above maxMissingRate. */
  breached: boolean;
  /** Cells that could not be read as the column's type. */
  typeErrors: number;
  /** Cells with a value outside `allowed`. */
  disallowed: number;
  /** Cells below `min` or above `max`. */
  outOfRange: number;
  /** Missing cells in a column that is not nullable (or the target). */
  missingNotAllowed: number;
}

export interface ClassCount {
  label: string | number;
  count: number;
  fraction: number;
}

export interface ClassBalance {
  column: string;
  /** Most frequent first (ties: smaller label first). */
  classes: ClassCount[];
  /** Rows whose target is missing (not counted in `classes`). */
  missing: number;
  minorityClass: string | number | null;
  /** Share of the smallest class among rows with a target (0..1). */
  minorityShare: number;
  /** Largest class count / smallest class count. */
  imbalanceRatio: number;
}

export interface ValidationReport {
  nRows: number;
  nValid: number;
  nInvalid: number;
  invalidRows: InvalidRow[];
  columns: ColumnQuality[];
  missingRateBreaches: { column: string; missingRate: number; maxMissingRate: number }[];
  /** Null when the schema has no target column. */
  classBalance: ClassBalance | null;
  /** Rows that passed every check, ascending. */
  validRowIndices: Int32Array;
  /** Row-level problems found while reading (wrong field count), not tied to a column. */
  rowLevelIssues: number;
}

export interface ValidateOptions {
  /** File line of each row (from `readCsv`), used to point at invalid rows. */
  lineOf?: Int32Array;
}

const MAX_LISTED = 8;

/**
 * Checks every row against the schema: read errors, allowed values, ranges, missing values in
 * non-nullable columns and a missing target. Nothing is dropped silently: each failing row comes
 * back with its reasons, and only `validRowIndices` should go on to training.
 */
export function validateTable(
  table: Table,
  schema: DataSchema,
  rowIssues: readonly RowIssue[] = [],
  options: ValidateOptions = {},
): ValidationReport {
  const n = table.nRows;
  const reasons = new Map<number, string[]>();
  const add = (row: number, reason: string) => {
    const r = reasons.get(row);
    if (r) r.push(reason);
    else reasons.set(row, [reason]);
  };
  const lineOf = options.lineOf;
  const issueLine = new Map<number, number>();
  /** Cells already reported by the reader: "row\u0000column". */
  const badCells = new Set<string>();
  const typeErrors = new Map<string, number>();
  let rowLevelIssues = 0;
  for (const is of rowIssues) {
    issueLine.set(is.row, is.line);
    if (is.column === null) {
      rowLevelIssues++;
      add(is.row, is.reason);
    } else {
      badCells.add(`${is.row}\u0000${is.column}`);
      typeErrors.set(is.column, (typeErrors.get(is.column) ?? 0) + 1);
      add(is.row, `\`${is.column}\`: ${JSON.stringify(is.value)} is ${is.reason}`);
    }
  }

  const columns: ColumnQuality[] = [];
  let classBalance: ClassBalance | null = null;
  for (const spec of schema.columns) {
    if (spec.role === "ignore") continue;
    const col = table.column(spec.name);
    const q: ColumnQuality = {
      name: spec.name,
      role: spec.role,
      type: col.type,
      missing: 0,
      missingRate: 0,
      maxMissingRate: spec.maxMissingRate,
      breached: false,
      typeErrors: typeErrors.get(spec.name) ?? 0,
      disallowed: 0,
      outOfRange: 0,
      missingNotAllowed: 0,
    };
    const isTarget = spec.role === "target";
    const mustHave = isTarget || !spec.nullable;
    const onMissing = (i: number) => {
      q.missing++;
      if (!mustHave || badCells.has(`${i}\u0000${spec.name}`)) return;
      q.missingNotAllowed++;
      add(
        i,
        isTarget
          ? `target \`${spec.name}\` is missing`
          : `\`${spec.name}\`: missing, and the column is not nullable`,
      );
    };
    if (col.type === "numeric") checkNumeric(col.values, spec, q, onMissing, add);
    else checkCategorical(col.codes, col.categories, spec, q, onMissing, add);
    q.missingRate = n ? q.missing / n : 0;
    q.breached = spec.maxMissingRate !== undefined && q.missingRate > spec.maxMissingRate;
    columns.push(q);
    if (isTarget) classBalance = balanceOf(col);
  }

  const rows = [...reasons.keys()].sort((a, b) => a - b);
  const invalidRows: InvalidRow[] = rows.map((row) => {
    const line = issueLine.get(row) ?? lineOf?.[row];
    return line === undefined
      ? { row, reasons: reasons.get(row)! }
      : { row, line, reasons: reasons.get(row)! };
  });
  const validRowIndices = new Int32Array(n - rows.length);
  let k = 0;
  let next = 0;
  for (let i = 0; i < n; i++) {
    if (next < rows.length && rows[next] === i) {
      next++;
      continue;
    }
    validRowIndices[k++] = i;
  }
  return {
    nRows: n,
    nValid: validRowIndices.length,
    nInvalid: rows.length,
    invalidRows,
    columns,
    missingRateBreaches: columns
      .filter((c) => c.breached)
      .map((c) => ({ column: c.name, missingRate: c.missingRate, maxMissingRate: c.maxMissingRate! })),
    classBalance,
    validRowIndices,
    rowLevelIssues,
  };
}

function checkNumeric(
  v: Float64Array,
  spec: ColumnSpec,
  q: ColumnQuality,
  onMissing: (i: number) => void,
  add: (row: number, reason: string) => void,
): void {
  const allowed = spec.allowed ? new Set(spec.allowed.map(Number)) : null;
  const listed = spec.allowed ? listValues(spec.allowed) : "";
  const min = spec.min ?? Number.NEGATIVE_INFINITY;
  const max = spec.max ?? Number.POSITIVE_INFINITY;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (Number.isNaN(x)) {
      onMissing(i);
      continue;
    }
    if (allowed && !allowed.has(x)) {
      q.disallowed++;
      add(i, `\`${spec.name}\`: ${x} is not an allowed value (allowed: ${listed})`);
    }
    if (x < min) {
      q.outOfRange++;
      add(i, `\`${spec.name}\`: ${x} is below the minimum ${min}`);
    } else if (x > max) {
      q.outOfRange++;
      add(i, `\`${spec.name}\`: ${x} is above the maximum ${max}`);
    }
  }
}

function checkCategorical(
  codes: Int32Array,
  categories: readonly string[],
  spec: ColumnSpec,
  q: ColumnQuality,
  onMissing: (i: number) => void,
  add: (row: number, reason: string) => void,
): void {
  let ok: Uint8Array | null = null;
  let listed = "";
  if (spec.allowed) {
    const allowed = new Set(spec.allowed.map(String));
    ok = Uint8Array.from(categories, (c) => (allowed.has(c) ? 1 : 0));
    listed = listValues(spec.allowed);
  }
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === MISSING_CODE) {
      onMissing(i);
      continue;
    }
    if (ok && !ok[c]) {
      q.disallowed++;
      add(
        i,
        `\`${spec.name}\`: ${JSON.stringify(categories[c])} is not an allowed value (allowed: ${listed})`,
      );
    }
  }
}

function listValues(values: readonly (string | number)[]): string {
  const shown = values
    .slice(0, MAX_LISTED)
    .map((v) => (typeof v === "string" ? JSON.stringify(v) : String(v)));
  return values.length > MAX_LISTED ? `${shown.join(", ")}, … ${values.length} values` : shown.join(", ");
}

/** Class counts of a target column. */
export function balanceOf(col: Column): ClassBalance {
  const counts = new Map<string | number, number>();
  let missing = 0;
  if (col.type === "numeric") {
    for (const x of col.values) {
      if (Number.isNaN(x)) missing++;
      else counts.set(x, (counts.get(x) ?? 0) + 1);
    }
  } else {
    const byCode = new Float64Array(col.categories.length);
    for (const c of col.codes) {
      if (c === MISSING_CODE) missing++;
      else byCode[c]++;
    }
    col.categories.forEach((label, c) => {
      if (byCode[c] > 0) counts.set(label, byCode[c]);
    });
  }
  const total = col.type === "numeric" ? col.values.length - missing : col.codes.length - missing;
  const classes = [...counts]
    .map(([label, count]) => ({ label, count, fraction: total ? count / total : 0 }))
    .sort((a, b) => b.count - a.count || compareLabels(a.label, b.label));
  const minority = classes.length ? classes[classes.length - 1] : null;
  return {
    column: col.name,
    classes,
    missing,
    minorityClass: minority ? minority.label : null,
    minorityShare: minority ? minority.fraction : 0,
    imbalanceRatio: minority ? classes[0].count / minority.count : 0,
  };
}

function compareLabels(a: string | number, b: string | number): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The quarantine file: one JSON object per invalid row with its row number, file line, reasons
 * and values as read (cells that could not be read are null; their text is in the reasons).
 */
export function quarantineLines(table: Table, invalidRows: readonly InvalidRow[]): string {
  let out = "";
  for (const r of invalidRows) {
    const rec: Record<string, unknown> = { row: r.row };
    if (r.line !== undefined) rec.line = r.line;
    rec.reasons = r.reasons;
    rec.values = table.row(r.row);
    out += `${JSON.stringify(rec)}\n`;
  }
  return out;
}
