import { Document, type YAMLMap, type YAMLSeq } from "yaml";
import { NetwardenError } from "../core/index.js";
import { closestName, readCsv } from "./csv.js";
import { type ColumnSpec, type DataSchema, DEFAULT_MISSING_TOKENS } from "./schema.js";
import { type Column, MISSING_CODE, type Table } from "./table.js";

export interface InferOptions {
  /** The target column; default: the first column named label, target, class or Result. */
  target?: string;
  /** Rows to look at (default 100,000). */
  sampleRows?: number;
  /** Put the observed min/max of continuous numeric columns into the draft (default false). */
  ranges?: boolean;
  delimiter?: string;
  header?: boolean | "auto";
}

/** What was seen in one column of the sample. */
export interface ColumnFacts {
  name: string;
  /** numeric: every non-missing value is a number; text: anything else. */
  kind: "numeric" | "text";
  rows: number;
  missing: number;
  distinct: number;
  /** Every non-missing value is a whole number (numeric columns). */
  integer: boolean;
  min: number | null;
  max: number | null;
  /** The most frequent values, most frequent first (ties: smaller value first), at most 5. */
  sampleValues: { value: number | string; count: number }[];
  /** The values are exactly 1..n (or 0..n-1) in row order. */
  rowCounter: boolean;
}

export interface InferredSchema {
  schema: DataSchema;
  facts: ColumnFacts[];
  /** Name of the target column, null when none was given or recognised. */
  target: string | null;
  rowsRead: number;
  source: string;
  /** Things the user should look at before using the draft. */
  notes: string[];
}

const TARGET_NAMES = ["label", "target", "class", "result"];
/** Integer columns with at most this many values get an `allowed` list. */
const MAX_ALLOWED_INTEGERS = 10;
/** Text columns with at most this many values get an `allowed` list. */
const MAX_ALLOWED_CATEGORIES = 50;
const DEFAULT_SAMPLE_ROWS = 100_000;
/** The target-tie check needs each value of a column seen this many times on average. */
const MIN_ROWS_PER_VALUE = 10;

/** Reads (the first `sampleRows` rows of) a CSV file and drafts a schema from what is there. */
export async function inferSchema(path: string, options: InferOptions = {}): Promise<InferredSchema> {
  const { table } = await readCsv(path, {
    limit: options.sampleRows ?? DEFAULT_SAMPLE_ROWS,
    delimiter: options.delimiter,
    header: options.header,
  });
  return inferSchemaFromTable(table, options, path);
}

/** Drafts a schema from a table read without one (any source). */
export function inferSchemaFromTable(
  table: Table,
  options: InferOptions = {},
  source = "table",
): InferredSchema {
  const full = table.columns.map(columnFacts);
  const facts = full.map(({ allValues: _, ...f }): ColumnFacts => f);
  const notes: string[] = [];
  let target: string | null = null;
  if (options.target !== undefined) {
    if (!table.has(options.target)) {
      const guess = closestName(options.target, table.names);
      throw new NetwardenError(
        "NW_SCHEMA_MISSING_COLUMN",
        `target column \`${options.target}\` is not in ${source}; it has: ${table.names.join(", ")}`,
        { where: "target", hint: guess ? `Did you mean \`${guess}\`?` : "Name one of the columns above" },
      );
    }
    target = options.target;
  } else {
    for (const want of TARGET_NAMES) {
      const hit = table.names.find((n) => n.toLowerCase() === want);
      if (hit) {
        target = hit;
        break;
      }
    }
    if (target === null) notes.push("no target column recognised: set role: target on the label column");
  }
  const columns = full.map((f) => specFor(f, f.name === target, options.ranges ?? false));
  if (target) {
    const t = table.column(target);
    columns.forEach((spec, j) => {
      const f = full[j];
      // Only for few values seen many times each: with mostly unique values the test proves nothing.
      const seenRows = f.rows - f.missing;
      if (spec.role !== "feature" || f.distinct < 2 || f.distinct > MAX_ALLOWED_CATEGORIES) return;
      if (f.distinct * MIN_ROWS_PER_VALUE > seenRows) return;
      const c = table.columns[j];
      if (!determines(c, t) && !determines(t, c)) return;
      // A feature tied to the target this tightly is almost always a second label (UNSW-NB15's
      // attack_cat next to label); training on it would give a perfect and useless model.
      spec.role = "ignore";
      notes.push(
        `\`${spec.name}\` is tied to the target \`${target}\` (one determines the other): set to role: ignore ` +
          "as a likely second label; make it a feature only if it is known at prediction time",
      );
    });
  }
  for (const f of facts) {
    if (f.missing === f.rows) notes.push(`\`${f.name}\` is empty in every row read`);
    else if (f.distinct === 1) notes.push(`\`${f.name}\` has a single value; it cannot help a model`);
  }
  if (target) {
    const t = facts.find((f) => f.name === target)!;
    if (t.distinct < 2)
      notes.push(`target \`${target}\` has ${t.distinct} class(es); a classifier needs two or more`);
    if (t.missing > 0) notes.push(`target \`${target}\` is missing in ${t.missing} row(s)`);
  }
  return {
    schema: { columns, unexpectedColumns: "error", missingTokens: [...DEFAULT_MISSING_TOKENS] },
    facts,
    target,
    rowsRead: table.nRows,
    source,
    notes,
  };
}

function specFor(f: FactsWithValues, isTarget: boolean, ranges: boolean): ColumnSpec {
  const role = isTarget ? "target" : /^id$/i.test(f.name) || f.rowCounter ? "id" : "feature";
  const base = { name: f.name, role, nullable: role === "feature" } as const;
  if (f.kind === "text") {
    const spec: ColumnSpec = { ...base, type: "categorical" };
    if (role !== "id" && f.distinct <= MAX_ALLOWED_CATEGORIES) spec.allowed = f.allValues as string[];
    return spec;
  }
  if (role === "id") return { ...base, type: "numeric" };
  if (f.distinct > 0 && f.distinct <= 2) return { ...base, type: "binary", allowed: f.allValues as number[] };
  if (f.integer && f.distinct > 0 && f.distinct <= MAX_ALLOWED_INTEGERS) {
    return { ...base, type: "numeric", allowed: f.allValues as number[] };
  }
  const spec: ColumnSpec = { ...base, type: "numeric" };
  if (ranges && f.min !== null && f.max !== null) {
    spec.min = f.min;
    spec.max = f.max;
  }
  return spec;
}

/** Every value of `c` (ignoring missing) occurs with a single value of `t`: t is a function of c. */
function determines(c: Column, t: Column): boolean {
  const seen = new Map<number, number>();
  const n = t.type === "numeric" ? t.values.length : t.codes.length;
  for (let i = 0; i < n; i++) {
    const x = c.type === "numeric" ? c.values[i] : c.codes[i] === MISSING_CODE ? Number.NaN : c.codes[i];
    const y = t.type === "numeric" ? t.values[i] : t.codes[i];
    if (Number.isNaN(x)) continue;
    const prev = seen.get(x);
    if (prev === undefined) seen.set(x, y);
    else if (prev !== y && !(Number.isNaN(prev) && Number.isNaN(y))) return false;
  }
  return true;
}

/** Facts plus, for low-cardinality columns, every value (sorted); kept off the public type. */
type FactsWithValues = ColumnFacts & { allValues: (number | string)[] };

function columnFacts(c: Column): FactsWithValues {
  return c.type === "numeric" ? numericFacts(c.name, c.values) : textFacts(c.name, c.codes, c.categories);
}

function numericFacts(name: string, v: Float64Array): FactsWithValues {
  const n = v.length;
  let missing = 0;
  let integer = true;
  let counter1 = true;
  let counter0 = true;
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (Number.isNaN(x)) {
      missing++;
      counter0 = counter1 = false;
      continue;
    }
    if (integer && !Number.isInteger(x)) integer = false;
    if (x !== i + 1) counter1 = false;
    if (x !== i) counter0 = false;
  }
  const sorted = new Float64Array(n - missing);
  let k = 0;
  for (let i = 0; i < n; i++) if (!Number.isNaN(v[i])) sorted[k++] = v[i];
  sorted.sort();
  const runs: { value: number; count: number }[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && sorted[j] === sorted[i]) j++;
    runs.push({ value: sorted[i], count: j - i });
    i = j;
  }
  return {
    name,
    kind: "numeric",
    rows: n,
    missing,
    distinct: runs.length,
    integer: integer && runs.length > 0,
    min: sorted.length ? sorted[0] : null,
    max: sorted.length ? sorted[sorted.length - 1] : null,
    sampleValues: topValues(runs),
    rowCounter: n >= 2 && (counter1 || counter0),
    allValues: runs.length <= MAX_ALLOWED_CATEGORIES ? runs.map((r) => r.value) : [],
  };
}

function textFacts(name: string, codes: Int32Array, categories: readonly string[]): FactsWithValues {
  const counts = new Float64Array(categories.length);
  let missing = 0;
  for (let i = 0; i < codes.length; i++) {
    if (codes[i] === MISSING_CODE) missing++;
    else counts[codes[i]]++;
  }
  const runs = categories
    .map((value, c) => ({ value, count: counts[c] }))
    .filter((r) => r.count > 0)
    .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  return {
    name,
    kind: "text",
    rows: codes.length,
    missing,
    distinct: runs.length,
    integer: false,
    min: null,
    max: null,
    sampleValues: topValues(runs),
    rowCounter: false,
    allValues: runs.length <= MAX_ALLOWED_CATEGORIES ? runs.map((r) => r.value) : [],
  };
}

/** `runs` sorted by value; returns the 5 most frequent (stable, so ties keep value order). */
function topValues<T extends number | string>(
  runs: { value: T; count: number }[],
): { value: T; count: number }[] {
  return [...runs].sort((a, b) => b.count - a.count).slice(0, 5);
}

// ---------------------------------------------------------------------------------------------

const fmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 6 });

/** One line saying what was seen in a column, for the YAML comment. */
export function describeFacts(f: ColumnFacts): string {
  const parts: string[] = [];
  if (f.rowCounter) parts.push(`row counter ${fmt.format(f.min ?? 0)}..${fmt.format(f.max ?? 0)}`);
  else if (f.kind === "numeric") parts.push(f.integer ? "integers" : "numbers");
  else parts.push("text");
  if (!f.rowCounter) {
    const shown = f.sampleValues.map((s) => `${showValue(s.value)} ×${fmt.format(s.count)}`);
    const more = f.distinct > f.sampleValues.length ? ", …" : "";
    parts.push(`${fmt.format(f.distinct)} distinct${shown.length ? `: ${shown.join(", ")}${more}` : ""}`);
    if (f.kind === "numeric" && f.distinct > f.sampleValues.length && f.min !== null && f.max !== null) {
      parts.push(`range ${fmt.format(f.min)} … ${fmt.format(f.max)}`);
    }
  }
  parts.push(
    f.missing === 0
      ? "no missing"
      : `${fmt.format(f.missing)} missing (${((100 * f.missing) / Math.max(1, f.rows)).toFixed(1)} %)`,
  );
  return parts.join("; ");
}

function showValue(v: number | string): string {
  return typeof v === "number" ? fmt.format(v) : JSON.stringify(v);
}

/**
 * The draft as the `schema:` section of a pipeline file (the config's own format), with a comment
 * per column saying what was seen, so the user can judge each guess.
 */
export function schemaToYaml(inferred: InferredSchema): string {
  const { schema, facts } = inferred;
  const columns: Record<string, Record<string, unknown>> = {};
  for (const c of schema.columns) {
    const isTarget = c.role === "target";
    const entry: Record<string, unknown> = {};
    if (c.role !== "feature") entry.role = c.role;
    // Class labels are read as categories whatever they look like.
    entry.type = isTarget ? "categorical" : c.type;
    if (c.nullable !== !isTarget) entry.nullable = c.nullable;
    if (c.allowed) entry.allowed = [...c.allowed];
    if (c.min !== undefined) entry.min = c.min;
    if (c.max !== undefined) entry.max = c.max;
    columns[c.name] = entry;
  }
  const section: Record<string, unknown> = {};
  if (inferred.target) section.target = inferred.target;
  section.unexpected_columns = schema.unexpectedColumns;
  const defaults = DEFAULT_MISSING_TOKENS.join("\u0000");
  if (schema.missingTokens.join("\u0000") !== defaults) section.missing_values = [...schema.missingTokens];
  section.columns = columns;
  const doc = new Document({ schema: section });
  const header = [
    ` Draft schema inferred by netwarden from ${inferred.source} (${fmt.format(inferred.rowsRead)} rows read).`,
    " Every role, type and allowed list below is a guess from those rows: review each one.",
    ...(inferred.target ? [] : [" NOTE: no target column was recognised: set schema.target and its role."]),
    ...inferred.notes.map((n) => ` NOTE: ${n}`),
  ];
  doc.commentBefore = header.join("\n");
  const map = doc.getIn(["schema", "columns"], true) as YAMLMap;
  map.items.forEach((pair, i) => {
    (pair.value as YAMLMap).flow = true;
    const ignored = schema.columns[i].role === "ignore" ? " — ignored: tied to the target" : "";
    (pair.key as { commentBefore?: string }).commentBefore = ` ${describeFacts(facts[i])}${ignored}`;
  });
  const missing = doc.getIn(["schema", "missing_values"], true) as YAMLSeq | undefined;
  if (missing) missing.flow = true;
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
