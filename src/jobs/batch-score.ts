import { type Column, cellValue, csvCell, type DataSchema } from "../data/index.js";
import { argmaxRows } from "../ml/index.js";
import { quarantineFor, readInputs, toDataSchema } from "../pipeline/index.js";
import {
  checkConfigFits,
  checkKeys,
  type JobStores,
  optionalString,
  type RegisteredModel,
  registeredModel,
  storedConfig,
  withJobRun,
} from "./common.js";
import type { JobHandler } from "./types.js";

/** Key prefix of scored files in the artifact store: `batch-scores/<model>/<yyyy-mm-dd>/<run>.csv`. */
export const BATCH_SCORES_PREFIX = "batch-scores";

export interface BatchScoreJobResult {
  runId: string;
  model: string;
  version: number;
  config: string;
  /** Rows read, rows scored, rows left out because a value was invalid (see quarantine.jsonl). */
  rows: number;
  scored: number;
  invalid: number;
  /** Scored rows per predicted label. */
  labels: Record<string, number>;
  /** Where the scored CSV is: an object key in the artifact store, and its content hash. */
  key: string;
  hash: string;
}

/**
 * The `batch-score` job: predicts every row of a stored config's data (`config`) with a registered
 * model (`model` + `alias`/`version`) and writes a CSV — the config's id columns, `row` (0-based row
 * of its input), `label`, `class_name` when the model has names, `p_<class>` per class — to the
 * artifact store under `key` (default `batch-scores/<model>/<day>/<run>.csv`) and as the run
 * artifact `scores.csv`. Rows with invalid values are not scored; they go to `quarantine.jsonl`.
 */
export function batchScoreJob(stores: JobStores): JobHandler {
  return async (payload, ctx) => {
    checkKeys(payload, ["model", "alias", "version", "config", "key"], "batch-score");
    const key = optionalString(payload, "key");
    const loaded = await storedConfig(stores, payload);
    const model = await registeredModel(stores, payload);
    const full = toDataSchema(loaded.config, loaded.locate);
    checkConfigFits(loaded, full, model);
    const schema = scoringSchema(full, model);
    const ids = schema.columns.filter((c) => c.role === "id").map((c) => c.name);
    const inputs = await readInputs(loaded.config, schema, ctx.progress);

    const classes = model.bundle.classes;
    const names = model.bundle.manifest.target.classNames;
    const header = [
      ...(inputs.length > 1 ? ["source"] : []),
      ...ids,
      "row",
      "label",
      ...(names ? ["class_name"] : []),
      ...classes.map((c) => `p_${c}`),
    ];
    const parts: string[] = [`${header.map(csvCell).join(",")}\n`];
    const labels: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
    let rows = 0;
    let scored = 0;
    let quarantine = "";
    for (const input of inputs) {
      const task = ctx.progress.task(`scoring ${input.name} with ${model.ref}`, input.table.nRows);
      const valid = input.table.take(input.report.validRowIndices);
      const proba = model.bundle.predictProba(valid);
      const predicted = argmaxRows(proba, classes.length);
      const idCols = ids.map((n) => valid.column(n));
      const k = classes.length;
      for (let i = 0; i < valid.nRows; i++) {
        const best = predicted[i];
        labels[classes[best]]++;
        const cells: string[] = [];
        if (inputs.length > 1) cells.push(csvCell(input.name));
        for (const col of idCols) cells.push(idCell(col, i));
        cells.push(String(input.report.validRowIndices[i]), csvCell(classes[best]));
        if (names) cells.push(csvCell(names[classes[best]] ?? ""));
        for (let c = 0; c < k; c++) cells.push(String(proba[i * k + c]));
        parts.push(`${cells.join(",")}\n`);
        if ((i & 4095) === 4095) task.tick(4096);
      }
      task.done(`${valid.nRows.toLocaleString("en-US")} scored, ${input.report.invalidRows.length} invalid`);
      rows += input.table.nRows;
      scored += valid.nRows;
      quarantine += quarantineFor(input.table, input.report, input.name);
    }
    const csv = Buffer.from(parts.join(""));

    return withJobRun(
      stores,
      {
        type: "batch-score",
        model,
        params: { config: loaded.config.name },
        tags: { config_hash: loaded.hash },
      },
      async ({ run, put }) => {
        const hash = await put("scores.csv", csv, "text/csv");
        if (quarantine) await put("quarantine.jsonl", quarantine, "application/x-ndjson");
        const objectKey =
          key ??
          `${BATCH_SCORES_PREFIX}/${model.version.model}/${new Date().toISOString().slice(0, 10)}/${run.id}.csv`;
        await stores.artifacts.putObject(objectKey, csv);
        await stores.metadata.logMetrics(run.id, {
          "batch.rows": rows,
          "batch.scored": scored,
          "batch.invalid": rows - scored,
        });
        const result: BatchScoreJobResult = {
          runId: run.id,
          model: model.version.model,
          version: model.version.version,
          config: loaded.config.name,
          rows,
          scored,
          invalid: rows - scored,
          labels,
          key: objectKey,
          hash,
        };
        return result;
      },
    );
  };
}

/**
 * What a scoring input must hold: the model's inputs (as an upload to the server) and the config's
 * id columns. The label need not be there.
 */
function scoringSchema(full: DataSchema, model: RegisteredModel): DataSchema {
  const inputs = model.bundle.inputSchema(full.missingTokens);
  return { ...inputs, columns: [...full.columns.filter((c) => c.role === "id"), ...inputs.columns] };
}

function idCell(c: Column, i: number): string {
  const v = cellValue(c, i);
  return v === null ? "" : csvCell(String(v));
}
