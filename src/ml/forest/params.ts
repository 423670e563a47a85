import { NetwardenError } from "../../core/index.js";
import { N_THREADS_PARAM } from "../gbdt/params.js";
import type { ParamSpec, ParamSpecs } from "../params.js";

const criterion: ParamSpec = {
  type: "enum",
  default: "gini",
  values: ["gini", "entropy"],
  doc: "Split quality: Gini impurity or entropy (information gain).",
};

const maxDepth: ParamSpec = {
  type: "int",
  default: null,
  min: 1,
  max: 1000,
  nullable: true,
  doc: "Deepest level a tree may reach; null: grow until leaves are pure or too small.",
};

const minSamplesSplit: ParamSpec = {
  type: "int",
  default: 2,
  min: 2,
  doc: "Least number of training rows a node needs to be split.",
};

const minSamplesLeaf: ParamSpec = {
  type: "int",
  default: 1,
  min: 1,
  doc: "Least number of training rows a leaf may have.",
  aliases: ["min_child_samples", "min_data_in_leaf"],
};

function maxFeatures(def: string | null): ParamSpec {
  return {
    type: "number",
    default: def,
    min: 0,
    exclusiveMin: true,
    values: ["sqrt", "log2"],
    nullable: true,
    doc: 'Features examined per split: "sqrt" or "log2" of their number, an integer ≥ 1 (a count), a number in (0, 1) (a share), or null (all).',
    aliases: ["colsample_bynode", "feature_fraction_bynode", "mtry"],
  };
}

const maxBins: ParamSpec = {
  type: "int",
  default: 255,
  min: 2,
  max: 255,
  doc: "Most histogram bins per feature (missing values get one more).",
  aliases: ["max_bin"],
};

const seed: ParamSpec = {
  type: "int",
  default: 0,
  min: 0,
  max: 4_294_967_295,
  doc: "Seed of every random choice (binning sample, bootstrap, feature draws, thresholds).",
  aliases: ["random_state", "random_seed"],
};

export const DECISION_TREE_PARAMS: ParamSpecs = {
  criterion,
  max_depth: maxDepth,
  min_samples_split: minSamplesSplit,
  min_samples_leaf: minSamplesLeaf,
  max_features: maxFeatures(null),
  class_weight: {
    type: "enum",
    default: null,
    values: ["balanced"],
    nullable: true,
    doc: "balanced: weight each class by n / (classes · rows of the class); null: equal.",
  },
  max_bins: maxBins,
  seed,
};

function forestParams(bootstrap: boolean): ParamSpecs {
  return {
    n_estimators: {
      type: "int",
      default: 100,
      min: 1,
      max: 100_000,
      doc: "Trees in the forest.",
      aliases: ["num_trees", "n_trees", "ntree"],
    },
    criterion,
    max_depth: maxDepth,
    min_samples_split: minSamplesSplit,
    min_samples_leaf: minSamplesLeaf,
    max_features: maxFeatures("sqrt"),
    bootstrap: {
      type: "bool",
      default: bootstrap,
      doc: "Grow each tree on a bootstrap sample (rows drawn with replacement); false: on all rows.",
    },
    max_samples: {
      type: "number",
      default: null,
      min: 0,
      exclusiveMin: true,
      nullable: true,
      doc: "Rows drawn per bootstrap sample: a number in (0, 1] (a share) or an integer > 1 (a count); null: as many as there are rows.",
      aliases: ["subsample", "bagging_fraction", "sample_rate"],
    },
    oob_score: {
      type: "bool",
      default: false,
      doc: "Measure accuracy on the rows each tree did not see (needs bootstrap); kept in the model and its history.",
    },
    class_weight: {
      type: "enum",
      default: null,
      values: ["balanced", "balanced_subsample"],
      nullable: true,
      doc: "balanced: weight classes by n / (classes · rows of the class); balanced_subsample: the same per bootstrap sample; null: equal.",
    },
    max_bins: maxBins,
    seed,
    n_threads: N_THREADS_PARAM,
  };
}

export const RANDOM_FOREST_PARAMS: ParamSpecs = forestParams(true);
export const EXTRA_TREES_PARAMS: ParamSpecs = forestParams(false);

export const ADABOOST_PARAMS: ParamSpecs = {
  n_estimators: {
    type: "int",
    default: 50,
    min: 1,
    max: 100_000,
    doc: "Most boosting rounds (fewer when a tree fits the weighted data perfectly).",
  },
  learning_rate: {
    type: "number",
    default: 1,
    min: 0,
    exclusiveMin: true,
    doc: "Shrinks every tree's weight.",
    aliases: ["eta"],
  },
  max_depth: {
    type: "int",
    default: 1,
    min: 1,
    max: 64,
    doc: "Depth of each base tree (1: stumps).",
  },
  criterion,
  max_bins: maxBins,
  seed,
};

export interface TreeParams {
  criterion: "gini" | "entropy";
  max_depth: number | null;
  min_samples_split: number;
  min_samples_leaf: number;
  max_features: number | "sqrt" | "log2" | null;
  class_weight: "balanced" | "balanced_subsample" | null;
  max_bins: number;
  seed: number;
}

export interface ForestParams extends TreeParams {
  n_estimators: number;
  bootstrap: boolean;
  max_samples: number | null;
  oob_score: boolean;
  n_threads: number | null;
}

export interface AdaBoostParams {
  n_estimators: number;
  learning_rate: number;
  max_depth: number;
  criterion: "gini" | "entropy";
  max_bins: number;
  seed: number;
}

/** Features examined per split for `max_features` and F features (scikit-learn's rules). */
export function featuresPerSplit(maxFeatures: ForestParams["max_features"], F: number): number {
  if (maxFeatures === null) return F;
  if (maxFeatures === "sqrt") return Math.max(1, Math.floor(Math.sqrt(F)));
  if (maxFeatures === "log2") return Math.max(1, Math.floor(Math.log2(F)));
  if (maxFeatures >= 1) return Math.min(F, maxFeatures);
  return Math.max(1, Math.floor(maxFeatures * F));
}

/** Checks the numeric forms of max_features and max_samples that the specs alone cannot. */
export function checkTreeParams(kind: string, p: { max_features: unknown; max_samples?: unknown }): void {
  const bad = (param: string, value: unknown, expected: string): never => {
    throw new NetwardenError(
      "NW_LEARNER_INVALID_PARAM",
      `${kind} parameter \`${param}\` is ${value}, expected ${expected}`,
      {
        where: `${kind} params.${param}`,
        hint: `Use ${expected}`,
        details: { param, kind, value },
      },
    );
  };
  const mf = p.max_features;
  if (typeof mf === "number" && mf > 1 && !Number.isInteger(mf)) {
    bad("max_features", mf, 'an integer count ≥ 1, a share in (0, 1), "sqrt", "log2" or null');
  }
  const ms = p.max_samples;
  if (typeof ms === "number" && ms > 1 && !Number.isInteger(ms)) {
    bad("max_samples", ms, "a share in (0, 1] or an integer count > 1");
  }
}
