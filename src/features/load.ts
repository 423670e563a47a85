import { OneHotEncoder, OrdinalEncoder } from "./encoders.js";
import { SimpleImputer } from "./imputers.js";
import { formatError, readObject } from "./json.js";
import { KNNImputer } from "./knn.js";
import { RobustScaler, StandardScaler } from "./scalers.js";
import type { FittedTransformer, TransformerKind } from "./types.js";

const LOADERS: Record<TransformerKind, (json: unknown, where: string) => FittedTransformer> = {
  simple_imputer: SimpleImputer.load,
  knn_imputer: KNNImputer.load,
  standard_scaler: StandardScaler.load,
  robust_scaler: RobustScaler.load,
  onehot_encoder: OneHotEncoder.load,
  ordinal_encoder: OrdinalEncoder.load,
};

/** Restores any fitted transformer from its `toJSON()` form; `where` prefixes error paths. */
export function loadTransformer(json: unknown, where = "transformer"): FittedTransformer {
  const kind = readObject(json, where).kind;
  if (typeof kind !== "string" || !Object.hasOwn(LOADERS, kind)) {
    throw formatError(`${where}.kind`, `unknown transformer kind ${JSON.stringify(kind)}`);
  }
  return LOADERS[kind as TransformerKind](json, where);
}
