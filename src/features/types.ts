import type { Table } from "../data/index.js";

export type TransformerKind =
  | "simple_imputer"
  | "knn_imputer"
  | "standard_scaler"
  | "robust_scaler"
  | "onehot_encoder"
  | "ordinal_encoder";

/** Serialised fitted transformer: plain JSON, `kind` says which `load` reads it. */
export interface TransformerJSON {
  kind: TransformerKind;
  [key: string]: unknown;
}

/**
 * A fitted transformer: immutable; `transform` returns a new table with its columns replaced and
 * every other column passed through. Categories are matched by their string, never by code, so a
 * table with another dictionary order (a request at serving time) gives the same numbers.
 */
export interface FittedTransformer {
  readonly kind: TransformerKind;
  /** The columns this transformer reads and replaces. */
  readonly columns: readonly string[];
  transform(table: Table): Table;
  toJSON(): TransformerJSON;
}

/** Options fixed at construction; `fit` learns from a table and returns a separate fitted object. */
export interface Transformer<F extends FittedTransformer = FittedTransformer> {
  fit(table: Table): F;
}

export type HandleUnknown = "ignore" | "error";
