import type { Column, ColumnSpec } from "../data/index.js";
import { Table } from "../data/index.js";
import { type MetricName, score, sharedCopy } from "../ml/index.js";
import type { Candidate } from "./candidates.js";
import { fitOne, toMatrix } from "./fit.js";

/**
 * One (candidate, fold) of cross-validation, runnable in a worker thread: everything it needs is
 * plain data, and the columns and labels sit in SharedArrayBuffers, so sending a task copies no rows.
 */
export interface FoldTask {
  columns: Column[];
  y: Int32Array;
  train: Int32Array;
  test: Int32Array;
  candidate: Candidate;
  features: ColumnSpec[];
  featureNames: string[];
  classes: string[];
  metric: MetricName;
  positiveClass: number;
  seed: number;
}

/** This module, for the worker pool (mapped to the compiled copy when running from sources). */
export const CV_TASK_MODULE = import.meta.url;

/** Fits the candidate on the fold's training rows and scores it on the held-out ones. */
export async function scoreFold(task: FoldTask): Promise<number> {
  const table = new Table(task.columns);
  const ds = {
    schema: { columns: task.features, unexpectedColumns: "ignore" as const, missingTokens: [] },
    featureNames: task.featureNames,
    classes: task.classes,
  };
  const pick = (idx: Int32Array) => {
    const out = new Int32Array(idx.length);
    for (let i = 0; i < idx.length; i++) out[i] = task.y[idx[i]];
    return out;
  };
  const fitted = await fitOne(table.take(task.train), pick(task.train), task.candidate, ds, task.seed);
  const Xv = toMatrix(fitted.preprocessor.transform(table.take(task.test).select(task.featureNames)));
  return score(task.metric, pick(task.test), fitted.model.predictProba(Xv), task.classes.length, {
    positiveClass: task.positiveClass,
  });
}

/** Copies columns into shared memory once, so every worker reads the same rows without copies. */
export function shareColumns(table: Table): Column[] {
  return table.columns.map((c): Column => {
    if (c.type === "numeric") {
      return { type: "numeric", name: c.name, values: sharedCopy(c.values) };
    }
    return { type: "categorical", name: c.name, codes: sharedCopy(c.codes), categories: [...c.categories] };
  });
}
