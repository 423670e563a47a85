import { basename } from "node:path";
import type { PipelineConfig } from "../config/index.js";
import { NetwardenError, type Progress, Rng, sha256 } from "../core/index.js";
import {
  type CategoricalColumn,
  type DataSchema,
  type DriftReport,
  type DuplicateReport,
  driftReport,
  duplicateReport,
  fingerprintTable,
  groupStratifiedSplit,
  quarantineLines,
  readCsv,
  rowKeys,
  type Split,
  stratifiedSplit,
  type Table,
  type ValidationReport,
  validateTable,
} from "../data/index.js";
import { readParquetFile, readSource, type SourceReadResult } from "../data/sources/index.js";
import { sortLabels } from "./schema.js";

/** What ingestion and validation hand to training. */
export interface Dataset {
  schema: DataSchema;
  featureNames: string[];
  target: string;
  /** Class labels in model output order. */
  classes: string[];
  train: Table;
  test: Table;
  yTrain: Int32Array;
  yTest: Int32Array;
  /** sha256 over the content of every input table as read (before quarantine and split). */
  fingerprint: string;
  /** How the split was made, for the run's params. */
  split: { method: "stratified" | "random" | "group" | "given"; droppedDuplicates: number };
  checks: ChecksInput;
  /** Quarantined rows of every input (JSONL), empty when none. */
  quarantine: string;
}

/** Everything the validation thresholds look at (see checks.ts). */
export interface ChecksInput {
  validations: { source: string; report: ValidationReport }[];
  drift: DriftReport;
  duplicates: DuplicateReport;
}

/** One input of a pipeline as read and validated against a schema (nothing dropped yet). */
export interface ReadInput {
  name: string;
  table: Table;
  report: ValidationReport;
}

/**
 * Reads the data section of a pipeline with `schema`: one input for `path` or `source`, two (train,
 * test) for a `train`/`test` pair. Jobs read a stored config's data this way with their own schema.
 */
export async function readInputs(
  config: PipelineConfig,
  schema: DataSchema,
  progress: Progress,
): Promise<ReadInput[]> {
  const validated = (name: string, r: Omit<SourceReadResult, "label">) => {
    if (r.unexpectedColumns.length && schema.unexpectedColumns === "warn") {
      progress.log(`unexpected columns in ${name} (not used): ${r.unexpectedColumns.join(", ")}`, "warn");
    }
    const report = validateTable(r.table, schema, r.rowIssues, { lineOf: r.lineOf });
    return { name, table: r.table, report };
  };
  const read = async (path: string) => {
    if (config.data.format === "parquet")
      return validated(basename(path), await readParquetFile(path, { schema, progress }));
    const task = progress.task(`reading ${basename(path)}`);
    const r = await readCsv(path, { schema, delimiter: config.data.delimiter, header: config.data.header });
    task.done(`${r.table.nRows.toLocaleString("en-US")} rows × ${r.header.length} columns`);
    return validated(basename(path), r);
  };
  // A database or S3 source gives the same Table a file does; it is named by its label.
  const readConfigured = async () => {
    if (config.data.source === undefined) return read(config.data.path as string);
    const r = await readSource(config.data.source, {
      schema,
      progress,
      delimiter: config.data.delimiter,
      header: config.data.header,
    });
    return validated(r.label, r);
  };

  if (config.data.path !== undefined || config.data.source !== undefined) return [await readConfigured()];
  return [await read(config.data.train as string), await read(config.data.test as string)];
}

/** Reads the configured data, validates it, quarantines bad rows and splits train/test. */
export async function ingest(
  config: PipelineConfig,
  schema: DataSchema,
  progress: Progress,
): Promise<Dataset> {
  const target = config.schema.target;
  const featureNames = schema.columns.filter((c) => c.role === "feature").map((c) => c.name);
  let train: Table;
  let test: Table;
  let split: Dataset["split"];
  let validations: ChecksInput["validations"];
  let quarantine = "";
  let fingerprint: string;

  if (config.data.path !== undefined || config.data.source !== undefined) {
    const [r] = await readInputs(config, schema, progress);
    validations = [{ source: r.name, report: r.report }];
    quarantine = quarantineFor(r.table, r.report, r.name);
    fingerprint = fingerprintTable(r.table);
    let valid = r.table.take(r.report.validRowIndices);
    requireTwoClasses(valid, target, r.name);
    let dropped = 0;
    if (config.split.dedupe === "drop") {
      const keys = rowKeys(valid, [...featureNames, target]);
      const seen = new Uint8Array(valid.nRows);
      const keep: number[] = [];
      for (let i = 0; i < keys.length; i++) {
        if (!seen[keys[i]]) {
          seen[keys[i]] = 1;
          keep.push(i);
        }
      }
      dropped = valid.nRows - keep.length;
      valid = valid.take(keep);
    }
    const labels = sortLabels(presentLabels(valid, target));
    const y = encodeLabels(valid, target, labels, r.name);
    let s: Split;
    if (config.split.dedupe === "group") {
      s = groupStratifiedSplit(y, rowKeys(valid, featureNames), config.split.test_size, config.split.seed);
    } else if (config.split.stratify) {
      s = stratifiedSplit(y, config.split.test_size, config.split.seed);
    } else {
      s = randomSplit(valid.nRows, config.split.test_size, config.split.seed);
    }
    train = valid.take(s.train);
    test = valid.take(s.test);
    split = {
      method: config.split.dedupe === "group" ? "group" : config.split.stratify ? "stratified" : "random",
      droppedDuplicates: dropped,
    };
  } else {
    const [a, b] = await readInputs(config, schema, progress);
    validations = [
      { source: a.name, report: a.report },
      { source: b.name, report: b.report },
    ];
    quarantine = quarantineFor(a.table, a.report, a.name) + quarantineFor(b.table, b.report, b.name);
    fingerprint = sha256(`${fingerprintTable(a.table)}\n${fingerprintTable(b.table)}`);
    train = a.table.take(a.report.validRowIndices);
    test = b.table.take(b.report.validRowIndices);
    requireTwoClasses(train, target, a.name);
    split = { method: "given", droppedDuplicates: 0 };
  }

  const classes = sortLabels(presentLabels(train, target));
  const single = config.data.train === undefined;
  const trainSource = single ? "the train split" : basename(config.data.train as string);
  const testSource = single ? "the test split" : basename(config.data.test as string);
  const yTrain = encodeLabels(train, target, classes, trainSource);
  const yTest = encodeLabels(test, target, classes, testSource);

  const task = progress.task("comparing train and test");
  const drift = driftReport(train, test, schema, {
    psi: config.validation.drift.psi,
    pValue: config.validation.drift.p_value,
    bins: config.validation.drift.bins,
    minRows: config.validation.drift.min_rows,
  });
  const duplicates = duplicateReport(train, test, featureNames, target);
  task.done(`${drift.nDrifted} drifted feature(s), ${duplicates.leakage?.testRows ?? 0} leaked test row(s)`);

  return {
    schema,
    featureNames,
    target,
    classes,
    train,
    test,
    yTrain,
    yTest,
    fingerprint,
    split,
    checks: { validations, drift, duplicates },
    quarantine,
  };
}

/** Quarantine lines (JSONL) of an input's invalid rows, each tagged with the input's name. */
export function quarantineFor(table: Table, report: ValidationReport, source: string): string {
  if (report.invalidRows.length === 0) return "";
  // Tag each line with its file so quarantines of a given split stay readable.
  return quarantineLines(table, report.invalidRows)
    .split("\n")
    .filter((l) => l)
    .map((l) => `${JSON.stringify({ source, ...JSON.parse(l) })}\n`)
    .join("");
}

function presentLabels(table: Table, target: string): string[] {
  const col = table.categorical(target);
  const used = new Uint8Array(col.categories.length);
  for (const c of col.codes) if (c >= 0) used[c] = 1;
  return col.categories.filter((_, i) => used[i]);
}

function requireTwoClasses(table: Table, target: string, source: string): void {
  const labels = presentLabels(table, target);
  if (labels.length < 2) {
    throw new NetwardenError(
      "NW_TARGET_ONE_CLASS",
      labels.length === 0
        ? `the target \`${target}\` has no valid values in ${source}`
        : `the target \`${target}\` has only one class ("${labels[0]}") in ${source}; a classifier needs at least two`,
      {
        where: `${source}, column \`${target}\``,
        hint: "Check that schema.target names the label column and that the file holds examples of every class",
      },
    );
  }
}

/** Class index of each row's label (−1 for a label not in `classes`), and the rows per unknown label. */
export function labelIndices(
  col: CategoricalColumn,
  classes: readonly string[],
): { y: Int32Array; unseen: Map<string, number> } {
  const index = new Map(classes.map((c, i) => [c, i]));
  const map = col.categories.map((c) => index.get(c) ?? -1);
  const y = new Int32Array(col.codes.length);
  const unseen = new Map<string, number>();
  for (let i = 0; i < y.length; i++) {
    const k = map[col.codes[i]];
    if (k < 0) {
      const label = col.categories[col.codes[i]];
      unseen.set(label, (unseen.get(label) ?? 0) + 1);
    }
    y[i] = k;
  }
  return { y, unseen };
}

function encodeLabels(table: Table, target: string, classes: readonly string[], source: string): Int32Array {
  const { y, unseen } = labelIndices(table.categorical(target), classes);
  if (unseen.size) {
    const list = [...unseen].map(([l, n]) => `"${l}" (${n} row${n > 1 ? "s" : ""})`).join(", ");
    throw new NetwardenError(
      "NW_SPLIT_UNSEEN_CLASS",
      `${source} has class${unseen.size > 1 ? "es" : ""} ${list} that the train split lacks; the model could never predict ${unseen.size > 1 ? "them" : "it"}`,
      {
        where: `${source}, column \`${target}\``,
        hint: "Add training examples of that class, or drop its rows from the test data",
        details: { unseen: Object.fromEntries(unseen), trainClasses: classes },
      },
    );
  }
  return y;
}

function randomSplit(n: number, testSize: number, seed: number): Split {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  new Rng(seed).shuffle(idx);
  const nTest = Math.max(1, Math.min(n - 1, Math.round(testSize * n)));
  return { test: idx.slice(0, nTest).sort(), train: idx.slice(nTest).sort() };
}
