import type { ImbalanceConfig, LoadedConfig, PreprocessConfig } from "../config/index.js";
import { NetwardenError } from "../core/index.js";
import { defaultPreprocessSpec, type PreprocessSpec } from "../features/index.js";
import {
  checkMetricName,
  createLearner,
  type Distribution,
  expandGrid,
  type MetricName,
  randomCandidates,
} from "../ml/index.js";

/** One configuration to cross-validate: a learner kind, its full parameters and its preprocessing. */
export interface Candidate {
  /** "gbdt#2 (max_depth=4, learning_rate=0.1)" style label for reports. */
  name: string;
  kind: string;
  params: Record<string, unknown>;
  preprocess: PreprocessSpec;
  /** Resampling of the training rows of every fit. */
  imbalance: ImbalanceConfig;
  /** Index of the `models:` entry it came from. */
  entry: number;
}

/** Learner kinds that need scaled, one-hot inputs rather than raw values and codes. */
const LINEAR_FAMILY = new Set(["logreg", "knn"]);

export function familyOf(kind: string): "tree" | "linear" {
  return LINEAR_FAMILY.has(kind) ? "linear" : "tree";
}

/**
 * Expands the `models:` entries into candidates and checks every parameter and metric name before
 * any data is read, reporting mistakes at their place in the YAML.
 */
export function buildCandidates(loaded: LoadedConfig): Candidate[] {
  const { config, locate } = loaded;
  checkMetric(config.search.metric, locate(["search", "metric"]));
  checkMetric(config.gate.metric, locate(["gate", "metric"]));
  const out: Candidate[] = [];
  config.models.forEach((entry, i) => {
    const gridKeys = Object.keys(entry.grid);
    for (const k of gridKeys) {
      if (k in entry.params) {
        throw new NetwardenError(
          "NW_CONFIG_INVALID_VALUE",
          `\`${k}\` is both fixed in params and searched in grid`,
          {
            where: locate(["models", i, "grid", k]),
            hint: "Keep it in one of the two",
          },
        );
      }
    }
    let points: Record<string, unknown>[];
    if (gridKeys.length === 0) points = [{}];
    else if (config.search.strategy === "grid") points = expandGrid(entry.grid);
    else {
      points = randomCandidates(
        entry.grid as Record<string, Distribution>,
        config.search.n_iter,
        config.search.seed + i,
      );
    }
    const preprocess = mergePreprocess(
      defaultPreprocessSpec(familyOf(entry.kind)),
      config.preprocess,
      entry.preprocess,
    );
    points.forEach((point, j) => {
      const params = { ...entry.params, ...point };
      try {
        createLearner(entry.kind, params);
      } catch (e) {
        throw relocate(e, loaded, i, point);
      }
      const label = entry.name ?? entry.kind;
      const varying = Object.entries(point)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(", ");
      out.push({
        name: points.length > 1 ? `${label}#${j + 1}${varying ? ` (${varying})` : ""}` : label,
        kind: entry.kind,
        params,
        preprocess,
        imbalance: entry.imbalance ?? config.imbalance,
        entry: i,
      });
    });
  });
  return out;
}

function checkMetric(name: string, where: string): asserts name is MetricName {
  try {
    checkMetricName(name);
  } catch (e) {
    if (e instanceof NetwardenError) {
      throw new NetwardenError("NW_CONFIG_INVALID_VALUE", e.message, {
        where,
        hint: e.hint,
        details: e.details,
      });
    }
    throw e;
  }
}

/** Learner errors name a parameter; turn them into config errors at that parameter's line. */
function relocate(e: unknown, loaded: LoadedConfig, entry: number, point: Record<string, unknown>): unknown {
  if (!(e instanceof NetwardenError)) return e;
  const param = e.details?.param as string | undefined;
  const section = param !== undefined && param in point ? "grid" : "params";
  if (e.code === "NW_LEARNER_UNKNOWN") {
    return new NetwardenError("NW_CONFIG_INVALID_VALUE", e.message, {
      where: loaded.locate(["models", entry, "kind"]),
      hint: e.hint,
    });
  }
  if (e.code === "NW_LEARNER_UNKNOWN_PARAM" || e.code === "NW_LEARNER_INVALID_PARAM") {
    const path = ["models", entry, section, ...(param ? [param] : [])];
    return new NetwardenError(
      e.code === "NW_LEARNER_UNKNOWN_PARAM" ? "NW_CONFIG_UNKNOWN_KEY" : "NW_CONFIG_INVALID_VALUE",
      `models[${entry}].${section}: ${e.message}`,
      { where: loaded.locate(path), hint: e.hint, details: e.details },
    );
  }
  return e;
}

/** Family defaults, then the pipeline's `preprocess:`, then the model entry's own. */
function mergePreprocess(
  base: PreprocessSpec,
  ...overrides: (PreprocessConfig | undefined)[]
): PreprocessSpec {
  const out: PreprocessSpec = {
    numeric: { ...base.numeric },
    categorical: { ...base.categorical },
    ...(base.columns ? { columns: { ...base.columns } } : {}),
  };
  for (const o of overrides) {
    if (!o) continue;
    if (o.numeric) Object.assign(out.numeric, strip(o.numeric));
    if (o.categorical) Object.assign(out.categorical, strip(o.categorical));
    if (o.columns) out.columns = { ...(out.columns ?? {}), ...o.columns };
  }
  return out;
}

function strip<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
