import { NetwardenError } from "../core/index.js";
import { MISSING_CODE, type Table } from "../data/index.js";
import { fromColumns } from "../ml/index.js";
import type { Bundle, BundleInput } from "../pipeline/index.js";
import type { ServedModel } from "./holder.js";

export type UnknownValues = "error" | "unknown";

/** Scored rows: `proba` is row-major (one value per class) for rows start .. start + count - 1 of `table`. */
export interface Scored {
  table: Table;
  proba: Float64Array;
  start: number;
  count: number;
}

interface Pending {
  records: readonly unknown[];
  resolve(s: Scored): void;
  reject(e: unknown): void;
}

/**
 * Scores records, joining the requests for one model version that arrive in the same turn of the
 * event loop into one model call: per-call costs (building the table, preprocessing, the model's
 * setup) are paid once per turn instead of once per request. A batch with a bad record is scored
 * again request by request, so each request gets its own answer or its own error.
 */
export class Scorer {
  private readonly queues = new Map<ServedModel, Pending[]>();
  private scheduled = false;

  constructor(
    private readonly unknownValues: UnknownValues,
    private readonly onBatch: (model: ServedModel, rows: number) => void = () => {},
  ) {}

  score(model: ServedModel, records: readonly unknown[]): Promise<Scored> {
    return new Promise((resolve, reject) => {
      let q = this.queues.get(model);
      if (!q) {
        q = [];
        this.queues.set(model, q);
      }
      q.push({ records, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Validates and scores a table synchronously (CSV chunks, which are batches already). */
  scoreTable(model: ServedModel, table: Table, rowName: (i: number) => string): Float64Array {
    checkAllowed(model.bundle, table, this.unknownValues, rowName);
    this.onBatch(model, table.nRows);
    return model.bundle.predictProba(table);
  }

  private flush(): void {
    this.scheduled = false;
    const queues = [...this.queues];
    this.queues.clear();
    for (const [model, pending] of queues) {
      if (pending.length === 1) {
        this.scoreOne(model, pending[0]);
        continue;
      }
      let table: Table;
      let proba: Float64Array;
      try {
        const all: unknown[] = [];
        for (const p of pending) for (const r of p.records) all.push(r);
        table = model.bundle.recordsToTable(all);
        checkAllowed(model.bundle, table, this.unknownValues, recordName);
        this.onBatch(model, table.nRows);
        proba = model.bundle.predictProba(table);
      } catch {
        for (const p of pending) this.scoreOne(model, p);
        continue;
      }
      let start = 0;
      for (const p of pending) {
        p.resolve({ table, proba, start, count: p.records.length });
        start += p.records.length;
      }
    }
  }

  private scoreOne(model: ServedModel, p: Pending): void {
    try {
      const table = model.bundle.recordsToTable(p.records);
      checkAllowed(model.bundle, table, this.unknownValues, recordName);
      this.onBatch(model, table.nRows);
      p.resolve({ table, proba: model.bundle.predictProba(table), start: 0, count: table.nRows });
    } catch (e) {
      p.reject(e);
    }
  }
}

const recordName = (i: number) => `record ${i}`;

interface AllowedSets {
  input: BundleInput;
  strings?: Set<string>;
  numbers?: Set<number>;
}

const allowedCache = new WeakMap<Bundle, AllowedSets[]>();

function allowedSets(bundle: Bundle): AllowedSets[] {
  let sets = allowedCache.get(bundle);
  if (!sets) {
    sets = bundle.manifest.inputs
      .filter((i) => i.allowed && i.allowed.length > 0)
      .map((input) =>
        input.type === "categorical"
          ? { input, strings: new Set(input.allowed!.map(String)) }
          : { input, numbers: new Set(input.allowed!.map(Number)) },
      );
    allowedCache.set(bundle, sets);
  }
  return sets;
}

/**
 * Values outside a feature's allowed list: an error naming the row and field (policy `error`), or
 * scored as they are (`unknown`: the fitted encoders treat a level they never saw as unknown).
 */
export function checkAllowed(
  bundle: Bundle,
  table: Table,
  policy: UnknownValues,
  rowName: (i: number) => string,
): void {
  if (policy === "unknown") return;
  const problems: { row: number; field: string; problem: string }[] = [];
  for (const s of allowedSets(bundle)) {
    if (!table.has(s.input.name)) continue;
    const c = table.column(s.input.name);
    if (c.type === "categorical" && s.strings) {
      const bad = c.categories.map((v) => !s.strings!.has(v));
      if (!bad.includes(true)) continue;
      for (let i = 0; i < table.nRows && problems.length < 100; i++) {
        const code = c.codes[i];
        if (code !== MISSING_CODE && bad[code]) {
          problems.push({ row: i, field: c.name, problem: unknownText(c.categories[code], s.input) });
        }
      }
    } else if (c.type === "numeric" && s.numbers) {
      for (let i = 0; i < table.nRows && problems.length < 100; i++) {
        const v = c.values[i];
        if (!Number.isNaN(v) && !s.numbers.has(v)) {
          problems.push({ row: i, field: c.name, problem: unknownText(v, s.input) });
        }
      }
    }
  }
  if (problems.length === 0) return;
  problems.sort((a, b) => a.row - b.row);
  const shown = problems
    .slice(0, 3)
    .map((p) => `${rowName(p.row)}, field \`${p.field}\`: ${p.problem}`)
    .join("; ");
  throw new NetwardenError(
    "NW_SERVE_INVALID_RECORD",
    `${problems.length} unknown value${problems.length > 1 ? "s" : ""}: ${shown}${problems.length > 3 ? "; ..." : ""}`,
    {
      hint: "Send only the values the model was trained with (GET /v1/models/<name> lists them), or run the server with unknown_values: unknown",
      details: { problems: problems.map((p) => ({ ...p, record: p.row })) },
    },
  );
}

function unknownText(v: string | number, input: BundleInput): string {
  const shown =
    typeof v === "string" ? JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v) : String(v);
  const allowed = input.allowed!.slice(0, 10).map((a) => JSON.stringify(a));
  return `${shown} is not an allowed value (${allowed.join(", ")}${input.allowed!.length > 10 ? ", ..." : ""})`;
}

export interface Contribution {
  feature: string;
  value: number | string | null;
  contribution: number;
}

export interface RecordExplanation {
  /** The class whose raw score (log-odds / margin) the contributions add up to. */
  class: string;
  expected_value: number;
  contributions: Contribution[];
}

/**
 * The top-k SHAP contributions per row, summed over the model columns each input feature became
 * (one-hot levels add up to their feature). Binary models explain the second class's log-odds;
 * multi-class models explain the predicted class's margin.
 */
export function explainRows(model: ServedModel, s: Scored, topK: number): RecordExplanation[] {
  const bundle = model.bundle;
  const fitted = bundle.model;
  if (!fitted.explain) {
    throw new NetwardenError(
      "NW_SERVE_NO_EXPLANATIONS",
      `model family \`${fitted.kind}\` has no explanations`,
      {
        hint: "Explanations (TreeSHAP) exist for tree models; ask without ?explain=true",
      },
    );
  }
  const rows = s.table.take(Array.from({ length: s.count }, (_, i) => s.start + i));
  const inputs = bundle.manifest.inputs.map((i) => i.name);
  const features = bundle.preprocessor.transform(rows.select(inputs));
  const X = fromColumns(features.columns.map((c) => (c as { values: Float64Array }).values));
  const e = fitted.explain(X);
  const F = X.nCols;
  const owner = ownerOf(bundle, inputs);
  const classes = bundle.classes;
  const K = classes.length;
  const out: RecordExplanation[] = [];
  for (let i = 0; i < s.count; i++) {
    let k = 0;
    if (e.nOutputs > 1) {
      for (let c = 1; c < K; c++) if (s.proba[(s.start + i) * K + c] > s.proba[(s.start + i) * K + k]) k = c;
    }
    const sums = new Float64Array(inputs.length);
    const base = (i * e.nOutputs + k) * F;
    for (let f = 0; f < F; f++) sums[owner[f]] += e.values[base + f];
    const order = Array.from(sums.keys()).sort((a, b) => Math.abs(sums[b]) - Math.abs(sums[a]));
    out.push({
      class: e.nOutputs > 1 ? classes[k] : classes[1],
      expected_value: e.expectedValue[k],
      contributions: order.slice(0, topK).map((j) => ({
        feature: inputs[j],
        value: rows.row(i)[inputs[j]] ?? null,
        contribution: sums[j],
      })),
    });
  }
  return out;
}

const ownerCache = new WeakMap<Bundle, Int32Array>();

/** For each model column, the input feature it comes from (`name` or `name=<level>`). */
function ownerOf(bundle: Bundle, inputs: string[]): Int32Array {
  let owner = ownerCache.get(bundle);
  if (!owner) {
    const index = new Map(inputs.map((n, j) => [n, j]));
    const names = bundle.preprocessor.outputNames;
    owner = new Int32Array(names.length);
    for (let f = 0; f < names.length; f++) {
      const n = names[f];
      let j = index.get(n);
      if (j === undefined) {
        const eq = n.lastIndexOf("=");
        // Level names may contain "=": try every split, longest feature name first.
        for (let at = eq; at > 0 && j === undefined; at = n.lastIndexOf("=", at - 1))
          j = index.get(n.slice(0, at));
      }
      if (j === undefined) {
        throw new NetwardenError("NW_MODEL_FORMAT", `model column \`${n}\` comes from no input feature`, {
          hint: "The bundle's preprocessor and inputs disagree; retrain the model",
        });
      }
      owner[f] = j;
    }
    ownerCache.set(bundle, owner);
  }
  return owner;
}
