import { NetwardenError } from "../core/index.js";
import type { ColumnSpec } from "../data/index.js";
import { type Column, Table } from "../data/index.js";
import { coerce, type InputType, inputColumn } from "./columns.js";
import { OneHotEncoder, OrdinalEncoder } from "./encoders.js";
import { SimpleImputer } from "./imputers.js";
import {
  formatError,
  readArray,
  readEnum,
  readObject,
  readString,
  readStringArray,
  uniqueNames,
} from "./json.js";
import { KNNImputer } from "./knn.js";
import { loadTransformer } from "./load.js";
import { RobustScaler, StandardScaler } from "./scalers.js";
import type { FittedTransformer, HandleUnknown, Transformer, TransformerJSON } from "./types.js";

export type NumericImpute = "none" | "mean" | "median" | "constant" | "knn";
export type NumericScale = "none" | "standard" | "robust";
export type CategoricalImpute = "none" | "most_frequent" | "constant";
export type CategoricalEncode = "onehot" | "ordinal";

export interface NumericSteps {
  impute: NumericImpute;
  /** Value for impute constant (default 0). */
  fill_value?: number;
  /** k for impute knn (default 5). */
  knn_neighbors?: number;
  scale: NumericScale;
}

export interface CategoricalSteps {
  /** constant fills in the level `__missing__`. */
  impute: CategoricalImpute;
  encode: CategoricalEncode;
  max_categories?: number;
  min_frequency?: number;
  handle_unknown: HandleUnknown;
}

export interface PreprocessSpec {
  numeric: NumericSteps;
  categorical: CategoricalSteps;
  /** Per-column overrides of the numeric or categorical steps, by feature name. */
  columns?: Record<string, Partial<NumericSteps> | Partial<CategoricalSteps>>;
}

export interface PreprocessInputColumn {
  name: string;
  type: InputType;
}

export interface SerializedPreprocessor {
  format: typeof PREPROCESSOR_FORMAT;
  inputColumns: PreprocessInputColumn[];
  outputNames: string[];
  steps: TransformerJSON[];
}

export const PREPROCESSOR_FORMAT = "netwarden.preprocessor/v1";

/** Defaults per model family: trees take NaN and codes as they are; linear and distance models need scaled, one-hot inputs. */
export function defaultPreprocessSpec(family: "tree" | "linear"): PreprocessSpec {
  if (family === "tree") {
    return {
      numeric: { impute: "median", scale: "none" },
      categorical: { impute: "none", encode: "ordinal", handle_unknown: "ignore" },
    };
  }
  return {
    numeric: { impute: "median", scale: "standard" },
    categorical: { impute: "constant", encode: "onehot", max_categories: 32, handle_unknown: "ignore" },
  };
}

const NUMERIC_IMPUTE: readonly NumericImpute[] = ["none", "mean", "median", "constant", "knn"];
const NUMERIC_SCALE: readonly NumericScale[] = ["none", "standard", "robust"];
const CATEGORICAL_IMPUTE: readonly CategoricalImpute[] = ["none", "most_frequent", "constant"];
const CATEGORICAL_ENCODE: readonly CategoricalEncode[] = ["onehot", "ordinal"];
const HANDLE_UNKNOWN: readonly HandleUnknown[] = ["ignore", "error"];

type Check = (v: unknown, where: string) => void;

function invalid(where: string, message: string, hint: string): NetwardenError {
  return new NetwardenError("NW_CONFIG_INVALID_VALUE", message, { where, hint });
}

const oneOf =
  (values: readonly string[]): Check =>
  (v, where) => {
    if (typeof v !== "string" || !values.includes(v)) {
      throw invalid(where, `${JSON.stringify(v)} is not a valid choice`, `Use one of ${values.join(", ")}`);
    }
  };

const intAtLeast1: Check = (v, where) => {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw invalid(where, `${JSON.stringify(v)} is not an integer >= 1`, "Use a whole number such as 5");
  }
};

const NUMERIC_KEYS: Record<keyof NumericSteps, Check> = {
  impute: oneOf(NUMERIC_IMPUTE),
  fill_value: (v, where) => {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw invalid(where, `${JSON.stringify(v)} is not a finite number`, "Use a number such as 0");
    }
  },
  knn_neighbors: intAtLeast1,
  scale: oneOf(NUMERIC_SCALE),
};

const CATEGORICAL_KEYS: Record<keyof CategoricalSteps, Check> = {
  impute: oneOf(CATEGORICAL_IMPUTE),
  encode: oneOf(CATEGORICAL_ENCODE),
  max_categories: intAtLeast1,
  min_frequency: (v, where) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw invalid(
        where,
        `${JSON.stringify(v)} is not a positive number`,
        "Use a count such as 10, or a share such as 0.01",
      );
    }
  },
  handle_unknown: oneOf(HANDLE_UNKNOWN),
};

function checkSteps(
  steps: unknown,
  keys: Record<string, Check>,
  required: readonly string[],
  where: string,
): Record<string, unknown> {
  if (steps === null || typeof steps !== "object" || Array.isArray(steps)) {
    throw invalid(
      where,
      "expected a mapping of step options",
      `Give e.g. ${where}: { ${required.map((k) => `${k}: ...`).join(", ")} }`,
    );
  }
  const o = steps as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (!Object.hasOwn(keys, k)) {
      throw new NetwardenError("NW_CONFIG_UNKNOWN_KEY", `\`${k}\` is not an option here`, {
        where: `${where}.${k}`,
        hint: `Options are: ${Object.keys(keys).join(", ")}`,
      });
    }
    keys[k](v, `${where}.${k}`);
  }
  for (const k of required) {
    if (o[k] === undefined) {
      throw new NetwardenError("NW_CONFIG_MISSING_KEY", `\`${k}\` is required`, {
        where: `${where}.${k}`,
        hint: `Options are: ${Object.keys(keys).join(", ")}`,
      });
    }
  }
  return o;
}

interface Resolved {
  name: string;
  type: InputType;
  numeric?: NumericSteps;
  categorical?: CategoricalSteps;
}

/** Validates the spec (it may come straight from a config file) and merges overrides per column. */
function resolveSpec(features: readonly PreprocessInputColumn[], spec: PreprocessSpec): Resolved[] {
  const numeric = checkSteps(
    spec.numeric,
    NUMERIC_KEYS,
    ["impute", "scale"],
    "preprocess.numeric",
  ) as unknown as NumericSteps;
  const categorical = checkSteps(
    spec.categorical,
    CATEGORICAL_KEYS,
    ["impute", "encode", "handle_unknown"],
    "preprocess.categorical",
  ) as unknown as CategoricalSteps;
  const overrides = spec.columns ?? {};
  const byName = new Map(features.map((f) => [f.name, f]));
  for (const [name, o] of Object.entries(overrides)) {
    const f = byName.get(name);
    if (!f) {
      throw invalid(
        `preprocess.columns.${name}`,
        `\`${name}\` is not a feature column`,
        `Overrides can name these features: ${features.map((c) => c.name).join(", ")}`,
      );
    }
    checkSteps(o, f.type === "numeric" ? NUMERIC_KEYS : CATEGORICAL_KEYS, [], `preprocess.columns.${name}`);
  }
  return features.map((f) => {
    // a config loader may hand over unset keys as undefined: they must not erase the defaults
    const o = Object.fromEntries(
      Object.entries(Object.hasOwn(overrides, f.name) ? overrides[f.name] : {}).filter(
        ([, v]) => v !== undefined,
      ),
    );
    return f.type === "numeric"
      ? { ...f, numeric: { ...numeric, ...(o as Partial<NumericSteps>) } }
      : { ...f, categorical: { ...categorical, ...(o as Partial<CategoricalSteps>) } };
  });
}

/** Groups items by key, groups in order of their first item, so the step list is deterministic. */
function groupBy<T>(items: readonly T[], key: (t: T) => string | undefined): T[][] {
  const groups = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    if (k === undefined) continue;
    const g = groups.get(k);
    if (g) g.push(t);
    else groups.set(k, [t]);
  }
  return [...groups.values()];
}

export interface FitPreprocessorOptions {
  /** Seed of every random choice (the KNN imputer's donor sample). */
  seed: number;
}

/**
 * Fits the per-column steps in the order a sklearn Pipeline of ColumnTransformers would: KNN
 * imputation (on the raw numeric features), simple imputation, scaling (fitted on imputed
 * values), then encoding. Each step is fitted on the output of the steps before it.
 */
export function fitPreprocessor(
  table: Table,
  featureSpecs: readonly ColumnSpec[],
  spec: PreprocessSpec,
  options: FitPreprocessorOptions,
): FittedPreprocessor {
  if (featureSpecs.length === 0) {
    throw new NetwardenError("NW_TRANSFORM_INVALID", "there are no feature columns to preprocess", {
      hint: "Mark at least one column of the schema as a feature",
    });
  }
  if (table.nRows === 0) {
    throw new NetwardenError("NW_TRANSFORM_INVALID", "cannot fit the preprocessor on a table with no rows", {
      hint: "Check the training data and the split",
    });
  }
  const inputColumns = featureSpecs.map(
    (c): PreprocessInputColumn => ({
      name: c.name,
      type: c.type === "categorical" ? "categorical" : "numeric",
    }),
  );
  const seen = new Set<string>();
  for (const c of inputColumns) {
    if (seen.has(c.name)) {
      throw new NetwardenError("NW_TRANSFORM_INVALID", `feature \`${c.name}\` is listed twice`, {
        where: `column \`${c.name}\``,
        hint: "List each feature once in the schema",
      });
    }
    seen.add(c.name);
  }
  const cols = resolveSpec(inputColumns, spec);
  const num = cols.filter((c) => c.numeric);
  const cat = cols.filter((c) => c.categorical);
  const names = (g: readonly Resolved[]) => g.map((c) => c.name);

  const plan: Transformer[] = [];
  for (const g of groupBy(num, (c) =>
    c.numeric!.impute === "knn" ? String(c.numeric!.knn_neighbors ?? 5) : undefined,
  )) {
    plan.push(
      new KNNImputer({
        columns: names(g),
        // Distances use every numeric feature, standardised: the imputed columns alone often
        // share nothing with a row, and raw byte counts would drown every other feature.
        features: names(num),
        n_neighbors: g[0].numeric!.knn_neighbors ?? 5,
        standardize: true,
        seed: options.seed,
      }),
    );
  }
  for (const g of groupBy(num, (c) => simpleKey(c.numeric!.impute, c.numeric!.fill_value))) {
    const s = g[0].numeric!;
    const strategy = s.impute as "mean" | "median" | "constant";
    plan.push(
      new SimpleImputer({
        strategy,
        columns: names(g),
        ...(strategy === "constant" ? { fill_value: s.fill_value ?? 0 } : {}),
      }),
    );
  }
  for (const g of groupBy(cat, (c) => simpleKey(c.categorical!.impute))) {
    plan.push(
      new SimpleImputer({
        strategy: g[0].categorical!.impute as "most_frequent" | "constant",
        columns: names(g),
      }),
    );
  }
  for (const g of groupBy(num, (c) => (c.numeric!.scale === "none" ? undefined : c.numeric!.scale))) {
    plan.push(
      g[0].numeric!.scale === "standard"
        ? new StandardScaler({ columns: names(g) })
        : new RobustScaler({ columns: names(g) }),
    );
  }
  for (const g of groupBy(cat, (c) => {
    const s = c.categorical!;
    return JSON.stringify([s.encode, s.max_categories ?? null, s.min_frequency ?? null, s.handle_unknown]);
  })) {
    const s = g[0].categorical!;
    const o = {
      columns: names(g),
      max_categories: s.max_categories,
      min_frequency: s.min_frequency,
      handle_unknown: s.handle_unknown,
    };
    plan.push(s.encode === "onehot" ? new OneHotEncoder(o) : new OrdinalEncoder(o));
  }

  let t = prepare(table, inputColumns);
  const steps: FittedTransformer[] = [];
  for (const step of plan) {
    const fitted = step.fit(t);
    t = fitted.transform(t);
    steps.push(fitted);
  }
  return new FittedPreprocessor(inputColumns, t.names, steps);
}

function simpleKey(impute: string, fill?: number): string | undefined {
  if (impute === "none" || impute === "knn") return undefined;
  return impute === "constant" ? `constant:${fill ?? 0}` : impute;
}

/** The input columns only, each converted to the type it was trained as. */
function prepare(table: Table, inputColumns: readonly PreprocessInputColumn[]): Table {
  return new Table(
    inputColumns.map((c): Column => coerce(inputColumn(table, c.name), c.type)),
    table.nRows,
  );
}

/**
 * The fitted preprocessor: what training applied and what the server applies to every request.
 * `transform` reads the input columns by name (extra columns are ignored), converts a column sent
 * with the other type where it can, and returns only numeric columns, in `outputNames` order.
 */
export class FittedPreprocessor {
  readonly inputColumns: readonly PreprocessInputColumn[];
  readonly outputNames: readonly string[];
  readonly steps: readonly FittedTransformer[];

  constructor(
    inputColumns: readonly PreprocessInputColumn[],
    outputNames: readonly string[],
    steps: readonly FittedTransformer[],
  ) {
    this.inputColumns = inputColumns;
    this.outputNames = outputNames;
    this.steps = steps;
  }

  transform(table: Table): Table {
    let t = prepare(table, this.inputColumns);
    for (const step of this.steps) t = step.transform(t);
    return t.select(this.outputNames);
  }

  toJSON(): SerializedPreprocessor {
    return {
      format: PREPROCESSOR_FORMAT,
      inputColumns: this.inputColumns.map((c) => ({ name: c.name, type: c.type })),
      outputNames: [...this.outputNames],
      steps: this.steps.map((s) => s.toJSON()),
    };
  }
}

/** Restores a fitted preprocessor from `toJSON()`; anything malformed is NW_MODEL_FORMAT. */
export function loadPreprocessor(json: unknown): FittedPreprocessor {
  const o = readObject(json, "preprocessor");
  readEnum(o.format, "preprocessor.format", [PREPROCESSOR_FORMAT]);
  const inputColumns = readArray(o.inputColumns, "preprocessor.inputColumns").map((c, i) => {
    const w = `preprocessor.inputColumns[${i}]`;
    const col = readObject(c, w);
    return {
      name: readString(col.name, `${w}.name`),
      type: readEnum(col.type, `${w}.type`, ["numeric", "categorical"] as const),
    };
  });
  if (inputColumns.length === 0)
    throw formatError("preprocessor.inputColumns", "expected at least one column");
  uniqueNames(
    inputColumns.map((c) => c.name),
    "preprocessor.inputColumns",
  );
  const outputNames = readStringArray(o.outputNames, "preprocessor.outputNames");
  const steps = readArray(o.steps, "preprocessor.steps").map((s, i) =>
    loadTransformer(s, `preprocessor.steps[${i}]`),
  );
  const p = new FittedPreprocessor(inputColumns, outputNames, steps);
  // Run the steps on an empty table: it proves they fit the declared inputs and give the declared outputs.
  const empty = new Table(
    inputColumns.map(
      (c): Column =>
        c.type === "numeric"
          ? { type: "numeric", name: c.name, values: new Float64Array(0) }
          : { type: "categorical", name: c.name, codes: new Int32Array(0), categories: [] },
    ),
    0,
  );
  let t = empty;
  try {
    for (const step of steps) t = step.transform(t);
  } catch (e) {
    throw formatError(
      "preprocessor.steps",
      `the steps do not fit the input columns: ${(e as Error).message}`,
    );
  }
  const bad = t.columns.find((c) => c.type !== "numeric");
  if (bad || t.names.join("\u0000") !== outputNames.join("\u0000")) {
    throw formatError(
      "preprocessor.outputNames",
      "the steps do not produce the declared numeric output columns",
    );
  }
  return p;
}
