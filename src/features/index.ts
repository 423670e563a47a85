export { asCategorical, asNumeric, type InputType, MISSING_CATEGORY, OTHER_CATEGORY } from "./columns.js";
export {
  chooseLevels,
  type EncodedColumn,
  type EncoderOptions,
  FittedOneHotEncoder,
  FittedOrdinalEncoder,
  OneHotEncoder,
  type OneHotEncoderJSON,
  OrdinalEncoder,
  type OrdinalEncoderJSON,
} from "./encoders.js";
export {
  FittedSimpleImputer,
  SimpleImputer,
  type SimpleImputerJSON,
  type SimpleImputerOptions,
  type SimpleStrategy,
} from "./imputers.js";
export {
  FittedKNNImputer,
  KNNImputer,
  type KNNImputerJSON,
  type KNNImputerOptions,
  type KnnWeights,
} from "./knn.js";
export { loadTransformer } from "./load.js";
export {
  type CategoricalEncode,
  type CategoricalImpute,
  type CategoricalSteps,
  defaultPreprocessSpec,
  type FitPreprocessorOptions,
  FittedPreprocessor,
  fitPreprocessor,
  loadPreprocessor,
  type NumericImpute,
  type NumericScale,
  type NumericSteps,
  PREPROCESSOR_FORMAT,
  type PreprocessInputColumn,
  type PreprocessSpec,
  type SerializedPreprocessor,
} from "./preprocessor.js";
export * from "./resample/index.js";
export {
  FittedRobustScaler,
  FittedStandardScaler,
  RobustScaler,
  type RobustScalerJSON,
  type RobustScalerOptions,
  type ScalerColumn,
  StandardScaler,
  type StandardScalerJSON,
  type StandardScalerOptions,
} from "./scalers.js";
export type {
  FittedTransformer,
  HandleUnknown,
  Transformer,
  TransformerJSON,
  TransformerKind,
} from "./types.js";
