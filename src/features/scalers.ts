import { NetwardenError } from "../core/index.js";
import type { Column, Table } from "../data/index.js";
import { numericValues, replaceColumns, resolveColumns } from "./columns.js";
import { formatError, readArray, readEnum, readNumber, readObject, readString, uniqueNames } from "./json.js";
import {
  isConstant,
  MIN_SCALE,
  meanVar,
  medianSorted,
  quantileSorted,
  requireFinite,
  sortedPresent,
} from "./stats.js";
import type { FittedTransformer, Transformer, TransformerJSON } from "./types.js";

export interface ScalerColumn {
  name: string;
  center: number;
  scale: number;
}

export interface StandardScalerJSON extends TransformerJSON {
  kind: "standard_scaler";
  columns: ScalerColumn[];
}

export interface RobustScalerJSON extends TransformerJSON {
  kind: "robust_scaler";
  quantileRange: [number, number];
  columns: ScalerColumn[];
}

/** (x - center) / scale per column; missing values stay missing. */
abstract class FittedAffine implements FittedTransformer {
  abstract readonly kind: "standard_scaler" | "robust_scaler";
  readonly stats: readonly ScalerColumn[];

  constructor(stats: readonly ScalerColumn[]) {
    this.stats = stats;
  }

  get columns(): string[] {
    return this.stats.map((s) => s.name);
  }

  transform(table: Table): Table {
    const out = new Map<string, Column[]>();
    for (const { name, center, scale } of this.stats) {
      const x = numericValues(table, name);
      const values = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) values[i] = (x[i] - center) / scale;
      out.set(name, [{ type: "numeric", name, values }]);
    }
    return replaceColumns(table, out);
  }

  abstract toJSON(): StandardScalerJSON | RobustScalerJSON;
}

function copyStats(stats: readonly ScalerColumn[]): ScalerColumn[] {
  return stats.map((s) => ({ name: s.name, center: s.center, scale: s.scale }));
}

function readStats(v: unknown, where: string): ScalerColumn[] {
  const stats = readArray(v, where).map((c, i) => {
    const w = `${where}[${i}]`;
    const o = readObject(c, w);
    const scale = readNumber(o.scale, `${w}.scale`);
    if (scale <= 0) throw formatError(`${w}.scale`, "expected a positive number");
    return { name: readString(o.name, `${w}.name`), center: readNumber(o.center, `${w}.center`), scale };
  });
  uniqueNames(
    stats.map((s) => s.name),
    where,
  );
  return stats;
}

export interface StandardScalerOptions {
  /** Default: every numeric column. */
  columns?: readonly string[];
}

/**
 * Centres on the mean and divides by the population standard deviation (ddof = 0, as sklearn).
 * A constant column is only centred: dividing by a zero (or rounding-noise) deviation would make
 * every serving-time deviation from the constant huge.
 */
export class StandardScaler implements Transformer<FittedStandardScaler> {
  readonly options: Readonly<StandardScalerOptions>;

  constructor(options: StandardScalerOptions = {}) {
    this.options = { ...options };
  }

  fit(table: Table): FittedStandardScaler {
    const names = resolveColumns(table, this.options.columns, (c) => c.type === "numeric");
    return new FittedStandardScaler(
      names.map((name) => {
        const mv = meanVar(numericValues(table, name));
        // An all-missing column stays all-missing whatever the scaling: leave it as it is.
        if (mv.n === 0) return { name, center: 0, scale: 1 };
        const scale = isConstant(mv) ? 1 : requireFinite(Math.sqrt(mv.variance), name, "standard deviation");
        return { name, center: requireFinite(mv.mean, name, "mean"), scale };
      }),
    );
  }

  static load(json: unknown, where = "standard_scaler"): FittedStandardScaler {
    const o = readObject(json, where);
    readEnum(o.kind, `${where}.kind`, ["standard_scaler"]);
    return new FittedStandardScaler(readStats(o.columns, `${where}.columns`));
  }
}

export class FittedStandardScaler extends FittedAffine {
  readonly kind = "standard_scaler" as const;

  toJSON(): StandardScalerJSON {
    return { kind: "standard_scaler", columns: copyStats(this.stats) };
  }
}

export interface RobustScalerOptions {
  /** Default: every numeric column. */
  columns?: readonly string[];
  /** Percentiles whose difference is the scale (default [25, 75]: the interquartile range). */
  quantile_range?: readonly [number, number];
}

/**
 * Centres on the median and divides by the interquartile range, with percentiles interpolated
 * linearly as numpy and sklearn do. A zero range leaves the column centred only.
 */
export class RobustScaler implements Transformer<FittedRobustScaler> {
  readonly options: Readonly<RobustScalerOptions>;
  readonly quantileRange: [number, number];

  constructor(options: RobustScalerOptions = {}) {
    const [lo, hi] = options.quantile_range ?? [25, 75];
    if (!(lo >= 0 && lo < hi && hi <= 100)) {
      throw new NetwardenError(
        "NW_TRANSFORM_INVALID",
        `quantile_range [${lo}, ${hi}] is not a range of percentiles`,
        {
          where: "robust scaler: quantile_range",
          hint: "Give two percentiles with 0 <= low < high <= 100, e.g. [25, 75]",
        },
      );
    }
    this.options = { ...options };
    this.quantileRange = [lo, hi];
  }

  fit(table: Table): FittedRobustScaler {
    const [lo, hi] = this.quantileRange;
    const names = resolveColumns(table, this.options.columns, (c) => c.type === "numeric");
    return new FittedRobustScaler(
      [lo, hi],
      names.map((name) => {
        const sorted = sortedPresent(numericValues(table, name));
        if (sorted.length === 0) return { name, center: 0, scale: 1 };
        const range = quantileSorted(sorted, hi / 100) - quantileSorted(sorted, lo / 100);
        return {
          name,
          center: requireFinite(medianSorted(sorted), name, "median"),
          scale: range < MIN_SCALE ? 1 : requireFinite(range, name, "interquartile range"),
        };
      }),
    );
  }

  static load(json: unknown, where = "robust_scaler"): FittedRobustScaler {
    const o = readObject(json, where);
    readEnum(o.kind, `${where}.kind`, ["robust_scaler"]);
    const range = readArray(o.quantileRange, `${where}.quantileRange`);
    if (range.length !== 2) throw formatError(`${where}.quantileRange`, "expected two numbers");
    const q: [number, number] = [
      readNumber(range[0], `${where}.quantileRange[0]`),
      readNumber(range[1], `${where}.quantileRange[1]`),
    ];
    return new FittedRobustScaler(q, readStats(o.columns, `${where}.columns`));
  }
}

export class FittedRobustScaler extends FittedAffine {
  readonly kind = "robust_scaler" as const;
  readonly quantileRange: [number, number];

  constructor(quantileRange: [number, number], stats: readonly ScalerColumn[]) {
    super(stats);
    this.quantileRange = quantileRange;
  }

  toJSON(): RobustScalerJSON {
    return { kind: "robust_scaler", quantileRange: [...this.quantileRange], columns: copyStats(this.stats) };
  }
}
