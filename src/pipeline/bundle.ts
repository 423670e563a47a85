import { canonicalJson, NetwardenError, sha256 } from "../core/index.js";
import {
  type Column,
  categoricalColumn,
  type DataSchema,
  DEFAULT_MISSING_TOKENS,
  numericColumn,
  Table,
} from "../data/index.js";
import { type FittedPreprocessor, loadPreprocessor, type SerializedPreprocessor } from "../features/index.js";
import { type FittedModel, fromColumns, loadModel, type SerializedModel } from "../ml/index.js";
import type { Lineage } from "../store/index.js";

export const BUNDLE_FORMAT = "netwarden.bundle/v1";

/** A feature the bundle expects in every request, with the rules training saw. */
export interface BundleInput {
  name: string;
  type: "numeric" | "categorical" | "binary";
  nullable: boolean;
  allowed?: (string | number)[];
  min?: number;
  max?: number;
}

export interface BundleTarget {
  name: string;
  /** Class labels in model output order. */
  classes: string[];
  /** Readable names per label (from the config's `class_names`). */
  classNames?: Record<string, string>;
  /** For binary models: the label that counts as positive. */
  positiveClass?: string;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  name: string;
  task: "binary" | "multiclass";
  target: BundleTarget;
  inputs: BundleInput[];
  candidate: { name: string; kind: string; params: Record<string, unknown> };
  /** Test-split metrics the bundle was accepted with. */
  metrics: Record<string, number>;
  lineage: Lineage;
  /** sha256 of the canonical JSON of `preprocessor` and `model`, checked on load. */
  hashes: { preprocessor: string; model: string };
}

export interface BundleFile extends BundleManifest {
  preprocessor: SerializedPreprocessor;
  model: SerializedModel;
}

/** Serialises a bundle to bytes. Deterministic: no clocks, no run ids, keys sorted. */
export function encodeBundle(
  manifest: Omit<BundleManifest, "format" | "hashes">,
  preprocessor: FittedPreprocessor,
  model: FittedModel,
): Uint8Array {
  const pre = preprocessor.toJSON();
  const mod = model.toJSON();
  const file: BundleFile = {
    ...manifest,
    format: BUNDLE_FORMAT,
    hashes: { preprocessor: sha256(canonicalJson(pre)), model: sha256(canonicalJson(mod)) },
    preprocessor: pre,
    model: mod,
  };
  return Buffer.from(canonicalJson(file));
}

export interface Prediction {
  /** Winning class label. */
  label: string;
  /** Probability per class label. */
  probabilities: Record<string, number>;
}

/** A loaded bundle: what the server and batch scoring use. */
export class Bundle {
  readonly manifest: BundleManifest;
  readonly preprocessor: FittedPreprocessor;
  readonly model: FittedModel;
  private readonly inputsByName: Map<string, BundleInput>;

  constructor(manifest: BundleManifest, preprocessor: FittedPreprocessor, model: FittedModel) {
    this.manifest = manifest;
    this.preprocessor = preprocessor;
    this.model = model;
    this.inputsByName = new Map(manifest.inputs.map((i) => [i.name, i]));
  }

  get classes(): string[] {
    return this.manifest.target.classes;
  }

  /** Class probabilities, row-major n × classes, for a table holding (at least) the input columns. */
  predictProba(table: Table): Float64Array {
    const features = this.preprocessor.transform(table.select(this.manifest.inputs.map((i) => i.name)));
    const X = fromColumns(features.columns.map((c) => (c as { values: Float64Array }).values));
    return this.model.predictProba(X);
  }

  predictTable(table: Table): Prediction[] {
    const proba = this.predictProba(table);
    const k = this.classes.length;
    const out: Prediction[] = new Array(table.nRows);
    for (let i = 0; i < table.nRows; i++) {
      let best = 0;
      const probabilities: Record<string, number> = {};
      for (let c = 0; c < k; c++) {
        const p = proba[i * k + c];
        probabilities[this.classes[c]] = p;
        if (p > proba[i * k + best]) best = c;
      }
      out[i] = { label: this.classes[best], probabilities };
    }
    return out;
  }

  /**
   * Turns JSON records into a table of the input columns, checking each value against the input
   * schema. Extra keys are ignored (clients often send the id or the label along).
   */
  recordsToTable(records: readonly unknown[]): Table {
    const problems: { record: number; field: string; problem: string }[] = [];
    const n = records.length;
    const cols: Column[] = [];
    for (let i = 0; i < n; i++) {
      const r = records[i];
      if (r === null || typeof r !== "object" || Array.isArray(r)) {
        problems.push({ record: i, field: "(record)", problem: `must be an object, got ${kindOf(r)}` });
      }
    }
    for (const input of this.manifest.inputs) {
      if (input.type === "categorical") {
        const vals: (string | null)[] = new Array(n);
        for (let i = 0; i < n; i++) {
          const v = field(records[i], i, input, problems);
          if (v === undefined) vals[i] = null;
          else if (typeof v === "string") vals[i] = v;
          else if (typeof v === "number" && Number.isFinite(v)) vals[i] = String(v);
          else {
            vals[i] = null;
            problems.push({ record: i, field: input.name, problem: `must be a string, got ${kindOf(v)}` });
          }
        }
        cols.push(categoricalColumn(input.name, vals));
      } else {
        const vals = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const v = field(records[i], i, input, problems);
          let x = Number.NaN;
          if (typeof v === "number" && Number.isFinite(v)) x = v;
          else if (typeof v === "boolean" && input.type === "binary") x = v ? 1 : 0;
          else if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) x = Number(v);
          else if (v !== undefined) {
            problems.push({ record: i, field: input.name, problem: `must be a number, got ${kindOf(v)}` });
          }
          vals[i] = x;
        }
        cols.push(numericColumn(input.name, vals));
      }
    }
    if (problems.length) {
      const shown = problems
        .slice(0, 3)
        .map((p) => `record ${p.record}, field \`${p.field}\`: ${p.problem}`)
        .join("; ");
      throw new NetwardenError(
        "NW_SERVE_INVALID_RECORD",
        `${problems.length} invalid value${problems.length > 1 ? "s" : ""}: ${shown}${problems.length > 3 ? "; ..." : ""}`,
        {
          hint: `Send every feature the model expects (${this.manifest.inputs.length}: see GET /v1/models/${this.manifest.name})`,
          details: { problems: problems.slice(0, 100) },
        },
      );
    }
    return new Table(cols, n);
  }

  /**
   * The inputs as a data schema for reading a file or table to score: types and nullability as
   * training saw them; columns that are not inputs (an id, the label) are ignored.
   */
  inputSchema(missingTokens: readonly string[] = DEFAULT_MISSING_TOKENS): DataSchema {
    return {
      columns: this.manifest.inputs.map((i) => ({
        name: i.name,
        role: "feature",
        type: i.type,
        nullable: i.nullable,
      })),
      unexpectedColumns: "ignore",
      missingTokens,
    };
  }

  input(name: string): BundleInput | undefined {
    return this.inputsByName.get(name);
  }
}

function field(
  record: unknown,
  i: number,
  input: BundleInput,
  problems: { record: number; field: string; problem: string }[],
): unknown {
  // Non-objects were reported once per record already.
  if (record === null || typeof record !== "object" || Array.isArray(record)) return undefined;
  const v = (record as Record<string, unknown>)[input.name];
  // An absent key is a client bug; an explicit null is a missing value, allowed when nullable.
  if (v === undefined) {
    problems.push({
      record: i,
      field: input.name,
      problem: `is missing${input.nullable ? " (send null for an unknown value)" : ""}`,
    });
    return undefined;
  }
  if (v === null) {
    if (!input.nullable)
      problems.push({ record: i, field: input.name, problem: "is null, but the model needs a value" });
    return undefined;
  }
  return v;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  if (typeof v === "object") return "an object";
  return String(v);
}

/** Reads bundle bytes: checks format and section hashes, then loads preprocessor and model. */
export function decodeBundle(bytes: Uint8Array, where = "bundle"): Bundle {
  let file: BundleFile;
  try {
    file = JSON.parse(Buffer.from(bytes).toString("utf8")) as BundleFile;
  } catch {
    throw badBundle(where, "is not valid JSON");
  }
  if (!file || typeof file !== "object" || file.format !== BUNDLE_FORMAT) {
    throw badBundle(where, `is not a ${BUNDLE_FORMAT} bundle (format: ${JSON.stringify(file?.format)})`);
  }
  if (
    sha256(canonicalJson(file.preprocessor)) !== file.hashes?.preprocessor ||
    sha256(canonicalJson(file.model)) !== file.hashes?.model
  ) {
    throw new NetwardenError("NW_STORE_CORRUPT", `${where} fails its content hash check`, {
      hint: "The bundle was changed after it was written; re-register the model from its run or retrain",
    });
  }
  const { preprocessor, model, ...manifest } = file;
  return new Bundle(manifest, loadPreprocessor(preprocessor), loadModel(model));
}

function badBundle(where: string, why: string): NetwardenError {
  return new NetwardenError("NW_MODEL_FORMAT", `${where} ${why}`, {
    hint: "Bundles are written by `netwarden train`; check that the right file or version is used",
  });
}
