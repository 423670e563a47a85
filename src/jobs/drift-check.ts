import { canonicalJson, NetwardenError } from "../core/index.js";
import { type CategoricalColumn, categoricalColumn, driftReport, Table } from "../data/index.js";
import { argmaxRows } from "../ml/index.js";
import { readPredictionLog } from "../monitor/index.js";
import { decodeReference, REFERENCE_ARTIFACT } from "../pipeline/index.js";
import {
  checkKeys,
  type JobStores,
  optionalDay,
  optionalInt,
  optionalNumber,
  type RegisteredModel,
  registeredModel,
  splitOf,
  storedSplit,
  withJobRun,
} from "./common.js";
import type { JobContext, JobHandler } from "./types.js";

/** The column the predicted-label comparison is reported under. */
const PREDICTED = "(predicted label)";

interface Current {
  source: string;
  table: Table;
  /** The model's answers on the current rows. */
  predicted: CategoricalColumn;
}
/** Most prediction-log rows compared by default: the latest ones. */
export const DRIFT_MAX_ROWS = 100_000;

export interface DriftCheckJobResult {
  runId: string;
  model: string;
  version: number;
  reference: { rows: number; sampledFrom: number };
  current: { source: string; rows: number };
  nDrifted: number;
  driftedShare: number;
  nInsufficient: number;
  /** Drifted features, largest PSI first. */
  drifted: string[];
  /**
   * The model's predicted labels on the reference rows against its answers on the current ones
   * (the server's answers, for the log): PSI and chi-squared as for a categorical feature.
   */
  prediction: {
    psi: number | null;
    pValue: number | null;
    drifted: boolean;
    /** Share of rows per predicted label (and `unseen`/`missing` bins when they occur). */
    shares: Record<string, { reference: number; current: number }>;
  };
  /** Every feature's verdict, largest PSI first (bins are in the run's drift.json). */
  features: { column: string; psi: number | null; test: string; pValue: number | null; drifted: boolean }[];
}

/**
 * The `drift-check` job: compares the inputs a registered model (`model` + `alias`/`version`) was
 * trained on — the reference sample stored with its training run — with current data: the model's
 * prediction log (default; `from`/`to` days, the latest `max_rows` rows) or a stored config's data
 * (`config`, `split` all/test/train). PSI plus KS (numeric) or chi-squared (categorical) per feature,
 * thresholds `psi` and `p_value` as in training's validation. The report is a run's `drift.json`.
 */
export function driftCheckJob(stores: JobStores): JobHandler {
  return async (payload, ctx) => {
    checkKeys(
      payload,
      ["model", "alias", "version", "config", "split", "from", "to", "max_rows", "psi", "p_value"],
      "drift-check",
    );
    const psi = optionalNumber(payload, "psi", 0, 100);
    const pValue = optionalNumber(payload, "p_value", 0, 1);
    const model = await registeredModel(stores, payload);
    const schema = model.bundle.inputSchema([]);
    const reference = await referenceOf(stores, model);
    const current =
      payload.config === undefined
        ? await fromLog(stores, model, payload, ctx)
        : await fromConfig(stores, model, payload, ctx);

    const task = ctx.progress.task(
      `comparing ${current.table.nRows.toLocaleString("en-US")} current rows (${current.source}) with the training reference`,
    );
    const report = driftReport(reference.table, current.table, schema, {
      ...(psi !== undefined ? { psi } : {}),
      ...(pValue !== undefined ? { pValue } : {}),
    });
    // Prediction shift: the model's answers on the reference rows against its answers now.
    const prediction = driftReport(
      new Table([predictedLabels(model, reference.table)]),
      new Table([current.predicted]),
      {
        columns: [{ name: PREDICTED, role: "feature", type: "categorical", nullable: false }],
        unexpectedColumns: "ignore",
        missingTokens: [],
      },
      report.thresholds,
    ).features[0];
    task.done(
      `${report.nDrifted} of ${report.features.length} features drifted; predictions ${prediction.drifted ? "shifted" : "steady"}`,
    );
    const features = [...report.features].sort((a, b) => (b.psi ?? -1) - (a.psi ?? -1));
    const drifted = features.filter((f) => f.drifted).map((f) => f.column);
    if (prediction.drifted) {
      ctx.progress.log(
        `${model.ref}: the predicted-label distribution shifted (PSI ${prediction.psi?.toFixed(3)})`,
        "warn",
      );
    }
    if (drifted.length) {
      ctx.progress.log(
        `${model.ref}: ${drifted.length} feature(s) drifted: ${drifted.slice(0, 5).join(", ")}${drifted.length > 5 ? ", ..." : ""}`,
        "warn",
      );
    }
    if (current.table.nRows < report.thresholds.minRows) {
      ctx.progress.log(
        `only ${current.table.nRows} current rows: fewer than ${report.thresholds.minRows}, so no feature gets a verdict`,
        "warn",
      );
    }

    return withJobRun(
      stores,
      { type: "drift-check", model, params: { current: current.source }, tags: {} },
      async ({ run, put }) => {
        await stores.metadata.logMetrics(run.id, {
          "drift.rows": current.table.nRows,
          "drift.n_drifted": report.nDrifted,
          "drift.drifted_share": report.driftedShare,
          ...(prediction.psi !== null ? { "drift.prediction_psi": prediction.psi } : {}),
          ...Object.fromEntries(
            report.features
              .filter((f) => f.psi !== null)
              .map((f) => [`drift.psi.${f.column}`, f.psi as number]),
          ),
        });
        await put(
          "drift.json",
          canonicalJson({ current: current.source, ...report, prediction }),
          "application/json",
        );
        const result: DriftCheckJobResult = {
          runId: run.id,
          model: model.version.model,
          version: model.version.version,
          reference: { rows: reference.table.nRows, sampledFrom: reference.sampledFrom },
          current: { source: current.source, rows: current.table.nRows },
          nDrifted: report.nDrifted,
          driftedShare: report.driftedShare,
          nInsufficient: report.nInsufficient,
          drifted,
          prediction: {
            psi: prediction.psi,
            pValue: prediction.pValue,
            drifted: prediction.drifted,
            shares: Object.fromEntries(
              prediction.bins
                .filter((b) => b.ref + b.test > 0)
                .map((b) => [
                  b.label,
                  { reference: b.ref / prediction.nRef, current: b.test / prediction.nTest },
                ]),
            ),
          },
          features: features.map((f) => ({
            column: f.column,
            psi: f.psi,
            test: f.test,
            pValue: f.pValue,
            drifted: f.drifted,
          })),
        };
        return result;
      },
    );
  };
}

async function referenceOf(stores: JobStores, model: RegisteredModel) {
  const run = await stores.metadata.getRun(model.version.runId);
  const ref = run.artifacts.find((a) => a.name === REFERENCE_ARTIFACT);
  if (!ref) {
    throw new NetwardenError(
      "NW_DRIFT_NO_REFERENCE",
      `${model.ref} has no training reference sample (its run ${run.id} has no ${REFERENCE_ARTIFACT})`,
      {
        where: `run ${run.id}`,
        hint: "Runs written before reference samples existed lack it: retrain the model, or compare two datasets with `evaluate`",
      },
    );
  }
  return decodeReference(await stores.artifacts.get(ref.hash), `${REFERENCE_ARTIFACT} of run ${run.id}`);
}

async function fromLog(
  stores: JobStores,
  model: RegisteredModel,
  payload: Record<string, unknown>,
  ctx: JobContext,
): Promise<Current> {
  const from = optionalDay(payload, "from");
  const to = optionalDay(payload, "to");
  const maxRows = optionalInt(payload, "max_rows", 1) ?? DRIFT_MAX_ROWS;
  const name = model.version.model;
  const task = ctx.progress.task(`reading the prediction log of ${name}`);
  // Segments are read oldest first; a ring of the latest `maxRows` feature rows is kept.
  const ring: { features: Record<string, unknown>; label: string }[] = [];
  let seen = 0;
  for await (const rec of readPredictionLog(stores.artifacts, name, { from, to })) {
    const kept = { features: rec.features, label: rec.label };
    if (ring.length < maxRows) ring.push(kept);
    else ring[seen % maxRows] = kept;
    seen++;
  }
  const rows = seen > maxRows ? [...ring.slice(seen % maxRows), ...ring.slice(0, seen % maxRows)] : ring;
  task.done(
    `${seen.toLocaleString("en-US")} logged rows${seen > maxRows ? `, the latest ${maxRows} kept` : ""}`,
  );
  if (rows.length === 0) {
    throw new NetwardenError(
      "NW_DRIFT_NO_DATA",
      `the prediction log of \`${name}\` has no rows${from || to ? ` from ${from ?? "the start"} to ${to ?? "today"}` : ""}`,
      {
        where: "payload.from/to",
        hint: "Serve the model with the prediction log on (prediction_log.enabled), widen the days, or compare with a stored config's data (`config`)",
      },
    );
  }
  const range = from || to ? ` ${from ?? "…"}..${to ?? "…"}` : "";
  return {
    source: `prediction log${range}`,
    table: model.bundle.recordsToTable(rows.map((r) => r.features)),
    // What the server answered, whichever version answered it.
    predicted: categoricalColumn(
      PREDICTED,
      rows.map((r) => r.label),
    ),
  };
}

async function fromConfig(
  stores: JobStores,
  model: RegisteredModel,
  payload: Record<string, unknown>,
  ctx: JobContext,
): Promise<Current> {
  const split = splitOf(payload, "all");
  const { loaded, table } = await storedSplit(stores, payload, model, ctx.progress, split);
  return {
    source: `config ${loaded.config.name} (${split})`,
    table,
    predicted: predictedLabels(model, table),
  };
}

function predictedLabels(model: RegisteredModel, table: Table): CategoricalColumn {
  const classes = model.bundle.classes;
  const best = argmaxRows(model.bundle.predictProba(table), classes.length);
  return categoricalColumn(
    PREDICTED,
    Array.from(best, (k) => classes[k]),
  );
}
