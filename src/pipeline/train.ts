import { execFile } from "node:child_process";
import { dirname } from "node:path";
import { promisify } from "node:util";
import type { LoadedConfig } from "../config/index.js";
import {
  asNetwardenError,
  canonicalJson,
  NetwardenError,
  netwardenVersion,
  type Progress,
} from "../core/index.js";
import { findings, renderReport, reportToJson } from "../data/index.js";
import type { ClassificationReport } from "../ml/index.js";
import type { ArtifactStore, Lineage, MetadataStore, ParamValue } from "../store/index.js";
import { encodeBundle } from "./bundle.js";
import { buildCandidates } from "./candidates.js";
import { applyThresholds, type CheckResult } from "./checks.js";
import { evaluate, fitOne, positiveIndex } from "./fit.js";
import { type GateResult, runGate } from "./gate.js";
import { type Dataset, ingest } from "./ingest.js";
import { encodeReference, REFERENCE_ARTIFACT } from "./reference.js";
import { toDataSchema } from "./schema.js";
import { crossValidate, pickBest } from "./search.js";

export interface TrainContext {
  metadata: MetadataStore;
  artifacts: ArtifactStore;
  progress: Progress;
  /** Who started the run (audit trail of alias moves). */
  actor: string;
}

export interface TrainOutcome {
  runId: string;
  pipeline: string;
  model: string;
  accepted: boolean;
  version?: number;
  aliases: string[];
  data: {
    fingerprint: string;
    trainRows: number;
    testRows: number;
    classes: string[];
    classNames?: Record<string, string>;
    split: Dataset["split"];
  };
  /** Data findings and threshold results, most important first. */
  findings: string[];
  checks: CheckResult[];
  cv: { name: string; kind: string; mean: number; std: number; scores: number[] }[];
  best: { name: string; kind: string; params: Record<string, unknown> };
  metric: string;
  evaluation: ClassificationReport;
  metrics: Record<string, number>;
  gate: GateResult;
  bundleHash: string;
}

/**
 * The training pipeline: ingest → validate → cross-validate candidates → refit the best →
 * evaluate on the test split → gate → bundle → register. Every step is recorded in a run; a
 * failure ends the run as `failed` with its error code and registers nothing.
 */
export async function runTraining(loaded: LoadedConfig, ctx: TrainContext): Promise<TrainOutcome> {
  const { config } = loaded;
  const { metadata, artifacts, progress } = ctx;
  // Config mistakes surface before anything is read or recorded.
  const candidates = buildCandidates(loaded);
  const schema = toDataSchema(config, loaded.locate);
  const modelName = config.register.model ?? config.name;
  const gitCommit = await gitHead(dirname(loaded.path));

  const run = await metadata.createRun({
    pipeline: config.name,
    params: {
      "split.test_size": config.split.test_size,
      "split.seed": config.split.seed,
      "split.dedupe": config.split.dedupe,
      "search.cv_folds": config.search.cv_folds,
      "search.metric": config.search.metric,
      "search.candidates": candidates.length,
      gate_metric: config.gate.metric,
    },
    tags: {
      config_hash: loaded.hash,
      config_file: loaded.path,
      netwarden_version: netwardenVersion(),
      ...(gitCommit ? { git_commit: gitCommit } : {}),
    },
  });
  const put = async (name: string, bytes: Uint8Array | string, mediaType: string) => {
    const data = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
    const { hash, size } = await artifacts.put(data);
    await metadata.addArtifact(run.id, { name, hash, size, mediaType });
    return hash;
  };

  try {
    const ds = await ingest(config, schema, progress);
    await metadata.logParams(run.id, { "split.method": ds.split.method });
    await metadata.setTags(run.id, { data_fingerprint: ds.fingerprint });
    await metadata.logMetrics(run.id, {
      "data.train_rows": ds.train.nRows,
      "data.test_rows": ds.test.nRows,
      "data.quarantined_rows": ds.checks.validations.reduce((s, v) => s + v.report.nInvalid, 0),
      "data.drifted_share": ds.checks.drift.driftedShare,
      ...(ds.checks.duplicates.leakage
        ? { "data.duplicate_leakage_share": ds.checks.duplicates.leakage.share }
        : {}),
      ...(ds.split.droppedDuplicates ? { "data.dropped_duplicates": ds.split.droppedDuplicates } : {}),
    });

    // Reports are stored before the thresholds are applied, so a failed run still explains itself.
    const checks = applyThresholds(config, ds.checks);
    const dataFindings = reportFindings(ds);
    const parts = ds.checks.validations.map((v, i) => ({
      title: `${config.name}: ${v.source}`,
      validation: v.report,
      ...(i === ds.checks.validations.length - 1
        ? { drift: ds.checks.drift, duplicates: ds.checks.duplicates }
        : {}),
    }));
    await put(
      "validation.json",
      canonicalJson({ checks, reports: parts.map((p) => reportToJson(p)), split: ds.split }),
      "application/json",
    );
    await put("validation.txt", parts.map((p) => renderReport(p)).join("\n\n"), "text/plain");
    if (ds.quarantine) await put("quarantine.jsonl", ds.quarantine, "application/x-ndjson");
    for (const c of checks.filter((c) => c.level === "warn")) progress.log(c.message, "warn");
    const failures = checks.filter((c) => c.level === "fail");
    if (failures.length) {
      throw new NetwardenError(
        "NW_VALIDATION_FAILED",
        `data validation failed: ${failures.map((f) => `${f.message} (validation.${f.check}.fail is ${f.limit})`).join("; ")}`,
        {
          where: `run ${run.id}`,
          hint: `${
            ds.quarantine
              ? `See the bad rows with \`netwarden runs artifact ${run.id} quarantine.jsonl\`. `
              : ""
          }Fix the data, or raise the threshold under \`validation:\` if this is expected`,
          details: { checks: failures },
        },
      );
    }

    const cv = await crossValidate(config, ds, candidates, progress);
    const best = pickBest(cv, config.search.metric as never);
    const bestParams: Record<string, ParamValue> = {
      best_candidate: best.candidate.name,
      "model.kind": best.candidate.kind,
    };
    for (const [k, v] of Object.entries(best.candidate.params)) bestParams[`model.${k}`] = toParam(v);
    await metadata.logParams(run.id, bestParams);
    await metadata.logMetrics(run.id, {
      [`cv.${config.search.metric}.mean`]: best.mean,
      [`cv.${config.search.metric}.std`]: best.std,
    });
    await put(
      "cv.json",
      canonicalJson(
        cv.map((r) => ({
          name: r.candidate.name,
          kind: r.candidate.kind,
          params: r.candidate.params,
          scores: r.scores,
          mean: r.mean,
          std: r.std,
        })),
      ),
      "application/json",
    );

    const task = progress.task(
      `fitting ${best.candidate.name} on ${ds.train.nRows.toLocaleString("en-US")} rows`,
    );
    const fitted = await fitOne(ds.train, ds.yTrain, best.candidate, ds, config.search.seed, task);
    task.done();
    if (fitted.resampled) {
      const rs = fitted.resampled;
      await metadata.logParams(run.id, { "imbalance.method": rs.method });
      const counts: Record<string, number> = {};
      rs.classes.forEach((c, i) => {
        counts[`imbalance.before.${c}`] = rs.before[i];
        counts[`imbalance.after.${c}`] = rs.after[i];
      });
      await metadata.logMetrics(run.id, counts);
      progress.log(
        `resampled the training rows (${rs.method}): ${rs.before.reduce((a, b) => a + b, 0)} → ${rs.after.reduce((a, b) => a + b, 0)}`,
      );
    }
    for (const [series, points] of Object.entries(fitted.model.history ?? {})) {
      for (const p of points) await metadata.logMetrics(run.id, { [`fit.${series}`]: p.value }, p.step);
    }

    const evaluation = evaluate(config, ds, fitted);
    await metadata.logMetrics(run.id, evaluation.metrics);
    const gate = await runGate(config, ds, evaluation.proba, ctx, modelName);
    await metadata.logMetrics(run.id, { "gate.passed": gate.passed ? 1 : 0 });

    const lineage: Lineage = {
      dataFingerprint: ds.fingerprint,
      configHash: loaded.hash,
      codeVersion: netwardenVersion(),
      ...(gitCommit ? { gitCommit } : {}),
    };
    const bytes = encodeBundle(
      {
        name: modelName,
        task: ds.classes.length === 2 ? "binary" : "multiclass",
        target: {
          name: config.schema.target,
          classes: ds.classes,
          ...(config.schema.class_names ? { classNames: config.schema.class_names } : {}),
          ...(ds.classes.length === 2
            ? { positiveClass: ds.classes[positiveIndex(config, ds.classes)] }
            : {}),
        },
        inputs: schema.columns
          .filter((c) => c.role === "feature")
          .map((c) => ({
            name: c.name,
            type: c.type,
            nullable: c.nullable,
            ...(c.allowed ? { allowed: [...c.allowed] } : {}),
            ...(c.min !== undefined ? { min: c.min } : {}),
            ...(c.max !== undefined ? { max: c.max } : {}),
          })),
        candidate: { name: best.candidate.name, kind: best.candidate.kind, params: best.candidate.params },
        metrics: evaluation.metrics,
        lineage,
      },
      fitted.preprocessor,
      fitted.model,
    );
    const bundleHash = await put("bundle.json", bytes, "application/json");
    // What `drift-check` jobs compare current data with.
    await put(
      REFERENCE_ARTIFACT,
      encodeReference(ds.train, ds.featureNames, config.split.seed),
      "application/json",
    );
    await put(
      "evaluation.json",
      canonicalJson({ report: evaluation.report, gate, metrics: evaluation.metrics }),
      "application/json",
    );

    let version: number | undefined;
    const aliases: string[] = [];
    if (gate.passed) {
      const v = await metadata.registerVersion({
        model: modelName,
        runId: run.id,
        bundleHash,
        metrics: evaluation.metrics,
        lineage,
      });
      version = v.version;
      for (const alias of config.register.aliases) {
        await metadata.setAlias(modelName, alias, v.version, {
          actor: ctx.actor,
          reason: `accepted by the gate in run ${run.id}`,
        });
        aliases.push(alias);
      }
      await metadata.setTags(run.id, { registered_version: `${modelName}/${v.version}` });
    }
    await metadata.endRun(run.id, gate.passed ? "finished" : "rejected");

    return {
      runId: run.id,
      pipeline: config.name,
      model: modelName,
      accepted: gate.passed,
      ...(version !== undefined ? { version } : {}),
      aliases,
      data: {
        fingerprint: ds.fingerprint,
        trainRows: ds.train.nRows,
        testRows: ds.test.nRows,
        classes: ds.classes,
        ...(config.schema.class_names ? { classNames: config.schema.class_names } : {}),
        split: ds.split,
      },
      findings: dataFindings,
      checks,
      cv: cv.map((r) => ({
        name: r.candidate.name,
        kind: r.candidate.kind,
        mean: r.mean,
        std: r.std,
        scores: r.scores,
      })),
      best: { name: best.candidate.name, kind: best.candidate.kind, params: best.candidate.params },
      metric: config.search.metric,
      evaluation: evaluation.report,
      metrics: evaluation.metrics,
      gate,
      bundleHash,
    };
  } catch (e) {
    const err = asNetwardenError(e);
    await metadata.endRun(run.id, "failed", { code: err.code, message: err.message });
    throw e;
  }
}

function reportFindings(ds: Dataset): string[] {
  const out: string[] = [];
  const n = ds.checks.validations.length;
  ds.checks.validations.forEach((v, i) => {
    const last = i === n - 1;
    for (const f of findings({
      validation: v.report,
      ...(last ? { drift: ds.checks.drift, duplicates: ds.checks.duplicates } : {}),
    })) {
      out.push(n > 1 && !last ? `${v.source}: ${f}` : f);
    }
  });
  return out;
}

function toParam(v: unknown): ParamValue {
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  return JSON.stringify(v);
}

/** The commit of the repository holding the config, when there is one. */
async function gitHead(dir: string): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)("git", ["-C", dir, "rev-parse", "HEAD"], { timeout: 3000 });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}
