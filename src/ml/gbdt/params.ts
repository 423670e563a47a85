import type { ParamSpec, ParamSpecs } from "../params.js";

/**
 * Threads of a fit. Not a hyper-parameter of the model: results are identical whatever the
 * count, so fitted models do not record it.
 */
export const N_THREADS_PARAM: ParamSpec = {
  type: "int",
  default: null,
  min: 1,
  max: 1024,
  nullable: true,
  doc: "Threads to train with; null: every core. The model is the same whatever the count.",
  aliases: ["n_jobs", "nthread", "num_threads"],
};

export const GBDT_PARAMS: ParamSpecs = {
  n_estimators: {
    type: "int",
    default: 100,
    min: 1,
    max: 100_000,
    doc: "Boosting rounds (one tree per class per round for multi-class).",
    aliases: ["num_boost_round", "num_iterations", "n_iter", "num_trees", "max_iter"],
  },
  learning_rate: {
    type: "number",
    default: 0.1,
    min: 0,
    exclusiveMin: true,
    max: 1,
    doc: "Shrinkage applied to every leaf value.",
    aliases: ["eta", "shrinkage_rate"],
  },
  max_depth: {
    type: "int",
    default: 6,
    min: 0,
    max: 64,
    nullable: true,
    doc: "Deepest level a tree may reach; null or 0 means unlimited (lossguide only).",
  },
  max_leaves: {
    type: "int",
    default: null,
    min: 0,
    max: 131_072,
    nullable: true,
    doc: "Most leaves per tree; null: 31 for lossguide, no limit for depthwise; 0: no limit.",
    aliases: ["num_leaves", "max_leaf_nodes"],
  },
  grow_policy: {
    type: "enum",
    default: "depthwise",
    values: ["depthwise", "lossguide"],
    doc: "depthwise grows level by level (XGBoost); lossguide splits the best leaf first (LightGBM).",
  },
  min_child_weight: {
    type: "number",
    default: 1,
    min: 0,
    doc: "Least hessian sum a child may have.",
    aliases: ["min_sum_hessian_in_leaf", "min_hessian"],
  },
  min_samples_leaf: {
    type: "int",
    default: 1,
    min: 1,
    doc: "Least number of training rows a leaf may have.",
    aliases: ["min_child_samples", "min_data_in_leaf"],
  },
  reg_lambda: {
    type: "number",
    default: 1,
    min: 0,
    doc: "L2 penalty on leaf values.",
    aliases: ["lambda", "lambda_l2", "l2_regularization"],
  },
  reg_alpha: {
    type: "number",
    default: 0,
    min: 0,
    doc: "L1 penalty on leaf values.",
    aliases: ["alpha", "lambda_l1"],
  },
  min_split_gain: {
    type: "number",
    default: 0,
    min: 0,
    doc: "Least loss reduction a split must bring.",
    aliases: ["gamma", "min_split_loss", "min_gain_to_split"],
  },
  subsample: {
    type: "number",
    default: 1,
    min: 0,
    exclusiveMin: true,
    max: 1,
    doc: "Share of rows drawn (without replacement) for each round.",
    aliases: ["bagging_fraction"],
  },
  colsample_bytree: {
    type: "number",
    default: 1,
    min: 0,
    exclusiveMin: true,
    max: 1,
    doc: "Share of features drawn for each tree.",
    aliases: ["feature_fraction", "colsample", "max_features"],
  },
  max_bins: {
    type: "int",
    default: 255,
    min: 2,
    max: 255,
    doc: "Most histogram bins per feature (missing values get one more).",
    aliases: ["max_bin"],
  },
  early_stopping_rounds: {
    type: "int",
    default: null,
    min: 1,
    nullable: true,
    doc: "Stop when the validation log-loss has not improved for this many rounds; null: off.",
    aliases: ["early_stopping", "n_iter_no_change"],
  },
  class_weight: {
    type: "enum",
    default: null,
    values: ["balanced"],
    nullable: true,
    doc: "balanced: weight each class by n / (classes · rows of the class); null: equal.",
  },
  base_score: {
    type: "number",
    default: null,
    min: 0,
    max: 1,
    exclusiveMin: true,
    exclusiveMax: true,
    nullable: true,
    doc: "Starting probability of the positive class; null: the class prior. Multi-class: any value starts all classes equal.",
  },
  seed: {
    type: "int",
    default: 0,
    min: 0,
    max: 4_294_967_295,
    doc: "Seed of every random choice (binning sample, row and feature sampling).",
    aliases: ["random_state", "random_seed"],
  },
  n_threads: N_THREADS_PARAM,
};

export interface GbdtParams {
  n_estimators: number;
  learning_rate: number;
  max_depth: number | null;
  max_leaves: number | null;
  grow_policy: "depthwise" | "lossguide";
  min_child_weight: number;
  min_samples_leaf: number;
  reg_lambda: number;
  reg_alpha: number;
  min_split_gain: number;
  subsample: number;
  colsample_bytree: number;
  max_bins: number;
  early_stopping_rounds: number | null;
  class_weight: "balanced" | null;
  base_score: number | null;
  seed: number;
  n_threads: number | null;
}
