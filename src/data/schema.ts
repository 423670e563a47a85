import { NetwardenError } from "../core/index.js";

/**
 * The data schema: what columns a dataset has, what role each plays and what values are valid.
 * The pipeline config (config/) is normalised into this shape; everything in data/ works on it.
 */
export type ColumnRole = "feature" | "target" | "id" | "ignore";

/** numeric: real numbers; categorical: labels kept as strings; binary: two values, stored as numbers 0/1-like. */
export type ColumnKind = "numeric" | "categorical" | "binary";

export interface ColumnSpec {
  name: string;
  role: ColumnRole;
  type: ColumnKind;
  /** Missing values allowed (default: true for features, false for the target). */
  nullable: boolean;
  /** Allowed values (compared as strings for categorical columns, as numbers for numeric/binary). */
  allowed?: readonly (string | number)[];
  /** Inclusive range for numeric columns. */
  min?: number;
  max?: number;
  /** Largest tolerated share of missing values (0..1); above it validation fails. */
  maxMissingRate?: number;
  /** Free text for humans and for generated docs. */
  description?: string;
}

export interface DataSchema {
  columns: readonly ColumnSpec[];
  /** What to do with columns in the data that the schema does not list. */
  unexpectedColumns: "error" | "warn" | "ignore";
  /** Cell texts that mean "missing" (compared after trimming). `-` is deliberately not one. */
  missingTokens: readonly string[];
}

export const DEFAULT_MISSING_TOKENS: readonly string[] = ["", "NA", "N/A", "NaN", "nan", "null", "NULL"];

export function targetSpec(schema: DataSchema): ColumnSpec {
  const t = schema.columns.filter((c) => c.role === "target");
  if (t.length !== 1) {
    throw new NetwardenError(
      "NW_SCHEMA_INVALID",
      `the schema must have exactly one target column, it has ${t.length}${t.length ? ` (${t.map((c) => c.name).join(", ")})` : ""}`,
      { where: "schema.columns", hint: "Give exactly one column role: target" },
    );
  }
  return t[0];
}

export function featureSpecs(schema: DataSchema): ColumnSpec[] {
  return schema.columns.filter((c) => c.role === "feature");
}
