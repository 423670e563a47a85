import { NetwardenError } from "../core/index.js";
import { type CategoricalColumn, type Column, MISSING_CODE, type Table } from "../data/index.js";
import {
  asCategorical,
  asNumeric,
  type InputType,
  inputColumn,
  levelCounts,
  MISSING_CATEGORY,
  numericValues,
  replaceColumns,
  resolveColumns,
} from "./columns.js";
import { readArray, readEnum, readNumber, readObject, readString, uniqueNames } from "./json.js";
import { meanVar, medianSorted, noValuesError, requireFinite, sortedPresent } from "./stats.js";
import type { FittedTransformer, Transformer, TransformerJSON } from "./types.js";

export type SimpleStrategy = "mean" | "median" | "most_frequent" | "constant";
const STRATEGIES: readonly SimpleStrategy[] = ["mean", "median", "most_frequent", "constant"];

export interface SimpleImputerOptions {
  /** mean / median: numeric columns; most_frequent: categorical columns; constant: either. */
  strategy: SimpleStrategy;
  /** Columns to impute; default: every column the strategy applies to (constant: all). */
  columns?: readonly string[];
  /** For `constant`: a number for numeric columns (default 0), a string for categorical ones (default `__missing__`). */
  fill_value?: number | string;
}

export interface SimpleImputerJSON extends TransformerJSON {
  kind: "simple_imputer";
  strategy: SimpleStrategy;
  columns: { name: string; type: InputType; value: number | string }[];
}

interface Fill {
  name: string;
  type: InputType;
  value: number | string;
}

function optionError(message: string, where: string, hint: string): NetwardenError {
  return new NetwardenError("NW_TRANSFORM_INVALID", message, { where: `simple imputer: ${where}`, hint });
}

/** Fills missing values with one learned (or given) value per column, like sklearn's SimpleImputer. */
export class SimpleImputer implements Transformer<FittedSimpleImputer> {
  readonly options: Readonly<SimpleImputerOptions>;

  constructor(options: SimpleImputerOptions) {
    if (!STRATEGIES.includes(options.strategy)) {
      throw optionError(
        `unknown strategy ${JSON.stringify(options.strategy)}`,
        "strategy",
        `Use one of ${STRATEGIES.join(", ")}`,
      );
    }
    const f = options.fill_value;
    if (f !== undefined && options.strategy !== "constant") {
      throw optionError(
        "fill_value is only used by the constant strategy",
        "fill_value",
        "Remove fill_value or use strategy constant",
      );
    }
    if (typeof f === "number" && !Number.isFinite(f)) {
      throw optionError("fill_value must be a finite number", "fill_value", "Give a finite number such as 0");
    }
    this.options = { ...options };
  }

  fit(table: Table): FittedSimpleImputer {
    const { strategy, fill_value } = this.options;
    const applies = (c: Column): boolean => {
      if (strategy === "mean" || strategy === "median") return c.type === "numeric";
      if (strategy === "most_frequent") return c.type === "categorical";
      return fill_value === undefined || (typeof fill_value === "number") === (c.type === "numeric");
    };
    const names = resolveColumns(table, this.options.columns, applies);
    return new FittedSimpleImputer(
      strategy,
      names.map((name) => this.fitColumn(table, name)),
    );
  }

  private fitColumn(table: Table, name: string): Fill {
    const { strategy, fill_value } = this.options;
    const column = inputColumn(table, name);
    switch (strategy) {
      case "mean": {
        const { n, mean } = meanVar(numericValues(table, name));
        if (n === 0) throw noValuesError(name, "mean");
        return { name, type: "numeric", value: requireFinite(mean, name, "mean") };
      }
      case "median": {
        const sorted = sortedPresent(numericValues(table, name));
        if (sorted.length === 0) throw noValuesError(name, "median");
        return { name, type: "numeric", value: requireFinite(medianSorted(sorted), name, "median") };
      }
      case "most_frequent": {
        if (column.type !== "categorical") {
          throw new NetwardenError(
            "NW_TRANSFORM_INVALID",
            `most_frequent imputation is for categorical columns, and \`${name}\` is numeric`,
            { where: `column \`${name}\``, hint: "Impute numeric columns with mean, median or constant" },
          );
        }
        // levelCounts breaks count ties by value, so the smallest value wins as in sklearn
        const levels = levelCounts(column);
        if (levels.length === 0) throw noValuesError(name, "most frequent value");
        return { name, type: "categorical", value: levels[0].value };
      }
      case "constant": {
        if (fill_value !== undefined && (typeof fill_value === "number") !== (column.type === "numeric")) {
          throw new NetwardenError(
            "NW_TRANSFORM_INVALID",
            `fill_value ${JSON.stringify(fill_value)} does not suit ${column.type} column \`${name}\``,
            {
              where: `column \`${name}\``,
              hint: "Use a number for numeric columns and a string for categorical ones",
            },
          );
        }
        const value = fill_value ?? (column.type === "numeric" ? 0 : MISSING_CATEGORY);
        return { name, type: column.type, value };
      }
    }
  }

  static load(json: unknown, where = "simple_imputer"): FittedSimpleImputer {
    const o = readObject(json, where);
    readEnum(o.kind, `${where}.kind`, ["simple_imputer"]);
    const strategy = readEnum(o.strategy, `${where}.strategy`, STRATEGIES);
    const fills = readArray(o.columns, `${where}.columns`).map((c, i): Fill => {
      const w = `${where}.columns[${i}]`;
      const col = readObject(c, w);
      const type = readEnum(col.type, `${w}.type`, ["numeric", "categorical"] as const);
      const value =
        type === "numeric" ? readNumber(col.value, `${w}.value`) : readString(col.value, `${w}.value`);
      return { name: readString(col.name, `${w}.name`), type, value };
    });
    uniqueNames(
      fills.map((f) => f.name),
      `${where}.columns`,
    );
    return new FittedSimpleImputer(strategy, fills);
  }
}

export class FittedSimpleImputer implements FittedTransformer {
  readonly kind = "simple_imputer" as const;
  readonly strategy: SimpleStrategy;
  private readonly fills: readonly Fill[];

  constructor(strategy: SimpleStrategy, fills: readonly Fill[]) {
    this.strategy = strategy;
    this.fills = fills;
  }

  get columns(): string[] {
    return this.fills.map((f) => f.name);
  }

  /** The value each column's missing entries get. */
  get values(): Record<string, number | string> {
    return Object.fromEntries(this.fills.map((f) => [f.name, f.value]));
  }

  transform(table: Table): Table {
    const out = new Map<string, Column[]>();
    for (const f of this.fills) {
      const column = inputColumn(table, f.name);
      if (f.type === "numeric") {
        const values = Float64Array.from(asNumeric(column).values);
        const fill = f.value as number;
        for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) values[i] = fill;
        out.set(f.name, [{ type: "numeric", name: f.name, values }]);
      } else {
        out.set(f.name, [fillCategory(asCategorical(column), f.value as string)]);
      }
    }
    return replaceColumns(table, out);
  }

  toJSON(): SimpleImputerJSON {
    return {
      kind: "simple_imputer",
      strategy: this.strategy,
      columns: this.fills.map((f) => ({ name: f.name, type: f.type, value: f.value })),
    };
  }
}

function fillCategory(column: CategoricalColumn, fill: string): CategoricalColumn {
  let code = column.categories.indexOf(fill);
  const categories = code === -1 ? [...column.categories, fill] : column.categories;
  if (code === -1) code = column.categories.length;
  const codes = Int32Array.from(column.codes);
  for (let i = 0; i < codes.length; i++) if (codes[i] === MISSING_CODE) codes[i] = code;
  return { type: "categorical", name: column.name, codes, categories };
}
