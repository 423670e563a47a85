import { NetwardenError } from "../core/index.js";
import { type CategoricalColumn, type Column, MISSING_CODE, type Table } from "../data/index.js";
import {
  categoricalInput,
  type LevelCount,
  levelCounts,
  mapCodes,
  OTHER_CATEGORY,
  replaceColumns,
  resolveColumns,
} from "./columns.js";
import {
  formatError,
  readArray,
  readEnum,
  readObject,
  readString,
  readStringArray,
  uniqueNames,
} from "./json.js";
import type { FittedTransformer, HandleUnknown, Transformer, TransformerJSON } from "./types.js";

export interface EncoderOptions {
  /** Default: every categorical column. */
  columns?: readonly string[];
  /**
   * Most output levels per column, counting the pooled `__other__` level: the most frequent
   * levels keep their own, the rest are pooled. No pooling happens when all levels fit.
   */
  max_categories?: number;
  /** Levels seen fewer times than this (a count when >= 1, a share of the rows when < 1) are pooled. */
  min_frequency?: number;
  /** A value not seen in training: ignore (all zeros / NaN) or error (default ignore). */
  handle_unknown?: HandleUnknown;
}

/** What an encoder learned about one column. */
export interface EncodedColumn {
  name: string;
  /** Levels with their own output, by descending training frequency, ties by value. */
  levels: string[];
  /** Seen levels pooled into `__other__`. */
  infrequent: string[];
}

export interface OneHotEncoderJSON extends TransformerJSON {
  kind: "onehot_encoder";
  handleUnknown: HandleUnknown;
  columns: EncodedColumn[];
}

export interface OrdinalEncoderJSON extends TransformerJSON {
  kind: "ordinal_encoder";
  handleUnknown: HandleUnknown;
  columns: EncodedColumn[];
}

const UNKNOWN = -1;

function optionError(message: string, where: string, hint: string): NetwardenError {
  return new NetwardenError("NW_TRANSFORM_INVALID", message, { where: `encoder: ${where}`, hint });
}

function checkOptions(o: EncoderOptions): Readonly<EncoderOptions> & { handle_unknown: HandleUnknown } {
  const m = o.max_categories;
  if (m !== undefined && !(Number.isInteger(m) && m >= 1)) {
    throw optionError(`max_categories must be an integer >= 1, got ${m}`, "max_categories", "Use e.g. 32");
  }
  const f = o.min_frequency;
  if (f !== undefined && !(Number.isFinite(f) && f > 0)) {
    throw optionError(
      `min_frequency must be a positive number, got ${f}`,
      "min_frequency",
      "Use a count such as 10, or a share of the rows such as 0.01",
    );
  }
  const h = o.handle_unknown ?? "ignore";
  if (h !== "ignore" && h !== "error") {
    throw optionError(`unknown handle_unknown ${JSON.stringify(h)}`, "handle_unknown", "Use ignore or error");
  }
  return { ...o, handle_unknown: h };
}

/** Splits ordered level counts into kept and pooled levels (see EncoderOptions). */
export function chooseLevels(
  counts: readonly LevelCount[],
  nRows: number,
  maxCategories?: number,
  minFrequency?: number,
): { levels: string[]; infrequent: string[] } {
  const threshold = minFrequency === undefined ? 0 : minFrequency < 1 ? minFrequency * nRows : minFrequency;
  // counts are in descending order, so the frequent ones are a prefix
  let keep = counts.findIndex((c) => c.count < threshold);
  if (keep === -1) keep = counts.length;
  if (maxCategories !== undefined) {
    const pooled = keep < counts.length;
    if (keep + (pooled ? 1 : 0) > maxCategories) keep = maxCategories - 1;
  }
  return {
    levels: counts.slice(0, keep).map((c) => c.value),
    infrequent: counts.slice(keep).map((c) => c.value),
  };
}

function fitColumns(table: Table, o: EncoderOptions): EncodedColumn[] {
  const names = resolveColumns(table, o.columns, (c) => c.type === "categorical");
  return names.map((name) => {
    const chosen = chooseLevels(
      levelCounts(categoricalInput(table, name)),
      table.nRows,
      o.max_categories,
      o.min_frequency,
    );
    return { name, ...chosen };
  });
}

function readColumns(v: unknown, where: string): EncodedColumn[] {
  const cols = readArray(v, where).map((c, i) => {
    const w = `${where}[${i}]`;
    const o = readObject(c, w);
    const levels = readStringArray(o.levels, `${w}.levels`);
    const infrequent = readStringArray(o.infrequent, `${w}.infrequent`);
    const seen = new Set<string>();
    for (const l of [...levels, ...infrequent]) {
      if (seen.has(l)) throw formatError(w, `level ${JSON.stringify(l)} is listed twice`);
      seen.add(l);
    }
    return { name: readString(o.name, `${w}.name`), levels, infrequent };
  });
  uniqueNames(
    cols.map((c) => c.name),
    where,
  );
  return cols;
}

/** Shared by both encoders: per column, category string -> output slot (levels, then __other__). */
abstract class FittedEncoder implements FittedTransformer {
  abstract readonly kind: "onehot_encoder" | "ordinal_encoder";
  readonly handleUnknown: HandleUnknown;
  readonly encoded: readonly EncodedColumn[];
  private readonly lookups: ReadonlyMap<string, number>[];

  constructor(handleUnknown: HandleUnknown, encoded: readonly EncodedColumn[]) {
    this.handleUnknown = handleUnknown;
    this.encoded = encoded;
    this.lookups = encoded.map((e) => {
      const m = new Map<string, number>(e.levels.map((l, i) => [l, i]));
      for (const l of e.infrequent) m.set(l, e.levels.length);
      return m;
    });
  }

  get columns(): string[] {
    return this.encoded.map((e) => e.name);
  }

  /** Slot per dictionary code of the input column; UNKNOWN for unseen values. */
  protected slots(table: Table, j: number): { column: CategoricalColumn; map: Int32Array } {
    const column = categoricalInput(table, this.encoded[j].name);
    return { column, map: mapCodes(column, this.lookups[j], UNKNOWN) };
  }

  protected unknown(j: number, column: CategoricalColumn, row: number): NetwardenError {
    const value = column.categories[column.codes[row]];
    const known = this.encoded[j].levels;
    return new NetwardenError(
      "NW_TRANSFORM_INVALID",
      `column \`${column.name}\` has the value ${JSON.stringify(value)}, which the model never saw in training`,
      {
        where: `column \`${column.name}\`, row ${row + 1}`,
        hint: `Send one of the known values (${known.slice(0, 10).join(", ")}${known.length > 10 ? ", …" : ""}), or train with handle_unknown: ignore`,
        details: { column: column.name, row, value },
      },
    );
  }

  transform(table: Table): Table {
    const out = new Map<string, Column[]>(this.encoded.map((e, j) => [e.name, this.encode(table, j)]));
    return replaceColumns(table, out);
  }

  protected abstract encode(table: Table, j: number): Column[];

  protected jsonColumns(): EncodedColumn[] {
    return this.encoded.map((e) => ({ name: e.name, levels: [...e.levels], infrequent: [...e.infrequent] }));
  }

  abstract toJSON(): OneHotEncoderJSON | OrdinalEncoderJSON;
}

/**
 * One 0/1 column per kept level, named `<col>=<level>`, plus `<col>=__other__` when levels were
 * pooled. A missing value, and an unknown one under handle_unknown ignore, gives all zeros.
 */
export class OneHotEncoder implements Transformer<FittedOneHotEncoder> {
  readonly options: Readonly<EncoderOptions> & { handle_unknown: HandleUnknown };

  constructor(options: EncoderOptions = {}) {
    this.options = checkOptions(options);
  }

  fit(table: Table): FittedOneHotEncoder {
    const encoded = fitColumns(table, this.options);
    for (const e of encoded) {
      if (e.infrequent.length > 0 && e.levels.includes(OTHER_CATEGORY)) {
        throw new NetwardenError(
          "NW_TRANSFORM_INVALID",
          `column \`${e.name}\` has a level named ${OTHER_CATEGORY}, the name of the pooled level`,
          { where: `column \`${e.name}\``, hint: "Rename that value in the data, or do not pool levels" },
        );
      }
    }
    return new FittedOneHotEncoder(this.options.handle_unknown, encoded);
  }

  static load(json: unknown, where = "onehot_encoder"): FittedOneHotEncoder {
    const o = readObject(json, where);
    readEnum(o.kind, `${where}.kind`, ["onehot_encoder"]);
    return new FittedOneHotEncoder(
      readEnum(o.handleUnknown, `${where}.handleUnknown`, ["ignore", "error"] as const),
      readColumns(o.columns, `${where}.columns`),
    );
  }
}

export class FittedOneHotEncoder extends FittedEncoder {
  readonly kind = "onehot_encoder" as const;

  /** Output column names for input column `name`, in output order. */
  outputNames(name: string): string[] {
    const e = this.encoded.find((c) => c.name === name);
    if (!e) return [];
    const names = e.levels.map((l) => `${name}=${l}`);
    if (e.infrequent.length > 0) names.push(`${name}=${OTHER_CATEGORY}`);
    return names;
  }

  protected encode(table: Table, j: number): Column[] {
    const { column, map } = this.slots(table, j);
    const names = this.outputNames(column.name);
    const outs = names.map(() => new Float64Array(table.nRows));
    const codes = column.codes;
    const strict = this.handleUnknown === "error";
    for (let i = 0; i < codes.length; i++) {
      if (codes[i] === MISSING_CODE) continue;
      const slot = map[codes[i]];
      if (slot === UNKNOWN) {
        if (strict) throw this.unknown(j, column, i);
        continue;
      }
      outs[slot][i] = 1;
    }
    return names.map((name, k) => ({ type: "numeric", name, values: outs[k] }));
  }

  toJSON(): OneHotEncoderJSON {
    return { kind: "onehot_encoder", handleUnknown: this.handleUnknown, columns: this.jsonColumns() };
  }
}

/**
 * Replaces each level by its rank 0..n-1 (descending training frequency, ties by value; pooled
 * levels share rank n). Missing and unknown values become NaN, which tree learners route as missing.
 */
export class OrdinalEncoder implements Transformer<FittedOrdinalEncoder> {
  readonly options: Readonly<EncoderOptions> & { handle_unknown: HandleUnknown };

  constructor(options: EncoderOptions = {}) {
    this.options = checkOptions(options);
  }

  fit(table: Table): FittedOrdinalEncoder {
    return new FittedOrdinalEncoder(this.options.handle_unknown, fitColumns(table, this.options));
  }

  static load(json: unknown, where = "ordinal_encoder"): FittedOrdinalEncoder {
    const o = readObject(json, where);
    readEnum(o.kind, `${where}.kind`, ["ordinal_encoder"]);
    return new FittedOrdinalEncoder(
      readEnum(o.handleUnknown, `${where}.handleUnknown`, ["ignore", "error"] as const),
      readColumns(o.columns, `${where}.columns`),
    );
  }
}

export class FittedOrdinalEncoder extends FittedEncoder {
  readonly kind = "ordinal_encoder" as const;

  protected encode(table: Table, j: number): Column[] {
    const { column, map } = this.slots(table, j);
    const values = new Float64Array(table.nRows);
    const codes = column.codes;
    const strict = this.handleUnknown === "error";
    for (let i = 0; i < codes.length; i++) {
      const slot = codes[i] === MISSING_CODE ? UNKNOWN : map[codes[i]];
      if (slot === UNKNOWN && strict && codes[i] !== MISSING_CODE) throw this.unknown(j, column, i);
      values[i] = slot === UNKNOWN ? Number.NaN : slot;
    }
    return [{ type: "numeric", name: column.name, values }];
  }

  toJSON(): OrdinalEncoderJSON {
    return { kind: "ordinal_encoder", handleUnknown: this.handleUnknown, columns: this.jsonColumns() };
  }
}
