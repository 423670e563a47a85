import { canonicalJson, NetwardenError, Rng } from "../core/index.js";
import { type Column, MISSING_CODE, Table } from "../data/index.js";

export const REFERENCE_FORMAT = "netwarden.reference/v1";
/** Name of the reference sample among a training run's artifacts. */
export const REFERENCE_ARTIFACT = "reference.json";
/** Rows kept: enough for decile PSI and KS to be stable, small enough to store with every run. */
export const REFERENCE_ROWS = 10_000;

type StoredColumn =
  | { name: string; type: "numeric"; values: (number | null)[] }
  | { name: string; type: "categorical"; categories: string[]; codes: number[] };

interface ReferenceFile {
  format: typeof REFERENCE_FORMAT;
  /** Rows of the train split the sample was drawn from. */
  sampledFrom: number;
  rows: number;
  columns: StoredColumn[];
}

/**
 * The feature columns of the train split, or a seeded sample of `REFERENCE_ROWS` of them (rows kept
 * in their order): what drift checks compare current data with. Deterministic for a given split.
 */
export function encodeReference(train: Table, features: readonly string[], seed: number): Uint8Array {
  let table = train.select(features);
  if (table.nRows > REFERENCE_ROWS) {
    const idx = new Int32Array(table.nRows);
    for (let i = 0; i < idx.length; i++) idx[i] = i;
    new Rng(seed).shuffle(idx);
    table = table.take(idx.slice(0, REFERENCE_ROWS).sort());
  }
  const columns = table.columns.map((c): StoredColumn => {
    if (c.type === "numeric") {
      return {
        name: c.name,
        type: "numeric",
        values: Array.from(c.values, (v) => (Number.isNaN(v) ? null : v)),
      };
    }
    return { name: c.name, type: "categorical", categories: [...c.categories], codes: Array.from(c.codes) };
  });
  const file: ReferenceFile = {
    format: REFERENCE_FORMAT,
    sampledFrom: train.nRows,
    rows: table.nRows,
    columns,
  };
  return Buffer.from(canonicalJson(file));
}

export function decodeReference(bytes: Uint8Array, where: string): { table: Table; sampledFrom: number } {
  let file: ReferenceFile;
  try {
    file = JSON.parse(Buffer.from(bytes).toString("utf8")) as ReferenceFile;
  } catch {
    file = {} as ReferenceFile;
  }
  if (file?.format !== REFERENCE_FORMAT || !Array.isArray(file.columns)) {
    throw new NetwardenError("NW_MODEL_FORMAT", `${where} is not a ${REFERENCE_FORMAT} reference sample`, {
      hint: "Reference samples are written by `netwarden train`; retrain to write a new one",
    });
  }
  const columns = file.columns.map((c): Column => {
    if (c.type === "numeric") {
      return { type: "numeric", name: c.name, values: Float64Array.from(c.values, (v) => v ?? Number.NaN) };
    }
    return {
      type: "categorical",
      name: c.name,
      categories: c.categories,
      codes: Int32Array.from(c.codes, (k) => (k < 0 ? MISSING_CODE : k)),
    };
  });
  return { table: new Table(columns, file.rows), sampledFrom: file.sampledFrom };
}
