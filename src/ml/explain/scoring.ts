import type { TreeEnsemble } from "../tree/ensemble.js";

/**
 * How a tree model turns its ensemble into probabilities:
 * proba = link(ensemble.predictRaw(X, base)). TreeSHAP explains the raw scores, ONNX export
 * writes the trees and the link as the operator's post-transform.
 * - logistic: one output, the positive class's log-odds (binary models);
 * - softmax: one output per class, multinomial margins;
 * - identity: the raw scores are the class probabilities (forests averaging leaf distributions).
 */
export interface TreeScoring {
  readonly ensemble: TreeEnsemble;
  readonly base: Float64Array;
  readonly link: "logistic" | "softmax" | "identity";
}

/** A fitted model whose scores come from a TreeEnsemble (gbdt, forests, AdaBoost, imported trees). */
export interface TreeScored {
  treeScoring(): TreeScoring;
}

export function isTreeScored(model: unknown): model is TreeScored {
  return (
    typeof model === "object" &&
    model !== null &&
    typeof (model as Partial<TreeScored>).treeScoring === "function"
  );
}
