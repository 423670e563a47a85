/**
 * The two stores behind every stage: metadata (runs, metrics, registry, aliases, audit) and
 * artifacts (content-addressed blobs). Each has an embedded implementation in a local folder and,
 * later, production ones (PostgreSQL, S3). Every implementation must pass the same conformance suite.
 */

export type RunStatus = "running" | "finished" | "failed" | "rejected";

export type ParamValue = string | number | boolean | null;

export interface ArtifactRef {
  /** Logical name inside the run: "bundle", "validation-report.json", "quarantine.jsonl". */
  name: string;
  /** sha256 (hex) of the bytes: the key in the ArtifactStore. */
  hash: string;
  size: number;
  mediaType: string;
}

export interface RunError {
  code: string;
  message: string;
}

export interface RunRecord {
  id: string;
  /** The pipeline (config `name`) the run belongs to. */
  pipeline: string;
  status: RunStatus;
  startedAt: string; // ISO 8601
  endedAt?: string;
  params: Record<string, ParamValue>;
  /** Latest value of every metric. */
  metrics: Record<string, number>;
  tags: Record<string, string>;
  artifacts: ArtifactRef[];
  error?: RunError;
  /** Run this one was derived from (e.g. a retrain). */
  parentRunId?: string;
}

export interface MetricPoint {
  key: string;
  value: number;
  step: number;
  timestamp: string;
}

export interface RunFilter {
  pipeline?: string;
  status?: RunStatus;
  /** Newest first; default 50. */
  limit?: number;
}

export interface Lineage {
  dataFingerprint: string;
  configHash: string;
  codeVersion: string; // netwarden version
  gitCommit?: string;
  parentRunId?: string;
}

export interface ModelVersion {
  model: string;
  version: number;
  runId: string;
  /** sha256 of the bundle in the ArtifactStore. */
  bundleHash: string;
  createdAt: string;
  metrics: Record<string, number>;
  lineage: Lineage;
  description?: string;
}

export interface AliasEvent {
  model: string;
  alias: string;
  /** Version the alias pointed to before (absent when it was new). */
  from?: number;
  /** Version it points to after (absent when the alias was deleted). */
  to?: number;
  at: string;
  actor: string;
  reason: string;
}

export interface ModelSummary {
  name: string;
  latestVersion: number;
  aliases: Record<string, number>;
  updatedAt: string;
}

export interface MetadataStore {
  /** Human-readable location ("./.netwarden", "postgres://host/db"). */
  readonly location: string;

  createRun(init: {
    pipeline: string;
    params?: Record<string, ParamValue>;
    tags?: Record<string, string>;
    parentRunId?: string;
  }): Promise<RunRecord>;
  logParams(runId: string, params: Record<string, ParamValue>): Promise<void>;
  /**
   * Records metric values (NaN and ±Infinity included); with `step` they also form a per-iteration
   * history.
   */
  logMetrics(runId: string, metrics: Record<string, number>, step?: number): Promise<void>;
  setTags(runId: string, tags: Record<string, string>): Promise<void>;
  /** Adds an artifact reference; a name already in the run is replaced. */
  addArtifact(runId: string, ref: ArtifactRef): Promise<void>;
  endRun(runId: string, status: Exclude<RunStatus, "running">, error?: RunError): Promise<RunRecord>;
  getRun(runId: string): Promise<RunRecord>; // NW_STORE_NOT_FOUND if absent
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  /** The stepped values of one metric, by step (logging order among equal steps); [] if never logged. */
  metricHistory(runId: string, key: string): Promise<MetricPoint[]>;

  /**
   * Allocates the next version number and records it atomically. The run must exist
   * (NW_STORE_NOT_FOUND); a bad model name or hash is NW_STORE_INVALID_ARGUMENT.
   */
  registerVersion(init: Omit<ModelVersion, "version" | "createdAt">): Promise<ModelVersion>;
  listModels(): Promise<ModelSummary[]>;
  listVersions(model: string): Promise<ModelVersion[]>; // NW_STORE_NOT_FOUND if no such model
  getVersion(model: string, version: number): Promise<ModelVersion>;
  /** Moves (or creates) an alias; records an AliasEvent. Returns the event. */
  setAlias(
    model: string,
    alias: string,
    version: number,
    audit: { actor: string; reason: string },
  ): Promise<AliasEvent>;
  deleteAlias(model: string, alias: string, audit: { actor: string; reason: string }): Promise<AliasEvent>;
  /** The version an alias points to, or undefined; NW_STORE_NOT_FOUND if there is no such model. */
  resolveAlias(model: string, alias: string): Promise<ModelVersion | undefined>;
  /** Alias moves, oldest first. */
  aliasHistory(model: string, alias?: string): Promise<AliasEvent[]>;

  close(): Promise<void>;
}

export interface ArtifactStore {
  readonly location: string;
  /** Stores bytes under their sha256; idempotent. */
  put(bytes: Uint8Array): Promise<{ hash: string; size: number }>;
  /** Reads bytes and checks their sha256 (NW_STORE_CORRUPT on mismatch, NW_STORE_NOT_FOUND if absent). */
  get(hash: string): Promise<Uint8Array>;
  has(hash: string): Promise<boolean>;

  /**
   * Named objects, for what is written under a chosen key rather than its hash: prediction-log
   * segments, monitoring reports. Keys are relative slash-separated paths
   * (`predictions/phishing/2026-11-21/000001.jsonl`); a put replaces the object atomically.
   */
  putObject(key: string, bytes: Uint8Array): Promise<void>;
  /** NW_STORE_NOT_FOUND when absent. */
  getObject(key: string): Promise<Uint8Array>;
  /** Keys under `prefix` (a folder-like prefix, "" for all), sorted. */
  listObjects(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}
