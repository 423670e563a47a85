export {
  isTreeScored,
  type PermutationImportance,
  type PermutationOptions,
  permutationImportance,
  type ShapTrees,
  shapExpectedValue,
  type TreeScored,
  type TreeScoring,
  treeShap,
} from "./explain/index.js";
export {
  type Distribution,
  expandGrid,
  type Fold,
  randomCandidates,
  stratifiedHoldout,
  stratifiedKFold,
} from "./folds.js";
export {
  ADABOOST_KIND,
  ADABOOST_PARAMS,
  AdaBoostLearner,
  AdaBoostModel,
  type AdaBoostParams,
  DECISION_TREE_KIND,
  DECISION_TREE_PARAMS,
  DecisionTreeLearner,
  EXTRA_TREES_KIND,
  EXTRA_TREES_PARAMS,
  ForestLearner,
  type ForestParams,
  RANDOM_FOREST_KIND,
  RANDOM_FOREST_PARAMS,
  TreeModel,
  type TreeParams,
} from "./forest/index.js";
export { GBDT_KIND, GbdtLearner, GbdtModel } from "./gbdt/gbdt.js";
export { GBDT_PARAMS, type GbdtParams } from "./gbdt/params.js";
export { checkFitInput, checkPredictInput, rowWeights } from "./input.js";
export { KNN_KIND, KNN_PARAMS, KnnLearner, KnnModel, type KnnParams } from "./knn/knn.js";
export {
  LOGREG_KIND,
  LOGREG_PARAMS,
  LogisticLearner,
  LogisticModel,
  type LogregParams,
} from "./linear/logistic.js";
export {
  checkMatrix,
  fromColumns,
  fromRows,
  getColumn,
  getRow,
  strides,
  takeRows,
  toLayout,
} from "./matrix.js";
export {
  type AveragedMetrics,
  argmaxRows,
  averagePrecision,
  brierScore,
  type CalibrationBin,
  type ClassificationReport,
  type ClassMetrics,
  calibrationTable,
  checkMetricName,
  classificationReport,
  confusionMatrix,
  greaterIsBetter,
  LOG_LOSS_EPS,
  logLoss,
  METRIC_NAMES,
  type MetricName,
  rocAuc,
  type ScoreOptions,
  score,
} from "./metrics.js";
export {
  exportOnnx,
  importOnnx,
  loadOnnxTreeModel,
  ONNX_OUTPUTS,
  ONNX_TREE_KIND,
  type OnnxExportOptions,
  type OnnxImportOptions,
  type OnnxSource,
  OnnxTreeModel,
} from "./onnx/index.js";
export { defaultThreads, resolveThreads, sharedCopy, sharedPool, WorkerPool } from "./parallel/index.js";
export {
  describeParam,
  editDistance,
  type ParamSpec,
  type ParamSpecs,
  type ParamType,
  type ParamValue,
  resolveParams,
  suggestParam,
} from "./params.js";
export { createLearner, learnerKinds, learnerSummary, loadModel, paramSpecs } from "./registry.js";
export {
  AUTO_BINARY_NUMBERS,
  BINARY_MAGIC,
  BINARY_VERSION,
  decodeModel,
  decodeSerialized,
  type EncodeOptions,
  encodeModel,
  modelForm,
} from "./serialize/index.js";
export { applyBins, type BinMapper, type BinnedMatrix, binEdges, binOf, fitBins } from "./tree/binning.js";
export { EnsembleBuilder, type SerializedEnsemble, TreeEnsemble, type TreeNodes } from "./tree/ensemble.js";
export type {
  Explanation,
  FitOptions,
  FittedModel,
  FloatArray,
  HistoryPoint,
  Learner,
  Matrix,
  SerializedModel,
} from "./types.js";
