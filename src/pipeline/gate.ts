import type { PipelineConfig } from "../config/index.js";
import { greaterIsBetter, type MetricName, score } from "../ml/index.js";
import type { ArtifactStore, MetadataStore } from "../store/index.js";
import { type Bundle, decodeBundle } from "./bundle.js";
import { positiveIndex } from "./fit.js";
import type { Dataset } from "./ingest.js";

export interface GateResult {
  passed: boolean;
  metric: string;
  value: number;
  /** Why it passed or failed, one sentence per rule. */
  reasons: string[];
  floor: number | null;
  champion?: {
    alias: string;
    version: number;
    value: number;
    /** "same-test-split": scored now on this run's test rows; "recorded": its own registered metric. */
    basis: "same-test-split" | "recorded";
  };
}

/**
 * Accepts the candidate only if its test metric clears the configured floor and is not worse than
 * the model behind `compare_alias` by more than `max_regression`. The champion is scored on this
 * run's test split whenever its bundle accepts the same inputs and classes, so the two numbers
 * are comparable; otherwise its recorded metric is used and the reason says so.
 */
export async function runGate(
  config: PipelineConfig,
  ds: Dataset,
  candidateProba: Float64Array,
  stores: { metadata: MetadataStore; artifacts: ArtifactStore },
  modelName: string,
): Promise<GateResult> {
  const g = config.gate;
  const metric = g.metric as MetricName;
  const up = greaterIsBetter(metric);
  const K = ds.classes.length;
  const pos = positiveIndex(config, ds.classes);
  const value = score(metric, ds.yTest, candidateProba, K, { positiveClass: pos });
  const reasons: string[] = [];
  let passed = true;
  const f = (x: number) => x.toFixed(4);

  if (g.min !== null) {
    const ok = up ? value >= g.min : value <= g.min;
    passed &&= ok;
    reasons.push(
      `${metric} ${f(value)} ${ok ? "clears" : "misses"} the ${up ? "floor" : "ceiling"} ${f(g.min)}`,
    );
  }

  let champion: GateResult["champion"];
  if (g.compare_alias !== null) {
    const current = await existingAlias(stores.metadata, modelName, g.compare_alias);
    if (!current) {
      reasons.push(`no model is at @${g.compare_alias} yet, so there is nothing to compare with`);
    } else {
      let champValue: number | undefined;
      let basis: "same-test-split" | "recorded" = "recorded";
      const bundle = await loadComparable(stores.artifacts, current.bundleHash, ds);
      if (bundle) {
        champValue = score(metric, ds.yTest, bundle.predictProba(ds.test), K, { positiveClass: pos });
        basis = "same-test-split";
      } else if (current.metrics[`test.${metric}`] !== undefined) {
        champValue = current.metrics[`test.${metric}`];
      }
      if (champValue === undefined) {
        reasons.push(`@${g.compare_alias} (v${current.version}) has no ${metric} to compare with`);
      } else {
        champion = { alias: g.compare_alias, version: current.version, value: champValue, basis };
        const delta = up ? champValue - value : value - champValue; // > 0: candidate is worse
        const ok = delta <= g.max_regression + 1e-12;
        passed &&= ok;
        const how = basis === "same-test-split" ? "on the same test rows" : "as recorded (its inputs differ)";
        reasons.push(
          `${metric} ${f(value)} vs @${g.compare_alias} v${current.version} ${f(champValue)} ${how}: ` +
            (ok
              ? `within the allowed regression of ${f(g.max_regression)}`
              : `worse by ${f(delta)}, more than the allowed ${f(g.max_regression)}`),
        );
      }
    }
  }
  return { passed, metric, value, reasons, floor: g.min, ...(champion ? { champion } : {}) };
}

async function existingAlias(metadata: MetadataStore, model: string, alias: string) {
  const known = (await metadata.listModels()).some((m) => m.name === model);
  return known ? metadata.resolveAlias(model, alias) : undefined;
}

/** The champion's bundle if it takes the same inputs (names and types) and classes as this run. */
async function loadComparable(
  artifacts: ArtifactStore,
  hash: string,
  ds: Dataset,
): Promise<Bundle | undefined> {
  const bundle = decodeBundle(await artifacts.get(hash), "the champion's bundle");
  const inputs = bundle.manifest.inputs;
  const sameClasses =
    bundle.classes.length === ds.classes.length && bundle.classes.every((c, i) => c === ds.classes[i]);
  const sameInputs = inputs.every((i) => {
    if (!ds.test.has(i.name)) return false;
    const t = ds.test.column(i.name).type;
    return i.type === "categorical" ? t === "categorical" : t === "numeric";
  });
  return sameClasses && sameInputs ? bundle : undefined;
}
