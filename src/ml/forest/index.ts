export { ADABOOST_KIND, AdaBoostLearner, AdaBoostModel, loadAdaBoost } from "./adaboost.js";
export { type CartData, CartGrower, type CartParams, cartLeaf, impurity } from "./cart.js";
export {
  DECISION_TREE_KIND,
  DecisionTreeLearner,
  EXTRA_TREES_KIND,
  ForestLearner,
  loadTreeModel,
  RANDOM_FOREST_KIND,
  TreeModel,
} from "./forest.js";
export {
  ADABOOST_PARAMS,
  type AdaBoostParams,
  DECISION_TREE_PARAMS,
  EXTRA_TREES_PARAMS,
  type ForestParams,
  featuresPerSplit,
  RANDOM_FOREST_PARAMS,
  type TreeParams,
} from "./params.js";
