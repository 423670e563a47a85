/**
 * Mirrors a metadata store into an MLflow tracking server (`MLFLOW_TRACKING_URI`), for teams whose
 * tools already read MLflow. netwarden's own store stays the source of truth: every call goes to it
 * first, and only then is the same change sent to MLflow:
 *
 *   run                → MLflow run in the experiment named by MLFLOW_EXPERIMENT_NAME (default: the
 *                        pipeline), tagged netwarden.run_id; the netwarden run gets tag mlflow_run_id
 *   params / tags      → params / tags (params are strings in MLflow)
 *   metrics (+ step)   → metrics with their step (0 without one)
 *   artifact           → the artifact's bytes, uploaded through the server's artifact proxy
 *   end                → FINISHED / FAILED (a gate rejection is FINISHED with tag netwarden.status)
 *   model version      → registered model version, source = the run's bundle artifact,
 *                        tagged netwarden.version and netwarden.bundle_hash
 *   alias move/delete  → MLflow alias on the matching version (MLflow 2.9+ aliases, not stages)
 *
 * Runs and versions made while no mirror was configured have no MLflow counterpart; changes to
 * them are not mirrored. A refused mirror call fails the operation (NW_MLFLOW_REJECTED), after the
 * netwarden store has recorded it.
 */
import { MlflowClient, type MlflowRunInfo, type MlflowRunStatus, mlflowCode } from "../mlflow/index.js";
import type {
  AliasEvent,
  ArtifactRef,
  ArtifactStore,
  MetadataStore,
  MetricPoint,
  ModelSummary,
  ModelVersion,
  ParamValue,
  RunError,
  RunFilter,
  RunRecord,
  RunStatus,
} from "./types.js";

export interface MlflowMirrorOptions {
  trackingUri: string;
  /** Experiment for every run (MLFLOW_EXPERIMENT_NAME); default: one experiment per pipeline. */
  experiment?: string;
  /** Bearer token (MLFLOW_TRACKING_TOKEN). */
  token?: string;
}

/** Tag on the netwarden run naming its MLflow run. */
export const MLFLOW_RUN_TAG = "mlflow_run_id";

const STATUS: Record<Exclude<RunStatus, "running">, MlflowRunStatus> = {
  finished: "FINISHED",
  failed: "FAILED",
  rejected: "FINISHED",
};

export class MlflowMirrorStore implements MetadataStore {
  readonly location: string;
  readonly client: MlflowClient;
  private readonly runs = new Map<string, MlflowRunInfo | null>();

  private constructor(
    readonly inner: MetadataStore,
    private readonly artifacts: ArtifactStore,
    private readonly options: MlflowMirrorOptions,
  ) {
    this.client = new MlflowClient({ trackingUri: options.trackingUri, token: options.token });
    this.location = `${inner.location} (mirrored to MLflow at ${this.client.trackingUri})`;
  }

  static wrap(
    inner: MetadataStore,
    artifacts: ArtifactStore,
    options: MlflowMirrorOptions,
  ): MlflowMirrorStore {
    return new MlflowMirrorStore(inner, artifacts, options);
  }

  // ---- runs ----

  async createRun(init: {
    pipeline: string;
    params?: Record<string, ParamValue>;
    tags?: Record<string, string>;
    parentRunId?: string;
  }): Promise<RunRecord> {
    const run = await this.inner.createRun(init);
    const experimentId = await this.client.ensureExperiment(this.options.experiment ?? run.pipeline);
    const parent = init.parentRunId ? await this.mlflowRun(init.parentRunId) : undefined;
    const info = await this.client.createRun({
      experimentId,
      runName: run.id,
      startTime: Date.parse(run.startedAt),
      tags: {
        ...run.tags,
        "netwarden.run_id": run.id,
        "netwarden.pipeline": run.pipeline,
        ...(parent ? { "mlflow.parentRunId": parent.runId } : {}),
      },
    });
    this.runs.set(run.id, info);
    await this.client.logBatch(info.runId, { params: paramStrings(run.params) });
    const tags = { [MLFLOW_RUN_TAG]: info.runId };
    await this.inner.setTags(run.id, tags);
    return { ...run, tags: { ...run.tags, ...tags } };
  }

  async logParams(runId: string, params: Record<string, ParamValue>): Promise<void> {
    await this.inner.logParams(runId, params);
    const info = await this.mlflowRun(runId);
    if (info) await this.client.logBatch(info.runId, { params: paramStrings(params) });
  }

  async logMetrics(runId: string, metrics: Record<string, number>, step?: number): Promise<void> {
    await this.inner.logMetrics(runId, metrics, step);
    const info = await this.mlflowRun(runId);
    if (!info) return;
    const timestamp = Date.now();
    await this.client.logBatch(info.runId, {
      metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp, step: step ?? 0 })),
    });
  }

  async setTags(runId: string, tags: Record<string, string>): Promise<void> {
    await this.inner.setTags(runId, tags);
    const info = await this.mlflowRun(runId);
    if (info) await this.client.logBatch(info.runId, { tags });
  }

  async addArtifact(runId: string, ref: ArtifactRef): Promise<void> {
    await this.inner.addArtifact(runId, ref);
    const info = await this.mlflowRun(runId);
    if (info) await this.client.uploadArtifact(info, ref.name, await this.artifacts.get(ref.hash));
  }

  async endRun(runId: string, status: Exclude<RunStatus, "running">, error?: RunError): Promise<RunRecord> {
    const run = await this.inner.endRun(runId, status, error);
    const info = await this.mlflowRun(runId);
    if (info) {
      await this.client.logBatch(info.runId, {
        tags: {
          "netwarden.status": status,
          ...(error ? { "netwarden.error_code": error.code, "netwarden.error": error.message } : {}),
        },
      });
      await this.client.updateRun(
        info.runId,
        STATUS[status],
        Date.parse(run.endedAt ?? new Date().toISOString()),
      );
    }
    return run;
  }

  getRun(runId: string): Promise<RunRecord> {
    return this.inner.getRun(runId);
  }

  listRuns(filter?: RunFilter): Promise<RunRecord[]> {
    return this.inner.listRuns(filter);
  }

  metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    return this.inner.metricHistory(runId, key);
  }

  // ---- registry ----

  async registerVersion(init: Omit<ModelVersion, "version" | "createdAt">): Promise<ModelVersion> {
    const v = await this.inner.registerVersion(init);
    const info = await this.mlflowRun(v.runId);
    const run = await this.inner.getRun(v.runId);
    const bundle = run.artifacts.find((a) => a.hash === v.bundleHash);
    await this.client.ensureRegisteredModel(v.model);
    await this.client.createModelVersion({
      name: v.model,
      // Where MLflow users find the bundle: the run's copy, or else its content address.
      source: info && bundle ? `${info.artifactUri}/${bundle.name}` : `netwarden:sha256:${v.bundleHash}`,
      ...(info ? { runId: info.runId } : {}),
      ...(v.description ? { description: v.description } : {}),
      tags: {
        "netwarden.version": String(v.version),
        "netwarden.bundle_hash": v.bundleHash,
        "netwarden.run_id": v.runId,
        "netwarden.data_fingerprint": v.lineage.dataFingerprint,
      },
    });
    return v;
  }

  listModels(): Promise<ModelSummary[]> {
    return this.inner.listModels();
  }

  listVersions(model: string): Promise<ModelVersion[]> {
    return this.inner.listVersions(model);
  }

  getVersion(model: string, version: number): Promise<ModelVersion> {
    return this.inner.getVersion(model, version);
  }

  async setAlias(
    model: string,
    alias: string,
    version: number,
    audit: { actor: string; reason: string },
  ): Promise<AliasEvent> {
    const event = await this.inner.setAlias(model, alias, version, audit);
    const target = await this.mlflowVersion(model, version);
    if (target !== undefined) await this.client.setAlias(model, alias, target);
    return event;
  }

  async deleteAlias(
    model: string,
    alias: string,
    audit: { actor: string; reason: string },
  ): Promise<AliasEvent> {
    const event = await this.inner.deleteAlias(model, alias, audit);
    const aliases = await ifModelExists(() => this.client.registeredModelAliases(model), []);
    if (aliases.some((a) => a.alias === alias)) await this.client.deleteAlias(model, alias);
    return event;
  }

  resolveAlias(model: string, alias: string): Promise<ModelVersion | undefined> {
    return this.inner.resolveAlias(model, alias);
  }

  aliasHistory(model: string, alias?: string): Promise<AliasEvent[]> {
    return this.inner.aliasHistory(model, alias);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  // ---- mapping ----

  /** The MLflow run of a netwarden run (from its tag, so other processes' runs are found too). */
  private async mlflowRun(runId: string): Promise<MlflowRunInfo | undefined> {
    if (this.runs.has(runId)) return this.runs.get(runId) ?? undefined;
    const tag = (await this.inner.getRun(runId)).tags[MLFLOW_RUN_TAG];
    const info = tag ? (await this.client.getRun(tag)).info : null;
    this.runs.set(runId, info);
    return info ?? undefined;
  }

  /** MLflow's version number for a netwarden version (they differ when MLflow had versions first). */
  private async mlflowVersion(model: string, version: number): Promise<string | undefined> {
    const versions = await ifModelExists(() => this.client.listModelVersions(model), []);
    return versions.find((v) => v.tags["netwarden.version"] === String(version))?.version;
  }
}

function paramStrings(params: Record<string, ParamValue>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) out[k] = v === null ? "null" : String(v);
  return out;
}

/** A registered model MLflow never saw (registered before the mirror was on) reads as `none`. */
async function ifModelExists<T>(read: () => Promise<T>, none: T): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (mlflowCode(e) === "RESOURCE_DOES_NOT_EXIST") return none;
    throw e;
  }
}
