import { NetwardenError } from "../../core/index.js";
import type { TreeScored, TreeScoring } from "../explain/index.js";
import { checkPredictInput } from "../input.js";
import { argmaxRows } from "../metrics.js";
import { TreeEnsemble } from "../tree/ensemble.js";
import type { FittedModel, Matrix, SerializedModel } from "../types.js";

/** Kind of a tree ensemble trained elsewhere and imported from ONNX. */
export const ONNX_TREE_KIND = "onnx_tree_ensemble";

export type TreeLink = TreeScoring["link"];

/** Where an imported model came from, kept for lineage. */
export interface OnnxSource {
  producer: string;
  producerVersion: string;
  /** The operator the trees were read from. */
  op: string;
}

export interface OnnxTreeModelInit {
  nFeatures: number;
  nClasses: number;
  featureNames?: string[];
  /** Labels as the ONNX model names its classes (class index k has label classLabels[k]). */
  classLabels: (string | number)[];
  ensemble: TreeEnsemble;
  base: Float64Array;
  link: TreeLink;
  /**
   * The element type the ONNX graph takes. With "float", inputs are rounded to float32 before the
   * trees are walked, as onnxruntime does, so splits land on the same side.
   */
  inputType: "float" | "double";
  source: OnnxSource;
}

interface OnnxTreeState {
  classLabels: (string | number)[];
  base: number[];
  link: TreeLink;
  inputType: "float" | "double";
  source: OnnxSource;
  trees: unknown;
}

/**
 * A fitted model read from an ONNX tree ensemble: it predicts, serialises and serves like any
 * netwarden model (proba = link(Σ leaves + base); a binary model with one score gives p1 and
 * p0 = 1 − p1). ONNX files carry no node covers, so there is no TreeSHAP for these models.
 */
export class OnnxTreeModel implements FittedModel, TreeScored {
  readonly kind = ONNX_TREE_KIND;
  readonly nFeatures: number;
  readonly nClasses: number;
  readonly classLabels: readonly (string | number)[];
  readonly ensemble: TreeEnsemble;
  readonly inputType: "float" | "double";
  readonly source: OnnxSource;
  private readonly init: OnnxTreeModelInit;

  constructor(init: OnnxTreeModelInit) {
    this.init = init;
    this.nFeatures = init.nFeatures;
    this.nClasses = init.nClasses;
    this.classLabels = init.classLabels;
    this.ensemble = init.ensemble;
    this.inputType = init.inputType;
    this.source = init.source;
  }

  /** Raw scores, row-major nRows × nOutputs (before the link). */
  predictRaw(X: Matrix): Float64Array {
    checkPredictInput(ONNX_TREE_KIND, X, this.nFeatures);
    const input =
      this.inputType === "float" && !(X.data instanceof Float32Array)
        ? { ...X, data: Float32Array.from(X.data) }
        : X;
    return this.ensemble.predictRaw(input, this.init.base);
  }

  predictProba(X: Matrix): Float64Array {
    const raw = this.predictRaw(X);
    const n = X.nRows;
    const K = this.nClasses;
    const nOut = this.ensemble.nOutputs;
    const out = new Float64Array(n * K);
    const { link } = this.init;
    if (nOut === 1) {
      for (let i = 0; i < n; i++) {
        const p = link === "logistic" ? 1 / (1 + Math.exp(-raw[i])) : raw[i];
        out[2 * i] = 1 - p;
        out[2 * i + 1] = p;
      }
      return out;
    }
    if (link === "identity") return raw;
    for (let i = 0; i < n; i++) {
      const o = i * K;
      let max = raw[o];
      for (let k = 1; k < K; k++) if (raw[o + k] > max) max = raw[o + k];
      let sum = 0;
      for (let k = 0; k < K; k++) sum += out[o + k] = Math.exp(raw[o + k] - max);
      for (let k = 0; k < K; k++) out[o + k] /= sum;
    }
    return out;
  }

  predict(X: Matrix): Int32Array {
    return argmaxRows(this.predictProba(X), this.nClasses);
  }

  /** Split count per feature, normalised to sum to 1 (ONNX keeps no split gains). */
  featureImportance(): Float64Array {
    const imp = new Float64Array(this.nFeatures);
    const f = this.ensemble.nodes.feature;
    let total = 0;
    for (let i = 0; i < f.length; i++) {
      if (f[i] >= 0) {
        imp[f[i]]++;
        total++;
      }
    }
    if (total > 0) for (let j = 0; j < imp.length; j++) imp[j] /= total;
    return imp;
  }

  treeScoring(): TreeScoring {
    return { ensemble: this.ensemble, base: this.init.base, link: this.init.link };
  }

  toJSON(): SerializedModel {
    const state: OnnxTreeState = {
      classLabels: [...this.classLabels],
      base: Array.from(this.init.base),
      link: this.init.link,
      inputType: this.inputType,
      source: { ...this.source },
      trees: this.ensemble.toJSON(),
    };
    return {
      format: "netwarden.model/v1",
      kind: ONNX_TREE_KIND,
      params: {},
      nFeatures: this.nFeatures,
      nClasses: this.nClasses,
      ...(this.init.featureNames ? { featureNames: [...this.init.featureNames] } : {}),
      state,
    };
  }
}

/** Rebuilds an imported model from `toJSON()` output; the envelope is checked by the registry. */
export function loadOnnxTreeModel(json: SerializedModel): OnnxTreeModel {
  const bad = (what: string): never => {
    throw new NetwardenError("NW_MODEL_FORMAT", `${ONNX_TREE_KIND} model: ${what}`, {
      where: "model state",
      hint: "The model file is damaged or was not written by netwarden; import the ONNX file again",
    });
  };
  const s = json.state as Partial<OnnxTreeState> | null;
  if (!s || typeof s !== "object") return bad("state is missing");
  const K = json.nClasses;
  const labels = s.classLabels;
  if (
    !Array.isArray(labels) ||
    labels.length !== K ||
    !labels.every((l) => typeof l === "string" || Number.isInteger(l))
  ) {
    bad(`classLabels must be ${K} strings or integers`);
  }
  if (s.link !== "logistic" && s.link !== "softmax" && s.link !== "identity")
    bad("link is not logistic, softmax or identity");
  if (s.inputType !== "float" && s.inputType !== "double") bad("inputType is not float or double");
  const src = s.source as Partial<OnnxSource> | undefined;
  if (
    !src ||
    typeof src.producer !== "string" ||
    typeof src.producerVersion !== "string" ||
    typeof src.op !== "string"
  ) {
    bad("source is missing");
  }
  const ensemble = TreeEnsemble.fromJSON(s.trees, json.nFeatures);
  const nOut = ensemble.nOutputs;
  if (!(nOut === K || (K === 2 && nOut === 1))) bad(`trees have ${nOut} outputs for ${K} classes`);
  if (s.link === "logistic" && nOut !== 1) bad("the logistic link needs one output");
  const base = s.base;
  if (!Array.isArray(base) || base.length !== nOut || !base.every(Number.isFinite))
    bad(`base must be ${nOut} finite numbers`);
  return new OnnxTreeModel({
    nFeatures: json.nFeatures,
    nClasses: K,
    featureNames: json.featureNames ? [...json.featureNames] : undefined,
    classLabels: [...(labels as (string | number)[])],
    ensemble,
    base: Float64Array.from(base as number[]),
    link: s.link as TreeLink,
    inputType: s.inputType as "float" | "double",
    source: { ...(src as OnnxSource) },
  });
}
