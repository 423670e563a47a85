import { NetwardenError, netwardenVersion } from "../../core/index.js";
import { isTreeScored, type TreeScoring } from "../explain/index.js";
import { LogisticModel } from "../linear/logistic.js";
import type { FittedModel } from "../types.js";
import {
  DTYPE,
  doublesAttr,
  encodeOnnx,
  intAttr,
  intsAttr,
  ML_DOMAIN,
  type NodeProto,
  stringAttr,
  stringsAttr,
  type TensorProto,
  tensorInfo,
  utf8,
} from "./proto.js";

export interface OnnxExportOptions {
  /** Class names, written as string labels; default: the class indices 0..K-1 as int64 labels. */
  classLabels?: readonly string[];
  /** Column names, kept in the model's metadata (`netwarden.feature_names`). */
  featureNames?: readonly string[];
  /** Name of the graph input (default "X"). */
  inputName?: string;
}

/** Names of the two graph outputs, as scikit-learn's exporters name them. */
export const ONNX_OUTPUTS = { label: "label", probabilities: "probabilities" } as const;

/**
 * The model as an ONNX ModelProto. Tree ensembles become one `ai.onnx.ml` TreeEnsembleClassifier
 * (opset 3, thresholds and leaf values as double tensors, so a double input reproduces our splits
 * exactly); logistic regression becomes Gemm + Softmax in double precision (LinearClassifier only
 * takes float32 coefficients, which moved UNSW multinomial probabilities by 1.4e-6). The graph
 * takes a double tensor [N, nFeatures] and returns float `probabilities` [N, nClasses] and
 * `label`, the arg-max of those probabilities (onnxruntime's own label output of a binary
 * TreeEnsembleClassifier is not, so it is left unused).
 */
export function exportOnnx(model: FittedModel, options: OnnxExportOptions = {}): Uint8Array {
  const K = model.nClasses;
  if (options.classLabels !== undefined && options.classLabels.length !== K) {
    throw new NetwardenError(
      "NW_MODEL_EXPORT",
      `${options.classLabels.length} class labels for a model of ${K} classes`,
      { where: "ONNX export options.classLabels", hint: "Give one label per class, in class-index order" },
    );
  }
  if (options.featureNames !== undefined && options.featureNames.length !== model.nFeatures) {
    throw new NetwardenError(
      "NW_MODEL_EXPORT",
      `${options.featureNames.length} feature names for a model of ${model.nFeatures} features`,
      { where: "ONNX export options.featureNames", hint: "Give one name per model input column" },
    );
  }
  const input = options.inputName ?? "X";
  const { label, probabilities } = ONNX_OUTPUTS;
  let body: { nodes: NodeProto[]; initializer: TensorProto[] };
  if (isTreeScored(model)) body = treeGraph(model.treeScoring(), K, input, options.classLabels);
  else if (model instanceof LogisticModel) body = linearGraph(model, input);
  else {
    throw new NetwardenError("NW_MODEL_EXPORT", `a ${model.kind} model cannot be exported to ONNX`, {
      where: "ONNX export",
      hint: "ONNX export covers tree models (gbdt, forests, AdaBoost) and logreg",
      details: { kind: model.kind },
    });
  }
  const { nodes, initializer } = body;
  const argmax = options.classLabels ? "label_index" : label;
  nodes.push({
    opType: "ArgMax",
    input: [probabilities],
    output: [argmax],
    attribute: [intAttr("axis", 1), intAttr("keepdims", 0)],
  });
  if (options.classLabels) {
    initializer.push({
      name: "class_labels",
      dims: [K],
      dataType: DTYPE.STRING,
      stringData: options.classLabels.map((c) => utf8.encode(c)),
    });
    nodes.push({ opType: "Gather", input: ["class_labels", argmax], output: [label] });
  }
  const metadataProps = [{ key: "netwarden.kind", value: model.kind }];
  if (options.featureNames) {
    metadataProps.push({ key: "netwarden.feature_names", value: JSON.stringify(options.featureNames) });
  }
  return encodeOnnx({
    irVersion: 8,
    opsetImport: [
      { domain: "", version: 17 },
      { domain: ML_DOMAIN, version: 3 },
    ],
    producerName: "netwarden",
    producerVersion: netwardenVersion(),
    docString: `netwarden ${model.kind} model, ${model.nFeatures} features, ${K} classes`,
    metadataProps,
    graph: {
      name: `netwarden_${model.kind}`,
      node: nodes,
      initializer,
      input: [tensorInfo(input, DTYPE.DOUBLE, ["N", model.nFeatures])],
      output: [
        tensorInfo(label, options.classLabels ? DTYPE.STRING : DTYPE.INT64, ["N"]),
        tensorInfo(probabilities, DTYPE.FLOAT, ["N", K]),
      ],
    },
  });
}

const POST_TRANSFORM: Record<TreeScoring["link"], string> = {
  logistic: "LOGISTIC",
  softmax: "SOFTMAX",
  identity: "NONE",
};

/** One TreeEnsembleClassifier holding every tree; node ids are per-tree pre-order positions. */
function treeGraph(
  scoring: TreeScoring,
  K: number,
  input: string,
  classLabels: readonly string[] | undefined,
): { nodes: NodeProto[]; initializer: TensorProto[] } {
  const { ensemble, base, link } = scoring;
  const { feature, threshold, left, right, defaultLeft, value } = ensemble.nodes;
  const W = ensemble.leafWidth;
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: string[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missingTrue: number[] = [];
  const classTree: number[] = [];
  const classNode: number[] = [];
  const classIds: number[] = [];
  const classWeights: number[] = [];
  const weight = (t: number, id: number, k: number, w: number) => {
    classTree.push(t);
    classNode.push(id);
    classIds.push(k);
    classWeights.push(w);
  };
  // onnxruntime reads binary classifiers its own way: a lone score (class id 0) is the positive
  // class's, and with two scores it overwrites score 0 whenever base values are given. Two forms
  // come out exact: one score with the logistic link, and two scores without base values. Other
  // binary models take the second form: an identity-link single score p1 gets class 0 = −p1, and
  // the base values (1 − base for class 0) move into an extra one-leaf tree.
  const twoScores = K === 2 && link !== "logistic";
  const negate = twoScores && ensemble.nOutputs === 1;
  const local = new Map<number, number>();
  for (let t = 0; t < ensemble.roots.length; t++) {
    // Pre-order walk: a node's id is its position, so ids are known before children are written.
    const order: number[] = [];
    const stack = [ensemble.roots[t]];
    local.clear();
    while (stack.length > 0) {
      const node = stack.pop() as number;
      local.set(node, order.length);
      order.push(node);
      if (feature[node] >= 0) stack.push(right[node], left[node]);
    }
    for (const node of order) {
      const id = local.get(node) as number;
      treeIds.push(t);
      nodeIds.push(id);
      if (feature[node] < 0) {
        featureIds.push(0);
        modes.push("LEAF");
        values.push(0);
        trueIds.push(0);
        falseIds.push(0);
        missingTrue.push(0);
        if (W > 1) for (let k = 0; k < W; k++) weight(t, id, k, value[node * W + k]);
        else if (negate) {
          weight(t, id, 0, -value[node]);
          weight(t, id, 1, value[node]);
        } else weight(t, id, ensemble.treeOutput[t], value[node]);
      } else {
        featureIds.push(feature[node]);
        modes.push("BRANCH_LEQ");
        values.push(threshold[node]);
        trueIds.push(local.get(left[node]) as number);
        falseIds.push(local.get(right[node]) as number);
        missingTrue.push(defaultLeft[node] ? 1 : 0);
      }
    }
  }
  if (twoScores) {
    const t = ensemble.roots.length;
    treeIds.push(t);
    nodeIds.push(0);
    featureIds.push(0);
    modes.push("LEAF");
    values.push(0);
    trueIds.push(0);
    falseIds.push(0);
    missingTrue.push(0);
    weight(t, 0, 0, negate ? 1 - base[0] : base[0]);
    weight(t, 0, 1, negate ? base[0] : base[1]);
  }
  if (link === "logistic" && (ensemble.nOutputs !== 1 || K !== 2)) {
    throw new NetwardenError("NW_INTERNAL", "a logistic tree model must have one output and two classes", {
      hint: "This is a bug in netwarden; please report it",
    });
  }
  const trees: NodeProto = {
    opType: "TreeEnsembleClassifier",
    domain: ML_DOMAIN,
    name: "trees",
    input: [input],
    output: ["tree_label", ONNX_OUTPUTS.probabilities],
    attribute: [
      intsAttr("nodes_treeids", treeIds),
      intsAttr("nodes_nodeids", nodeIds),
      intsAttr("nodes_featureids", featureIds),
      stringsAttr("nodes_modes", modes),
      doublesAttr("nodes_values_as_tensor", values),
      intsAttr("nodes_truenodeids", trueIds),
      intsAttr("nodes_falsenodeids", falseIds),
      intsAttr("nodes_missing_value_tracks_true", missingTrue),
      intsAttr("class_treeids", classTree),
      intsAttr("class_nodeids", classNode),
      intsAttr("class_ids", classIds),
      doublesAttr("class_weights_as_tensor", classWeights),
      ...(twoScores ? [] : [doublesAttr("base_values_as_tensor", base)]),
      // Labels are written for importers; the graph's label output comes from ArgMax.
      classLabels
        ? stringsAttr("classlabels_strings", classLabels)
        : intsAttr(
            "classlabels_int64s",
            Array.from({ length: K }, (_, k) => k),
          ),
      stringAttr("post_transform", POST_TRANSFORM[link]),
    ],
  };
  return { nodes: [trees], initializer: [] };
}

/**
 * Scores X·Wᵀ + b in double, then softmax. A binary model's single score z becomes the pair
 * (−z/2, z/2), whose softmax is (1 − σ(z), σ(z)): halving is exact, so p1 is σ(z) as we compute it.
 */
function linearGraph(
  model: LogisticModel,
  input: string,
): { nodes: NodeProto[]; initializer: TensorProto[] } {
  const d = model.nFeatures;
  let W = model.coef;
  let b = model.intercept;
  if (model.nClasses === 2) {
    W = new Float64Array(2 * d);
    for (let j = 0; j < d; j++) {
      W[j] = -model.coef[j] / 2;
      W[d + j] = model.coef[j] / 2;
    }
    b = Float64Array.of(-model.intercept[0] / 2, model.intercept[0] / 2);
  }
  const rows = b.length;
  return {
    initializer: [
      { name: "coefficients", dims: [rows, d], dataType: DTYPE.DOUBLE, doubleData: Array.from(W) },
      { name: "intercepts", dims: [rows], dataType: DTYPE.DOUBLE, doubleData: Array.from(b) },
    ],
    nodes: [
      {
        opType: "Gemm",
        input: [input, "coefficients", "intercepts"],
        output: ["scores"],
        attribute: [intAttr("transB", 1)],
      },
      {
        opType: "Softmax",
        input: ["scores"],
        output: ["probabilities_double"],
        attribute: [intAttr("axis", 1)],
      },
      {
        opType: "Cast",
        input: ["probabilities_double"],
        output: [ONNX_OUTPUTS.probabilities],
        attribute: [intAttr("to", DTYPE.FLOAT)],
      },
    ],
  };
}
