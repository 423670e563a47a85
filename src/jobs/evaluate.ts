import { canonicalJson, NetwardenError } from "../core/index.js";
import type { Table } from "../data/index.js";
import { type ClassificationReport, classificationReport } from "../ml/index.js";
import { labelIndices, reportMetrics } from "../pipeline/index.js";
import {
  checkKeys,
  type DataSplit,
  type JobStores,
  type RegisteredModel,
  registeredModel,
  splitOf,
  storedSplit,
  withJobRun,
} from "./common.js";
import type { JobHandler } from "./types.js";

export interface EvaluateJobResult {
  runId: string;
  model: string;
  version: number;
  config: string;
  split: DataSplit;
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
    const split = splitOf(payload, "test");
    const model = await registeredModel(stores, payload);
    const { loaded, ds, table } = await storedSplit(stores, payload, model, ctx.progress, split);
    const target = model.bundle.manifest.target.name;
    const task = ctx.progress.task(`scoring ${model.ref} on the ${split} rows`);
    const report = scoreLabelled(model, table, target);
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

/** Classification report of the model on a table that holds its inputs and the target. */
function scoreLabelled(model: RegisteredModel, table: Table, target: string): ClassificationReport {
  const classes = model.bundle.classes;
  const { y, unseen } = labelIndices(table.categorical(target), classes);
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
  return classificationReport(y, model.bundle.predictProba(table), classes, {
    ...(positive !== undefined ? { positiveClass: classes.indexOf(positive) } : {}),
  });
}
