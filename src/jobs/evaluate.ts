import { canonicalJson, NetwardenError } from "../core/index.js";
import type { Table } from "../data/index.js";
import { type ClassificationReport, classificationReport } from "../ml/index.js";
import { ingest, reportMetrics, toDataSchema } from "../pipeline/index.js";
import {
  checkConfigFits,
  checkKeys,
  type JobStores,
  oneOf,
  type RegisteredModel,
  registeredModel,
  storedConfig,
  withJobRun,
} from "./common.js";
import type { JobHandler } from "./types.js";

const SPLITS = ["test", "train", "all"] as const;

export interface EvaluateJobResult {
  runId: string;
  model: string;
  version: number;
  config: string;
  split: (typeof SPLITS)[number];
  rows: number;
  /** `eval.accuracy`, `eval.f1_macro`, ... */
  metrics: Record<string, number>;
  /** The same metric minus its value in the bundle's test metrics (`test.*`), where the bundle has it. */
  change: Record<string, number>;
}

/**
 * The `evaluate` job: scores a registered model (`model` + `alias`, default production, or
 * `version`) on the data of a stored config (`config`), read, validated and split exactly as
 * training does; `split` picks test (default), train or all valid rows. Metrics are logged to a run
 * (tag job_type=evaluate, parent: the model's training run) with `evaluation.json`.
 */
export function evaluateJob(stores: JobStores): JobHandler {
  return async (payload, ctx) => {
    checkKeys(payload, ["model", "alias", "version", "config", "split"], "evaluate");
    const split = oneOf(payload, "split", SPLITS, "test");
    const loaded = await storedConfig(stores, payload);
    const model = await registeredModel(stores, payload);
    const schema = toDataSchema(loaded.config, loaded.locate);
    checkConfigFits(loaded, schema, model);
    const target = model.bundle.manifest.target.name;
    if (loaded.config.schema.target !== target) {
      throw new NetwardenError(
        "NW_JOB_INVALID",
        `config \`${loaded.config.name}\` has target \`${loaded.config.schema.target}\`, ${model.ref} predicts \`${target}\``,
        { where: "payload.config", hint: "Name a config with the model's target column" },
      );
    }
    const ds = await ingest(loaded.config, schema, ctx.progress);
    const tables = split === "test" ? [ds.test] : split === "train" ? [ds.train] : [ds.train, ds.test];
    const task = ctx.progress.task(`scoring ${model.ref} on the ${split} rows`);
    const report = scoreLabelled(model, tables, target);
    task.done(`accuracy ${report.accuracy.toFixed(4)} on ${report.n.toLocaleString("en-US")} rows`);

    const metrics = reportMetrics(report, "eval");
    const change: Record<string, number> = {};
    for (const [k, v] of Object.entries(metrics)) {
      const before = model.bundle.manifest.metrics[`test.${k.slice("eval.".length)}`];
      if (before !== undefined && k !== "eval.rows") change[k] = v - before;
    }
    return withJobRun(
      stores,
      {
        type: "evaluate",
        model,
        params: { config: loaded.config.name, split },
        tags: { config_hash: loaded.hash, data_fingerprint: ds.fingerprint },
      },
      async ({ run, put }) => {
        await stores.metadata.logMetrics(run.id, metrics);
        await put("evaluation.json", canonicalJson({ report, metrics, change }), "application/json");
        const result: EvaluateJobResult = {
          runId: run.id,
          model: model.version.model,
          version: model.version.version,
          config: loaded.config.name,
          split,
          rows: report.n,
          metrics,
          change,
        };
        return result;
      },
    );
  };
}

/** Classification report of the model on tables that hold its inputs and the target. */
function scoreLabelled(
  model: RegisteredModel,
  tables: readonly Table[],
  target: string,
): ClassificationReport {
  const classes = model.bundle.classes;
  const index = new Map(classes.map((c, i) => [c, i]));
  const n = tables.reduce((s, t) => s + t.nRows, 0);
  const y = new Int32Array(n);
  const proba = new Float64Array(n * classes.length);
  const unseen = new Map<string, number>();
  let at = 0;
  for (const t of tables) {
    const col = t.categorical(target);
    const map = col.categories.map((c) => index.get(c) ?? -1);
    for (let i = 0; i < t.nRows; i++) {
      const k = map[col.codes[i]];
      if (k < 0) {
        const label = col.categories[col.codes[i]];
        unseen.set(label, (unseen.get(label) ?? 0) + 1);
      }
      y[at + i] = k;
    }
    proba.set(model.bundle.predictProba(t), at * classes.length);
    at += t.nRows;
  }
  if (unseen.size) {
    throw new NetwardenError(
      "NW_JOB_UNSEEN_CLASS",
      `the data has class${unseen.size > 1 ? "es" : ""} ${[...unseen].map(([l, c]) => `"${l}" (${c} rows)`).join(", ")} that ${model.ref} never learned`,
      {
        where: `column \`${target}\``,
        hint: `The model predicts ${classes.join(", ")}; retrain it on data with the new class before evaluating on it`,
      },
    );
  }
  const positive = model.bundle.manifest.target.positiveClass;
  return classificationReport(y, proba, classes, {
    ...(positive !== undefined ? { positiveClass: classes.indexOf(positive) } : {}),
  });
}
