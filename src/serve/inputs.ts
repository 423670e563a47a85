import { NetwardenError } from "../core/index.js";
import type { Bundle } from "../pipeline/index.js";

/** Request bodies of every protocol become a list of records (objects keyed by feature name). */

function bad(message: string, hint: string, where?: string): NetwardenError {
  return new NetwardenError("NW_SERVE_BAD_REQUEST", message, { hint, ...(where ? { where } : {}) });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function checkCount(n: number, limit: number): void {
  if (n === 0) throw bad("there are no records to score", "Send at least one record");
  if (n > limit) {
    throw new NetwardenError(
      "NW_SERVE_PAYLOAD_TOO_LARGE",
      `the request has ${n} records, more than the ${limit} allowed`,
      { hint: `Split it into requests of at most ${limit} records, or upload a CSV file to /predict/csv` },
    );
  }
}

/** `{"columns": [...], "data": [[...], ...]}` (pandas "split" orientation) as records. */
export function columnarRecords(body: Record<string, unknown>, where: string, limit: number): unknown[] {
  const { columns, data } = body;
  if (!Array.isArray(columns) || !columns.every((c) => typeof c === "string")) {
    throw bad(
      `\`${where}columns\` must be a list of feature names`,
      'Send {"columns": ["f1", ...], "data": [[...], ...]}',
      `${where}columns`,
    );
  }
  if (!Array.isArray(data)) {
    throw bad(
      `\`${where}data\` must be a list of rows`,
      "Each row is a list of values in `columns` order",
      `${where}data`,
    );
  }
  checkCount(data.length, limit);
  const out: unknown[] = new Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const row = data[i];
    if (!Array.isArray(row) || row.length !== columns.length) {
      throw new NetwardenError(
        "NW_SERVE_INVALID_RECORD",
        `record ${i}: must be a list of ${columns.length} values (one per column), got ${Array.isArray(row) ? `${row.length} values` : typeof row}`,
        { where: `${where}data[${i}]`, hint: "Each row of `data` has one value per entry of `columns`" },
      );
    }
    const r: Record<string, unknown> = {};
    for (let j = 0; j < columns.length; j++) r[columns[j] as string] = row[j];
    out[i] = r;
  }
  return out;
}

/** Rows given as lists of values, in the model's input order. */
function positionalRecords(rows: unknown[], bundle: Bundle, where: string): unknown[] {
  const names = bundle.manifest.inputs.map((i) => i.name);
  return rows.map((row, i) => {
    if (!Array.isArray(row)) return row;
    if (row.length !== names.length) {
      throw new NetwardenError(
        "NW_SERVE_INVALID_RECORD",
        `record ${i}: a row given as a list must have ${names.length} values (the model's inputs in order), got ${row.length}`,
        { where: `${where}[${i}]`, hint: `Input order: ${names.join(", ")}` },
      );
    }
    const r: Record<string, unknown> = {};
    for (let j = 0; j < names.length; j++) r[names[j]] = row[j];
    return r;
  });
}

/** `POST /v1/models/:name/predict`: one record, `{"records": [...]}` or `{"columns", "data"}`. */
export function v1Records(body: unknown, limit: number): unknown[] {
  if (!isObject(body)) {
    throw bad(
      'the body must be a JSON object: one record, {"records": [...]} or {"columns": [...], "data": [[...]]}',
      "Send Content-Type: application/json with one record's features as an object",
    );
  }
  if ("records" in body) {
    const r = body.records;
    if (!Array.isArray(r) || r.length === 0) {
      throw bad(
        "`records` must be a non-empty list of objects",
        'Send {"records": [{...}, {...}]} or a single record object',
        "records",
      );
    }
    checkCount(r.length, limit);
    return r;
  }
  if ("columns" in body && "data" in body) return columnarRecords(body, "", limit);
  return [body];
}

const MLFLOW_KEYS = ["dataframe_split", "dataframe_records", "instances", "inputs"];

/** MLflow scoring protocol bodies (`POST /invocations`). */
export function mlflowRecords(body: unknown, bundle: Bundle, limit: number): unknown[] {
  if (!isObject(body)) {
    throw bad(
      `the body must be a JSON object with one of ${MLFLOW_KEYS.join(", ")}`,
      'e.g. {"dataframe_split": {"columns": [...], "data": [[...]]}}',
    );
  }
  const keys = MLFLOW_KEYS.filter((k) => k in body);
  if (keys.length !== 1) {
    throw bad(
      keys.length
        ? `the body has ${keys.join(" and ")}; send exactly one`
        : `the body must have one of ${MLFLOW_KEYS.join(", ")}`,
      "See the MLflow scoring protocol: dataframe_split, dataframe_records, instances or inputs",
    );
  }
  const key = keys[0];
  const v = body[key];
  if (key === "dataframe_split") {
    if (!isObject(v))
      throw bad(
        "`dataframe_split` must be an object with columns and data",
        'e.g. {"columns": [...], "data": [[...]]}',
        key,
      );
    return columnarRecords(v, "dataframe_split.", limit);
  }
  if (key === "dataframe_records") {
    if (!Array.isArray(v))
      throw bad("`dataframe_records` must be a list of records", 'e.g. [{"f1": 1, ...}]', key);
    checkCount(v.length, limit);
    return v;
  }
  // instances / inputs: a list of records or rows, or a mapping of column → list of values.
  if (Array.isArray(v)) {
    checkCount(v.length, limit);
    return positionalRecords(v, bundle, key);
  }
  if (isObject(v)) {
    const cols = Object.keys(v);
    const lists = cols.map((c) => v[c]);
    if (cols.length > 0 && lists.every(Array.isArray)) {
      const n = (lists[0] as unknown[]).length;
      if (!lists.every((l) => (l as unknown[]).length === n)) {
        throw bad(
          `every column of \`${key}\` must have the same number of values`,
          "Send one value per row in each column",
          key,
        );
      }
      checkCount(n, limit);
      return Array.from({ length: n }, (_, i) => {
        const r: Record<string, unknown> = {};
        for (let j = 0; j < cols.length; j++) r[cols[j]] = (lists[j] as unknown[])[i];
        return r;
      });
    }
    return [v];
  }
  throw bad(
    `\`${key}\` must be a list of records or a mapping of columns to lists`,
    'e.g. {"instances": [{"f1": 1, ...}]}',
    key,
  );
}

const V2_NUMERIC = new Set([
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
]);

interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

function flatten(data: unknown, where: string, out: unknown[] = [], depth = 0): unknown[] {
  if (!Array.isArray(data)) {
    out.push(data);
    return out;
  }
  if (depth > 8)
    throw bad(`\`${where}\` is nested too deeply`, "Tensor data is a flat list (or nested by shape)", where);
  for (const d of data) flatten(d, where, out, depth + 1);
  return out;
}

/** Open Inference Protocol v2 request tensors as records. */
export function v2Records(body: unknown, bundle: Bundle, limit: number): unknown[] {
  if (!isObject(body) || !Array.isArray(body.inputs) || body.inputs.length === 0) {
    throw bad(
      "the body must be an inference request with a non-empty `inputs` list",
      'e.g. {"inputs": [{"name": "f1", "shape": [1], "datatype": "FP64", "data": [1]}]}',
      "inputs",
    );
  }
  const tensors: V2Tensor[] = body.inputs.map((t, i) => {
    const w = `inputs[${i}]`;
    if (!isObject(t))
      throw bad(`\`${w}\` must be a tensor object`, "Each input has name, shape, datatype and data", w);
    if (typeof t.name !== "string")
      throw bad(`\`${w}.name\` must be a string`, "Name the tensor after a model input", `${w}.name`);
    if (
      !Array.isArray(t.shape) ||
      !t.shape.every((d) => Number.isInteger(d) && (d as number) >= 0) ||
      t.shape.length === 0 ||
      t.shape.length > 2
    ) {
      throw bad(
        `\`${w}.shape\` must be [rows] or [rows, columns]`,
        "e.g. [1] for one value per row",
        `${w}.shape`,
      );
    }
    if (typeof t.datatype !== "string" || !(V2_NUMERIC.has(t.datatype) || t.datatype === "BYTES")) {
      throw bad(
        `\`${w}.datatype\` must be a tensor type (FP64, INT64, BYTES, ...)`,
        "Use BYTES for text features",
        `${w}.datatype`,
      );
    }
    const data = flatten(t.data, `${w}.data`);
    const size = (t.shape as number[]).reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw bad(
        `\`${w}\` has ${data.length} values, its shape says ${size}`,
        "data must hold exactly shape's product of values",
        `${w}.data`,
      );
    }
    return { name: t.name, shape: t.shape as number[], datatype: t.datatype, data };
  });
  const names = bundle.manifest.inputs.map((i) => i.name);
  const inputs = new Set(names);
  // One tensor per feature (columnar), or a single [rows, features] tensor in input order.
  if (tensors.length === 1 && tensors[0].shape.length === 2 && !inputs.has(tensors[0].name)) {
    const t = tensors[0];
    const [n, f] = t.shape;
    if (f !== names.length) {
      throw new NetwardenError(
        "NW_SERVE_INVALID_RECORD",
        `a [rows, features] tensor must have ${names.length} features, got ${f}`,
        {
          where: "inputs[0].shape",
          hint: `Feature order: ${names.join(", ")}`,
        },
      );
    }
    checkCount(n, limit);
    return Array.from({ length: n }, (_, i) => {
      const r: Record<string, unknown> = {};
      for (let j = 0; j < f; j++) r[names[j]] = t.data[i * f + j];
      return r;
    });
  }
  let n = -1;
  for (const [i, t] of tensors.entries()) {
    if (!inputs.has(t.name)) {
      throw new NetwardenError("NW_SERVE_INVALID_RECORD", `input tensor \`${t.name}\` is not a model input`, {
        where: `inputs[${i}].name`,
        hint: `Send one tensor per input (${names.length}: ${names.slice(0, 5).join(", ")}${names.length > 5 ? ", ..." : ""}), or one [rows, ${names.length}] tensor`,
      });
    }
    if (t.shape.length === 2 && t.shape[1] !== 1) {
      throw bad(
        `\`inputs[${i}]\` must have shape [rows] or [rows, 1]`,
        "One value per row",
        `inputs[${i}].shape`,
      );
    }
    if (n >= 0 && t.shape[0] !== n) {
      throw bad(
        `\`inputs[${i}]\` has ${t.shape[0]} rows, the first input has ${n}`,
        "Every input tensor has one value per row",
        `inputs[${i}].shape`,
      );
    }
    n = t.shape[0];
  }
  checkCount(n, limit);
  return Array.from({ length: n }, (_, i) => {
    const r: Record<string, unknown> = {};
    for (const t of tensors) r[t.name] = t.data[i];
    return r;
  });
}
