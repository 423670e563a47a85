export {
  type PermutationImportance,
  type PermutationOptions,
  permutationImportance,
} from "./permutation.js";
export { isTreeScored, type TreeScored, type TreeScoring } from "./scoring.js";
export { type ShapTrees, shapExpectedValue, treeShap } from "./treeshap.js";
