import { NetwardenError } from "../core/index.js";
import {
  ADABOOST_KIND,
  ADABOOST_PARAMS,
  AdaBoostLearner,
  DECISION_TREE_KIND,
  DECISION_TREE_PARAMS,
  DecisionTreeLearner,
  EXTRA_TREES_KIND,
  EXTRA_TREES_PARAMS,
  ForestLearner,
  loadAdaBoost,
  loadTreeModel,
  RANDOM_FOREST_KIND,
  RANDOM_FOREST_PARAMS,
} from "./forest/index.js";
import { GBDT_KIND, GbdtLearner, loadGbdt } from "./gbdt/gbdt.js";
import { GBDT_PARAMS } from "./gbdt/params.js";
import { KNN_KIND, KNN_PARAMS, KnnLearner, loadKnn } from "./knn/knn.js";
import { LOGREG_KIND, LOGREG_PARAMS, LogisticLearner, loadLogistic } from "./linear/logistic.js";
import { loadOnnxTreeModel, ONNX_TREE_KIND } from "./onnx/model.js";
import { editDistance, type ParamSpecs } from "./params.js";
import type { FittedModel, Learner, SerializedModel } from "./types.js";

interface LearnerEntry {
  /** One line for docs and `--help`. */
  summary: string;
  params: ParamSpecs;
  create(params: Readonly<Record<string, unknown>>): Learner;
  load(json: SerializedModel): FittedModel;
}

const LEARNERS: Readonly<Record<string, LearnerEntry>> = {
  [GBDT_KIND]: {
    summary: "Histogram gradient-boosted trees (XGBoost/LightGBM-style), binary and multi-class.",
    params: GBDT_PARAMS,
    create: (p) => new GbdtLearner(p),
    load: loadGbdt,
  },
  [LOGREG_KIND]: {
    summary: "L2-penalised logistic regression (L-BFGS), binary and multinomial; expects scaled inputs.",
    params: LOGREG_PARAMS,
    create: (p) => new LogisticLearner(p),
    load: loadLogistic,
  },
  [KNN_KIND]: {
    summary: "k-nearest neighbours (exact search), uniform or distance votes; expects scaled inputs.",
    params: KNN_PARAMS,
    create: (p) => new KnnLearner(p),
    load: loadKnn,
  },
  [DECISION_TREE_KIND]: {
    summary: "CART decision tree (Gini or entropy) on binned features; leaves hold class distributions.",
    params: DECISION_TREE_PARAMS,
    create: (p) => new DecisionTreeLearner(p),
    load: loadTreeModel,
  },
  [RANDOM_FOREST_KIND]: {
    summary: "Random forest: bootstrap samples, random features per split, out-of-bag score; multi-threaded.",
    params: RANDOM_FOREST_PARAMS,
    create: (p) => new ForestLearner(RANDOM_FOREST_KIND, p),
    load: loadTreeModel,
  },
  [EXTRA_TREES_KIND]: {
    summary: "Extremely randomised trees: random thresholds on random features; multi-threaded.",
    params: EXTRA_TREES_PARAMS,
    create: (p) => new ForestLearner(EXTRA_TREES_KIND, p),
    load: loadTreeModel,
  },
  [ADABOOST_KIND]: {
    summary: "AdaBoost (SAMME, multi-class) over shallow decision trees.",
    params: ADABOOST_PARAMS,
    create: (p) => new AdaBoostLearner(p),
    load: loadAdaBoost,
  },
};

/** Kinds that are loaded but never trained here (models imported from other tools). */
const LOAD_ONLY: Readonly<Record<string, (json: SerializedModel) => FittedModel>> = {
  [ONNX_TREE_KIND]: loadOnnxTreeModel,
};

/** Every model kind `createLearner` knows, in a stable order. */
export function learnerKinds(): string[] {
  return Object.keys(LEARNERS).sort();
}

/** One-line description of a kind. */
export function learnerSummary(kind: string): string {
  return entry(kind).summary;
}

/** The hyper-parameter specs of a kind (for JSON Schema and docs). */
export function paramSpecs(kind: string): ParamSpecs {
  return entry(kind).params;
}

/** A learner of the given kind with validated parameters (defaults filled in). */
export function createLearner(kind: string, params: Readonly<Record<string, unknown>> = {}): Learner {
  return entry(kind).create(params);
}

function entry(kind: string): LearnerEntry {
  if (typeof kind === "string" && Object.hasOwn(LEARNERS, kind)) return LEARNERS[kind];
  const known = learnerKinds();
  const near = known.find((k) => typeof kind === "string" && editDistance(k, kind.toLowerCase()) <= 2);
  throw new NetwardenError("NW_LEARNER_UNKNOWN", `unknown model kind \`${String(kind)}\``, {
    where: "model kind",
    hint: near
      ? `Did you mean \`${near}\`? Known kinds: ${known.join(", ")}`
      : `Known kinds: ${known.join(", ")}`,
    details: { kind, known },
  });
}

/**
 * A fitted model from its `toJSON()` form. Anything malformed (wrong format tag, unknown kind,
 * bad shapes, damaged state) throws NW_MODEL_FORMAT, never a crash later at prediction time.
 */
export function loadModel(json: SerializedModel): FittedModel {
  const bad = (what: string, hint = "The model file is damaged or was not written by netwarden"): never => {
    throw new NetwardenError("NW_MODEL_FORMAT", `cannot read model: ${what}`, { where: "model", hint });
  };
  if (!json || typeof json !== "object" || Array.isArray(json)) return bad("not a JSON object");
  if (json.format !== "netwarden.model/v1") {
    bad(
      `format is ${JSON.stringify(json.format)}, expected "netwarden.model/v1"`,
      "Use a netwarden version that wrote this model",
    );
  }
  if (
    typeof json.kind !== "string" ||
    !(Object.hasOwn(LEARNERS, json.kind) || Object.hasOwn(LOAD_ONLY, json.kind))
  ) {
    bad(`unknown kind ${JSON.stringify(json.kind)}`, `Known kinds: ${learnerKinds().join(", ")}`);
  }
  if (!Number.isInteger(json.nFeatures) || json.nFeatures < 1) bad("nFeatures is not a positive integer");
  if (!Number.isInteger(json.nClasses) || json.nClasses < 2) bad("nClasses is not an integer ≥ 2");
  if (!json.params || typeof json.params !== "object" || Array.isArray(json.params))
    bad("params is not an object");
  if (
    json.featureNames !== undefined &&
    (!Array.isArray(json.featureNames) ||
      json.featureNames.length !== json.nFeatures ||
      !json.featureNames.every((n) => typeof n === "string"))
  ) {
    bad("featureNames must be one string per feature");
  }
  if (Object.hasOwn(LOAD_ONLY, json.kind)) return LOAD_ONLY[json.kind](json);
  return LEARNERS[json.kind].load(json);
}
