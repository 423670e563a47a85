/**
 * A small typed client for the MLflow tracking server's REST API (2.0 endpoints, as served by
 * MLflow 2.9+ and 3.x): experiments, runs (params, metrics with steps, tags, status), artifacts
 * through the server's artifact proxy, and the model registry with aliases (not stages).
 * Transient failures (connection errors, 429, 5xx) are retried with exponential backoff.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { NetwardenError } from "../core/index.js";

export interface MlflowClientOptions {
  /** http(s) URL of the tracking server (MLFLOW_TRACKING_URI). */
  trackingUri: string;
  /** Bearer token (MLFLOW_TRACKING_TOKEN), for servers behind authentication. */
  token?: string;
  /** Attempts per request, the first included (default 4). */
  maxAttempts?: number;
  /** First retry delay in ms, doubled each time (default 200). */
  backoffMs?: number;
}

export type MlflowRunStatus = "RUNNING" | "FINISHED" | "FAILED" | "KILLED";

export interface MlflowRunInfo {
  runId: string;
  experimentId: string;
  runName: string;
  status: MlflowRunStatus;
  startTime: number;
  endTime?: number;
  artifactUri: string;
}

export interface MlflowMetric {
  key: string;
  value: number;
  /** ms since the epoch */
  timestamp: number;
  step: number;
}

export interface MlflowRun {
  info: MlflowRunInfo;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Latest value of each metric. */
  metrics: Record<string, MlflowMetric>;
}

export interface MlflowModelVersion {
  name: string;
  version: string;
  source: string;
  runId: string;
  status: string;
  description: string;
  tags: Record<string, string>;
  aliases: string[];
}

interface KeyValue {
  key: string;
  value: string;
}

/** Refusals the caller may want to tell apart from other failures. */
export type MlflowErrorCode =
  | "RESOURCE_DOES_NOT_EXIST"
  | "RESOURCE_ALREADY_EXISTS"
  | "INVALID_PARAMETER_VALUE"
  | string;

/** The limits of one log-batch request. */
const BATCH = { metrics: 1000, params: 100, tags: 100 };

export class MlflowClient {
  readonly trackingUri: string;
  private readonly base: string;
  private readonly token?: string;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;

  constructor(options: MlflowClientOptions) {
    this.trackingUri = checkTrackingUri(options.trackingUri);
    this.base = this.trackingUri.replace(/\/+$/, "");
    this.token = options.token;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.backoffMs = options.backoffMs ?? 200;
  }

  // ---- experiments ----

  async getExperimentIdByName(name: string): Promise<string | undefined> {
    try {
      const r = await this.call<{ experiment: { experiment_id: string } }>("GET", "experiments/get-by-name", {
        experiment_name: name,
      });
      return r.experiment.experiment_id;
    } catch (e) {
      if (mlflowCode(e) === "RESOURCE_DOES_NOT_EXIST") return undefined;
      throw e;
    }
  }

  /** The id of the experiment `name`, created when missing (racing creators agree on one). */
  async ensureExperiment(name: string): Promise<string> {
    const found = await this.getExperimentIdByName(name);
    if (found) return found;
    try {
      return (await this.call<{ experiment_id: string }>("POST", "experiments/create", { name }))
        .experiment_id;
    } catch (e) {
      if (mlflowCode(e) !== "RESOURCE_ALREADY_EXISTS") throw e;
      const id = await this.getExperimentIdByName(name);
      if (!id) throw e;
      return id;
    }
  }

  // ---- runs ----

  async createRun(init: {
    experimentId: string;
    runName: string;
    startTime: number;
    tags?: Record<string, string>;
  }): Promise<MlflowRunInfo> {
    const r = await this.call<{ run: RawRun }>("POST", "runs/create", {
      experiment_id: init.experimentId,
      run_name: init.runName,
      start_time: init.startTime,
      tags: toKeyValues(init.tags ?? {}),
    });
    return toRunInfo(r.run.info);
  }

  async getRun(runId: string): Promise<MlflowRun> {
    const r = await this.call<{ run: RawRun }>("GET", "runs/get", { run_id: runId });
    const data = r.run.data ?? {};
    const metrics: Record<string, MlflowMetric> = {};
    for (const m of data.metrics ?? []) metrics[m.key] = toMetric(m);
    return {
      info: toRunInfo(r.run.info),
      params: fromKeyValues(data.params),
      tags: fromKeyValues(data.tags),
      metrics,
    };
  }

  /** Logs params, metrics and tags, split into as many requests as MLflow's batch limits need. */
  async logBatch(
    runId: string,
    batch: { params?: Record<string, string>; metrics?: MlflowMetric[]; tags?: Record<string, string> },
  ): Promise<void> {
    const params = toKeyValues(batch.params ?? {});
    const tags = toKeyValues(batch.tags ?? {});
    const metrics = (batch.metrics ?? []).map((m) => ({ ...m, value: encodeDouble(m.value) }));
    while (params.length || tags.length || metrics.length) {
      await this.call("POST", "runs/log-batch", {
        run_id: runId,
        params: params.splice(0, BATCH.params),
        tags: tags.splice(0, BATCH.tags),
        metrics: metrics.splice(0, BATCH.metrics),
      });
    }
  }

  async updateRun(runId: string, status: MlflowRunStatus, endTime?: number): Promise<void> {
    await this.call("POST", "runs/update", {
      run_id: runId,
      status,
      ...(endTime === undefined ? {} : { end_time: endTime }),
    });
  }

  /** Every logged value of one metric, by step. */
  async metricHistory(runId: string, key: string): Promise<MlflowMetric[]> {
    const out: MlflowMetric[] = [];
    let token: string | undefined;
    do {
      const r = await this.call<{ metrics?: RawMetric[]; next_page_token?: string }>(
        "GET",
        "metrics/get-history",
        {
          run_id: runId,
          metric_key: key,
          max_results: "25000",
          ...(token ? { page_token: token } : {}),
        },
      );
      for (const m of r.metrics ?? []) out.push(toMetric(m));
      token = r.metrics?.length ? r.next_page_token : undefined;
    } while (token);
    return out.sort((a, b) => a.step - b.step);
  }

  /**
   * Uploads one artifact file of a run through the server's artifact proxy. The run's artifact
   * URI must be `mlflow-artifacts:/…` (a server started with `--serve-artifacts`, the default).
   */
  async uploadArtifact(run: MlflowRunInfo, path: string, bytes: Uint8Array): Promise<void> {
    const root = proxiedPath(run.artifactUri);
    const rel = path
      .split("/")
      .map((p) => encodeURIComponent(p))
      .join("/");
    await this.request("PUT", `${this.base}/api/2.0/mlflow-artifacts/artifacts/${root}/${rel}`, {
      body: bytes,
      contentType: "application/octet-stream",
    });
  }

  async listArtifacts(runId: string, path = ""): Promise<{ path: string; isDir: boolean; size?: number }[]> {
    const r = await this.call<{ files?: { path: string; is_dir?: boolean; file_size?: number | string }[] }>(
      "GET",
      "artifacts/list",
      { run_id: runId, ...(path ? { path } : {}) },
    );
    return (r.files ?? []).map((f) => ({
      path: f.path,
      isDir: f.is_dir === true,
      ...(f.file_size === undefined ? {} : { size: Number(f.file_size) }),
    }));
  }

  /** Downloads an artifact through the proxy. */
  async downloadArtifact(run: MlflowRunInfo, path: string): Promise<Uint8Array> {
    const res = await this.request(
      "GET",
      `${this.base}/api/2.0/mlflow-artifacts/artifacts/${proxiedPath(run.artifactUri)}/${path}`,
    );
    return new Uint8Array(await res.arrayBuffer());
  }

  // ---- model registry ----

  /** Creates the registered model unless it exists. */
  async ensureRegisteredModel(name: string, description?: string): Promise<void> {
    try {
      await this.call("POST", "registered-models/create", { name, ...(description ? { description } : {}) });
    } catch (e) {
      if (mlflowCode(e) !== "RESOURCE_ALREADY_EXISTS") throw e;
    }
  }

  async createModelVersion(init: {
    name: string;
    source: string;
    runId?: string;
    description?: string;
    tags?: Record<string, string>;
  }): Promise<MlflowModelVersion> {
    const r = await this.call<{ model_version: RawModelVersion }>("POST", "model-versions/create", {
      name: init.name,
      source: init.source,
      ...(init.runId ? { run_id: init.runId } : {}),
      ...(init.description ? { description: init.description } : {}),
      tags: toKeyValues(init.tags ?? {}),
    });
    return toModelVersion(r.model_version);
  }

  /** Every version of a registered model (aliases included), oldest first. */
  async listModelVersions(name: string): Promise<MlflowModelVersion[]> {
    const out: MlflowModelVersion[] = [];
    let token: string | undefined;
    do {
      const r = await this.call<{ model_versions?: RawModelVersion[]; next_page_token?: string }>(
        "GET",
        "model-versions/search",
        {
          filter: `name='${name.replaceAll("'", "\\'")}'`,
          max_results: "1000",
          ...(token ? { page_token: token } : {}),
        },
      );
      for (const v of r.model_versions ?? []) out.push(toModelVersion(v));
      token = r.model_versions?.length ? r.next_page_token : undefined;
    } while (token);
    // search does not return aliases; get-by-alias and registered-models/get do.
    const aliases = await this.registeredModelAliases(name);
    for (const v of out) v.aliases = aliases.filter((a) => a.version === v.version).map((a) => a.alias);
    return out.sort((a, b) => Number(a.version) - Number(b.version));
  }

  async registeredModelAliases(name: string): Promise<{ alias: string; version: string }[]> {
    const r = await this.call<{ registered_model: { aliases?: { alias: string; version: string }[] } }>(
      "GET",
      "registered-models/get",
      { name },
    );
    return r.registered_model.aliases ?? [];
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call("POST", "registered-models/alias", { name, alias, version });
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.call("DELETE", "registered-models/alias", { name, alias });
  }

  /** The version an alias points to, or undefined. */
  async getVersionByAlias(name: string, alias: string): Promise<MlflowModelVersion | undefined> {
    try {
      const r = await this.call<{ model_version: RawModelVersion }>("GET", "registered-models/alias", {
        name,
        alias,
      });
      return toModelVersion(r.model_version);
    } catch (e) {
      const code = mlflowCode(e);
      if (
        code === "RESOURCE_DOES_NOT_EXIST" ||
        (code === "INVALID_PARAMETER_VALUE" && /not found/i.test((e as Error).message))
      ) {
        return undefined;
      }
      throw e;
    }
  }

  // ---- transport ----

  /** One JSON call to /api/2.0/mlflow/<endpoint>: GET/DELETE put `args` in the query or body as MLflow expects. */
  private async call<T = Record<string, never>>(
    method: "GET" | "POST" | "DELETE",
    endpoint: string,
    args: Record<string, unknown>,
  ): Promise<T> {
    let url = `${this.base}/api/2.0/mlflow/${endpoint}`;
    let body: string | undefined;
    if (method === "GET") {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(args)) if (v !== undefined) q.set(k, String(v));
      url += `?${q}`;
    } else {
      body = JSON.stringify(args);
    }
    const res = await this.request(
      method,
      url,
      body === undefined ? {} : { body, contentType: "application/json" },
    );
    const text = await res.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  private async request(
    method: string,
    url: string,
    init: { body?: string | Uint8Array; contentType?: string } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (init.contentType) headers["content-type"] = init.contentType;
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const what = `${method} ${url.replace(this.base, "").split("?")[0]}`;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, { method, headers, body: init.body, redirect: "manual" });
      } catch (e) {
        if (attempt < this.maxAttempts) {
          await sleep(this.backoffMs * 2 ** (attempt - 1));
          continue;
        }
        throw new NetwardenError(
          "NW_BACKEND_UNAVAILABLE",
          `cannot reach the MLflow server at ${this.trackingUri} (${what})`,
          {
            where: "MLFLOW_TRACKING_URI",
            hint: "Check that the tracking server is running and that MLFLOW_TRACKING_URI is right",
            cause: e,
          },
        );
      }
      if (res.ok) return res;
      const retriable = res.status === 429 || res.status >= 500;
      if (retriable && attempt < this.maxAttempts) {
        await res.arrayBuffer().catch(() => undefined);
        await sleep(this.backoffMs * 2 ** (attempt - 1));
        continue;
      }
      throw await rejected(res, what, this.trackingUri);
    }
  }
}

export function checkTrackingUri(uri: string): string {
  if (/^https?:\/\/[^/]+/.test(uri)) return uri;
  throw new NetwardenError("NW_BACKEND_CONFIG", `MLFLOW_TRACKING_URI \`${uri}\` is not an http(s) URL`, {
    where: "MLFLOW_TRACKING_URI",
    hint: "Point it at the tracking server, e.g. http://mlflow.internal:5000 (file stores and databricks:// are not supported)",
  });
}

async function rejected(res: Response, what: string, uri: string): Promise<NetwardenError> {
  const text = await res.text().catch(() => "");
  let code: string | undefined;
  let message = text.slice(0, 300);
  try {
    const body = JSON.parse(text) as { error_code?: string; message?: string };
    code = body.error_code;
    message = body.message ?? message;
  } catch {
    // not JSON (a proxy's HTML page): keep the start of the text
  }
  if (res.status === 401 || res.status === 403) {
    return new NetwardenError(
      "NW_BACKEND_UNAVAILABLE",
      `the MLflow server at ${uri} refused the request (${what}: HTTP ${res.status})`,
      {
        where: "MLFLOW_TRACKING_TOKEN",
        hint: "Set MLFLOW_TRACKING_TOKEN to a token the server accepts",
        details: { status: res.status },
      },
    );
  }
  return new NetwardenError(
    "NW_MLFLOW_REJECTED",
    `MLflow refused ${what}: ${message || `HTTP ${res.status}`}`,
    {
      where: uri,
      hint: "See the message; the netwarden store already holds the change, so only the MLflow copy is missing it",
      details: { status: res.status, ...(code ? { mlflowErrorCode: code } : {}) },
    },
  );
}

/** MLflow's error_code of a refusal, if `e` is one. */
export function mlflowCode(e: unknown): MlflowErrorCode | undefined {
  return e instanceof NetwardenError ? (e.details?.mlflowErrorCode as string | undefined) : undefined;
}

/** `mlflow-artifacts:/1/<run>/artifacts` (or with a host part) → `1/<run>/artifacts`. */
function proxiedPath(artifactUri: string): string {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(artifactUri);
  if (!m) {
    throw new NetwardenError(
      "NW_BACKEND_CONFIG",
      `the MLflow run's artifact location \`${artifactUri}\` is not served by the tracking server`,
      {
        where: "MLFLOW_TRACKING_URI",
        hint: "Start the server with artifact proxying (the default; `--artifacts-destination` sets where it stores them), not with a --default-artifact-root that only the server can reach",
      },
    );
  }
  return m[1].replace(/\/+$/, "");
}

// ---- wire formats ----

interface RawRun {
  info: {
    run_id: string;
    experiment_id: string;
    run_name?: string;
    status: MlflowRunStatus;
    start_time?: number | string;
    end_time?: number | string;
    artifact_uri: string;
  };
  data?: { metrics?: RawMetric[]; params?: KeyValue[]; tags?: KeyValue[] };
}

interface RawMetric {
  key: string;
  value: number | string;
  timestamp?: number | string;
  step?: number | string;
}

interface RawModelVersion {
  name: string;
  version: string;
  source: string;
  run_id?: string;
  status?: string;
  description?: string;
  tags?: KeyValue[];
  aliases?: string[];
}

function toRunInfo(i: RawRun["info"]): MlflowRunInfo {
  return {
    runId: i.run_id,
    experimentId: i.experiment_id,
    runName: i.run_name ?? "",
    status: i.status,
    startTime: Number(i.start_time ?? 0),
    ...(i.end_time === undefined ? {} : { endTime: Number(i.end_time) }),
    artifactUri: i.artifact_uri,
  };
}

function toMetric(m: RawMetric): MlflowMetric {
  return {
    key: m.key,
    value: decodeDouble(m.value),
    timestamp: Number(m.timestamp ?? 0),
    step: Number(m.step ?? 0),
  };
}

function toModelVersion(v: RawModelVersion): MlflowModelVersion {
  return {
    name: v.name,
    version: String(v.version),
    source: v.source,
    runId: v.run_id ?? "",
    status: v.status ?? "",
    description: v.description ?? "",
    tags: fromKeyValues(v.tags),
    aliases: v.aliases ?? [],
  };
}

function toKeyValues(o: Record<string, string>): KeyValue[] {
  return Object.entries(o).map(([key, value]) => ({ key, value }));
}

function fromKeyValues(list: KeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of list ?? []) out[key] = value;
  return out;
}

/** Protobuf JSON writes non-finite doubles as the strings "NaN", "Infinity", "-Infinity". */
function encodeDouble(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

function decodeDouble(v: number | string): number {
  return typeof v === "number" ? v : Number(v);
}
