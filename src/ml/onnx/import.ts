import { NetwardenError } from "../../core/index.js";
import { allocNodes, EnsembleBuilder } from "../tree/ensemble.js";
import { type OnnxSource, OnnxTreeModel, type TreeLink } from "./model.js";
import {
  type AttributeProto,
  attrInts,
  attrNumbers,
  attrString,
  attrStrings,
  DTYPE,
  decodeOnnx,
  ML_DOMAIN,
  toNumber,
} from "./proto.js";

export interface OnnxImportOptions {
  /** Shown in error messages (e.g. the file name). */
  where?: string;
}

/** Operators allowed around the tree ensemble: they only rename, cast or re-shape its outputs. */
const POST_OPS = new Set(["Identity", "Cast", "ZipMap", "ArgMax", "Gather"]);

/** Attributes of TreeEnsembleClassifier (ai.onnx.ml opsets 1–3) that the import understands. */
const KNOWN_ATTRS = new Set([
  "nodes_treeids",
  "nodes_nodeids",
  "nodes_featureids",
  "nodes_modes",
  "nodes_values",
  "nodes_values_as_tensor",
  "nodes_hitrates",
  "nodes_hitrates_as_tensor",
  "nodes_truenodeids",
  "nodes_falsenodeids",
  "nodes_missing_value_tracks_true",
  "class_treeids",
  "class_nodeids",
  "class_ids",
  "class_weights",
  "class_weights_as_tensor",
  "classlabels_int64s",
  "classlabels_strings",
  "post_transform",
  "base_values",
  "base_values_as_tensor",
]);

const POST_TRANSFORMS: Record<string, TreeLink | undefined> = {
  NONE: "identity",
  LOGISTIC: "logistic",
  SOFTMAX: "softmax",
};

/**
 * Reads an ONNX classifier made of one `ai.onnx.ml` TreeEnsembleClassifier (as scikit-learn's
 * skl2onnx, onnxmltools for XGBoost / LightGBM, and netwarden's own export write it; ZipMap,
 * Cast and Identity after it are fine) into a fitted netwarden model that predicts what
 * onnxruntime predicts. Anything else (other operators, BRANCH_EQ splits, PROBIT transforms, ...)
 * is refused with NW_MODEL_FORMAT naming what is not supported.
 */
export function importOnnx(bytes: Uint8Array, options: OnnxImportOptions = {}): OnnxTreeModel {
  const where = options.where ?? "ONNX model";
  const fail = (what: string, hint = "netwarden imports ONNX tree-ensemble classifiers only"): never => {
    throw new NetwardenError("NW_MODEL_FORMAT", `cannot import ONNX model: ${what}`, { where, hint });
  };
  if (!(bytes instanceof Uint8Array) || bytes.length === 0)
    fail("no bytes", "Pass the content of an .onnx file");
  const model = decodeOnnx(bytes, where);
  const graph = model.graph;
  if (!graph) return fail("the model has no graph");
  const nodes = graph.node ?? [];
  const trees = nodes.filter((n) => n.opType === "TreeEnsembleClassifier" && (n.domain ?? "") === ML_DOMAIN);
  for (const n of nodes) {
    if (trees.includes(n) || POST_OPS.has(n.opType ?? "")) continue;
    const domain = n.domain ? ` (${n.domain})` : "";
    fail(
      `unsupported operator \`${n.opType}\`${domain}`,
      "Export the tree ensemble alone: preprocessing belongs in netwarden's preprocessor, not in the ONNX graph",
    );
  }
  if (trees.length !== 1) fail(`expected one TreeEnsembleClassifier, found ${trees.length}`);
  const node = trees[0];
  const inputs = graph.input ?? [];
  const input = inputs.find((i) => i.name === node.input?.[0]);
  if (!input) return fail("the TreeEnsembleClassifier does not read a graph input directly");
  const tensor = input.type?.tensorType;
  const elem = tensor?.elemType;
  if (elem !== DTYPE.FLOAT && elem !== DTYPE.DOUBLE) {
    fail(`input \`${input.name}\` has element type ${elem}, only float and double are supported`);
  }
  const inputType = elem === DTYPE.DOUBLE ? "double" : "float";
  const dims = tensor?.shape?.dim ?? [];
  const declared = dims.length === 2 && dims[1].dimValue ? toNumber(dims[1].dimValue) : 0;

  const attrs = new Map<string, AttributeProto>();
  for (const a of node.attribute ?? []) {
    if (!KNOWN_ATTRS.has(a.name ?? "")) fail(`unsupported TreeEnsembleClassifier attribute \`${a.name}\``);
    attrs.set(a.name as string, a);
  }
  const ints = (name: string, required = true): number[] => {
    const a = attrs.get(name);
    if (!a) return required ? fail(`attribute \`${name}\` is missing`) : [];
    return attrInts(a);
  };
  const numbers = (name: string): number[] | undefined => {
    const a = attrs.get(`${name}_as_tensor`) ?? attrs.get(name);
    if (!a) return undefined;
    const v = attrNumbers(a);
    if (v === undefined) fail(`attribute \`${a.name}\` is not a float or double list`);
    return v;
  };

  const labelsInt = attrs.get("classlabels_int64s");
  const labelsStr = attrs.get("classlabels_strings");
  const classLabels: (string | number)[] = labelsStr
    ? attrStrings(labelsStr)
    : labelsInt
      ? attrInts(labelsInt)
      : fail("the model names no class labels");
  const K = classLabels.length;
  if (K < 2) fail(`the model has ${K} class label(s), a classifier needs ≥ 2`);

  const postName = attrs.has("post_transform")
    ? attrString(attrs.get("post_transform") as AttributeProto)
    : "NONE";
  const link = POST_TRANSFORMS[postName];
  if (!link) fail(`unsupported post_transform \`${postName}\``, "Supported: NONE, LOGISTIC, SOFTMAX");

  const treeIds = ints("nodes_treeids");
  const nodeIds = ints("nodes_nodeids");
  const featureIds = ints("nodes_featureids");
  const modesAttr = attrs.get("nodes_modes");
  const modes = modesAttr ? attrStrings(modesAttr) : fail("attribute `nodes_modes` is missing");
  const thresholds = numbers("nodes_values") ?? fail("attribute `nodes_values` is missing");
  const trueIds = ints("nodes_truenodeids");
  const falseIds = ints("nodes_falsenodeids");
  const missingTrue = ints("nodes_missing_value_tracks_true", false);
  const m = treeIds.length;
  for (const [name, a] of Object.entries({ nodeIds, featureIds, modes, thresholds, trueIds, falseIds })) {
    if (a.length !== m) fail(`\`${name}\` has ${a.length} entries, nodes_treeids has ${m}`);
  }
  if (missingTrue.length !== 0 && missingTrue.length !== m)
    fail("`nodes_missing_value_tracks_true` has the wrong length");
  const cTree = ints("class_treeids");
  const cNode = ints("class_nodeids");
  const cIds = ints("class_ids");
  const cWeights = numbers("class_weights") ?? fail("attribute `class_weights` is missing");
  if (cNode.length !== cTree.length || cIds.length !== cTree.length || cWeights.length !== cTree.length) {
    fail("class_treeids, class_nodeids, class_ids and class_weights differ in length");
  }
  const baseValues = numbers("base_values") ?? [];

  // Which scores the model keeps: onnxruntime treats a binary model whose weights all go to
  // class id 0 as one score for the positive class.
  const used = new Set(cIds);
  for (const c of used)
    if (!(Number.isInteger(c) && c >= 0 && c < K)) fail(`class id ${c} is outside 0..${K - 1}`);
  const single = K === 2 && !used.has(1);
  const nOut = single ? 1 : K;
  if (K === 2) {
    if (!single && !used.has(0)) fail("a binary model whose weights all go to class 1 is not supported");
    if (single && link === "softmax") fail("a single-score binary model with SOFTMAX is not supported");
    if (!single && link === "logistic") fail("a two-score binary model with LOGISTIC is not supported");
    if (single ? baseValues.length > 1 : baseValues.length > 0) {
      fail(`${baseValues.length} base values for a binary model with ${nOut} score(s) are not supported`);
    }
  } else {
    if (link === "logistic")
      fail("LOGISTIC on a multi-class model is not supported", "Supported: NONE, SOFTMAX");
    if (baseValues.length !== 0 && baseValues.length !== K)
      fail(`${baseValues.length} base values for ${K} classes`);
  }
  const base = new Float64Array(nOut);
  base.set(baseValues.slice(0, nOut));

  // Group nodes by tree; find each tree's leaf weights.
  const byTree = new Map<number, Map<number, number>>();
  for (let i = 0; i < m; i++) {
    let t = byTree.get(treeIds[i]);
    if (!t) byTree.set(treeIds[i], (t = new Map()));
    if (t.has(nodeIds[i])) fail(`tree ${treeIds[i]} has node id ${nodeIds[i]} twice`);
    t.set(nodeIds[i], i);
  }
  const weights = new Map<number, [number, number][]>();
  const treeClasses = new Map<number, Set<number>>();
  for (let q = 0; q < cTree.length; q++) {
    const i = byTree.get(cTree[q])?.get(cNode[q]);
    if (i === undefined) fail(`class weight ${q} refers to a missing node ${cTree[q]}/${cNode[q]}`);
    const list = weights.get(i as number) ?? [];
    list.push([cIds[q], cWeights[q]]);
    weights.set(i as number, list);
    const set = treeClasses.get(cTree[q]) ?? new Set();
    set.add(cIds[q]);
    treeClasses.set(cTree[q], set);
  }
  // Scalar leaves when every tree feeds one score (boosting), vector leaves otherwise (forests).
  const vector = nOut > 1 && [...treeClasses.values()].some((s) => s.size > 1);
  const W = vector ? nOut : 1;

  let nFeatures = declared;
  for (let i = 0; i < m; i++) {
    if (modes[i] !== "LEAF" && !(Number.isInteger(featureIds[i]) && featureIds[i] >= 0))
      fail(`node ${i} has feature ${featureIds[i]}`);
    if (modes[i] !== "LEAF" && !declared) nFeatures = Math.max(nFeatures, featureIds[i] + 1);
    if (modes[i] !== "LEAF" && featureIds[i] >= nFeatures) {
      fail(`node ${i} splits on feature ${featureIds[i]}, the input has ${nFeatures} columns`);
    }
  }
  if (nFeatures < 1) fail("cannot tell the number of input columns");

  const prev = inputType === "float" ? prevFloat32 : prevFloat64;
  const builder = new EnsembleBuilder(nOut, W);
  const treeKeys = [...byTree.keys()].sort((a, b) => a - b);
  for (const t of treeKeys) {
    const tree = byTree.get(t) as Map<number, number>;
    const children = new Set<number>();
    for (const i of tree.values()) {
      if (modes[i] !== "LEAF") {
        children.add(trueIds[i]);
        children.add(falseIds[i]);
      }
    }
    const roots = [...tree.keys()].filter((id) => !children.has(id));
    if (roots.length !== 1) fail(`tree ${t} has ${roots.length} roots`);
    const out = allocNodes(tree.size, W);
    // Breadth-first placement: the two children of a node take adjacent slots after it.
    const queue: [number, number][] = [[roots[0], 0]];
    let next = 1;
    for (let head = 0; head < queue.length; head++) {
      const [id, slot] = queue[head];
      const i = tree.get(id);
      if (i === undefined) return fail(`tree ${t} refers to a missing node ${id}`);
      const mode = modes[i];
      if (mode === "LEAF") {
        out.feature[slot] = -1;
        for (const [c, w] of weights.get(i) ?? []) out.value[slot * W + (W === 1 ? 0 : c)] += w;
        continue;
      }
      const tracks = missingTrue.length ? missingTrue[i] === 1 : false;
      const th = thresholds[i];
      // Everything becomes "x ≤ threshold goes left".
      let threshold: number;
      let leftIsTrue: boolean;
      if (mode === "BRANCH_LEQ") [threshold, leftIsTrue] = [th, true];
      else if (mode === "BRANCH_LT") [threshold, leftIsTrue] = [prev(th), true];
      else if (mode === "BRANCH_GT") [threshold, leftIsTrue] = [th, false];
      else if (mode === "BRANCH_GTE") [threshold, leftIsTrue] = [prev(th), false];
      else
        return fail(
          `unsupported node mode \`${mode}\` in tree ${t}`,
          "Supported: BRANCH_LEQ, BRANCH_LT, BRANCH_GTE, BRANCH_GT, LEAF",
        );
      if (!(Number.isFinite(threshold) || threshold === Number.POSITIVE_INFINITY))
        fail(`tree ${t} has threshold ${th}`);
      if (next + 2 > tree.size) fail(`tree ${t} is not a tree (a node is reached twice)`);
      out.feature[slot] = featureIds[i];
      out.threshold[slot] = threshold;
      out.defaultLeft[slot] = tracks === leftIsTrue ? 1 : 0;
      out.left[slot] = next;
      out.right[slot] = next + 1;
      queue.push(
        [leftIsTrue ? trueIds[i] : falseIds[i], next],
        [leftIsTrue ? falseIds[i] : trueIds[i], next + 1],
      );
      next += 2;
    }
    if (queue.length !== tree.size) fail(`tree ${t} has ${tree.size - queue.length} unreachable nodes`);
    const output = W === 1 ? ([...(treeClasses.get(t) ?? [0])][0] ?? 0) : 0;
    builder.add(out, queue.length, single ? 0 : output);
  }
  const featureNames = readFeatureNames(model.metadataProps ?? [], nFeatures);
  const source: OnnxSource = {
    producer: model.producerName ?? "",
    producerVersion: model.producerVersion ?? "",
    op: `${ML_DOMAIN}.TreeEnsembleClassifier`,
  };
  return new OnnxTreeModel({
    nFeatures,
    nClasses: K,
    featureNames,
    classLabels,
    ensemble: builder.build(),
    base,
    link: link as TreeLink,
    inputType,
    source,
  });
}

/** Feature names netwarden's export keeps in the metadata, when they fit the input. */
function readFeatureNames(
  props: { key?: string | null; value?: string | null }[],
  n: number,
): string[] | undefined {
  const entry = props.find((p) => p.key === "netwarden.feature_names");
  if (!entry?.value) return undefined;
  try {
    const names = JSON.parse(entry.value) as unknown;
    if (Array.isArray(names) && names.length === n && names.every((s) => typeof s === "string")) return names;
  } catch {
    // metadata is advisory: a model without readable names still imports
  }
  return undefined;
}

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);
const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);

/** Largest float32 below t: for float32 x, x < t ⟺ x ≤ prevFloat32(t). */
export function prevFloat32(t: number): number {
  f32[0] = t;
  if (f32[0] === 0) return -(2 ** -149);
  if (!Number.isFinite(f32[0])) return f32[0] > 0 ? 3.4028234663852886e38 : Number.NEGATIVE_INFINITY;
  i32[0] += f32[0] > 0 ? -1 : 1;
  return f32[0];
}

/** Largest double below t. */
export function prevFloat64(t: number): number {
  if (t === 0) return -Number.MIN_VALUE;
  if (!Number.isFinite(t)) return t > 0 ? Number.MAX_VALUE : Number.NEGATIVE_INFINITY;
  f64[0] = t;
  i64[0] += t > 0 ? -1n : 1n;
  return f64[0];
}
