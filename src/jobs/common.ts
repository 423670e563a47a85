import { type LoadedConfig, loadPipelineConfig } from "../config/index.js";
import { asNetwardenError, NetwardenError, type Progress } from "../core/index.js";
import { concatTables, type DataSchema, type Table } from "../data/index.js";
import { type Bundle, type Dataset, decodeBundle, ingest, toDataSchema } from "../pipeline/index.js";
import type { ArtifactStore, MetadataStore, ModelVersion, ParamValue, RunRecord } from "../store/index.js";

/** What every job handler needs: the stores and the pipeline files a payload may name. */
export interface JobStores {
  metadata: MetadataStore;
  artifacts: ArtifactStore;
  /** Pipeline files a job may name, by name: a request never passes a path of its own. */
  configs: Readonly<Record<string, string>>;
  /** Recorded in the alias history when the job did not say who submitted it. */
  actor?: string;
}

type Payload = Record<string, unknown>;

function invalid(key: string, message: string, hint?: string): NetwardenError {
  return new NetwardenError("NW_JOB_INVALID", message, {
    where: `payload.${key}`,
    ...(hint ? { hint } : {}),
  });
}

/** Rejects keys the job does not know, so a typo is an error rather than a silently ignored option. */
export function checkKeys(payload: Payload, known: readonly string[], type: string): void {
  const extra = Object.keys(payload).filter((k) => !known.includes(k) && k !== "submittedBy");
  if (extra.length) {
    throw invalid(
      extra[0],
      `\`${type}\` jobs have no option \`${extra[0]}\``,
      `Their options: ${known.join(", ")}`,
    );
  }
}

export function optionalString(payload: Payload, key: string): string | undefined {
  const v = payload[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") throw invalid(key, `\`${key}\` must be a non-empty string`);
  return v;
}

export function requiredString(payload: Payload, key: string, hint: string): string {
  const v = optionalString(payload, key);
  if (v === undefined) throw invalid(key, `\`${key}\` is required`, hint);
  return v;
}

export function optionalInt(payload: Payload, key: string, min: number): number | undefined {
  let v = payload[key];
  // Schedules and CLI `--set` pass text.
  if (typeof v === "string" && /^\d+$/.test(v)) v = Number(v);
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw invalid(key, `\`${key}\` must be a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function oneOf<T extends string>(
  payload: Payload,
  key: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const v = payload[key] ?? fallback;
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw invalid(key, `\`${key}\` must be one of ${allowed.join(", ")}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** `yyyy-mm-dd`, as prediction-log days are named. */
export function optionalDay(payload: Payload, key: string): string | undefined {
  const v = optionalString(payload, key);
  if (v !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    throw invalid(key, `\`${key}\` must be a day as yyyy-mm-dd, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** The file of the stored config `name` (NW_JOB_INVALID, naming the ones there are, when none has it). */
export function storedConfigFile(
  configs: Readonly<Record<string, string>>,
  name: unknown,
  where = "payload.config",
): string {
  if (typeof name !== "string" || !Object.hasOwn(configs, name)) {
    const known = Object.keys(configs);
    throw new NetwardenError(
      "NW_JOB_INVALID",
      typeof name === "string"
        ? `no stored training config \`${name.slice(0, 100)}\``
        : "`config` must name a stored config",
      {
        where,
        hint: known.length
          ? `Stored configs: ${known.join(", ")}`
          : "The server has none: list them under jobs.train_configs in the serve config",
      },
    );
  }
  return configs[name];
}

/** The stored pipeline config `payload.config` names, loaded. */
export async function storedConfig(stores: JobStores, payload: Payload): Promise<LoadedConfig> {
  return loadPipelineConfig(storedConfigFile(stores.configs, payload.config));
}

export interface RegisteredModel {
  version: ModelVersion;
  bundle: Bundle;
  /** How it was asked for: `phishing@production` or `phishing v3`. */
  ref: string;
}

/** The registered model a payload names (`model`, and `alias` or `version`), with its bundle loaded. */
export async function registeredModel(stores: JobStores, payload: Payload): Promise<RegisteredModel> {
  const model = requiredString(payload, "model", "Name a registered model (see `netwarden models list`)");
  const number = optionalInt(payload, "version", 1);
  const alias = optionalString(payload, "alias");
  if (number !== undefined && alias !== undefined) {
    throw invalid("version", "give `alias` or `version`, not both");
  }
  let version: ModelVersion;
  let ref: string;
  if (number !== undefined) {
    version = await stores.metadata.getVersion(model, number);
    ref = `${model} v${number}`;
  } else {
    const a = alias ?? "production";
    const found = await stores.metadata.resolveAlias(model, a);
    if (!found) {
      throw new NetwardenError("NW_STORE_NOT_FOUND", `model \`${model}\` has no alias \`${a}\``, {
        where: "payload.alias",
        hint: `Promote a version first (netwarden models promote ${model} <version> --alias ${a}) or name a version`,
      });
    }
    version = found;
    ref = `${model}@${a}`;
  }
  const bundle = decodeBundle(await stores.artifacts.get(version.bundleHash), `${model} v${version.version}`);
  return { version, bundle, ref };
}

/** A run that records one job's work next to the training runs; failed jobs end it as failed. */
export interface JobRun {
  run: RunRecord;
  put(name: string, bytes: Uint8Array | string, mediaType: string): Promise<string>;
}

export async function withJobRun<T>(
  stores: JobStores,
  init: {
    type: string;
    model: RegisteredModel;
    params: Record<string, ParamValue>;
    tags?: Record<string, string>;
  },
  work: (r: JobRun) => Promise<T>,
): Promise<T> {
  const { version } = init.model;
  const run = await stores.metadata.createRun({
    pipeline: version.model,
    params: { job_type: init.type, model: version.model, model_version: version.version, ...init.params },
    tags: { job_type: init.type, model: version.model, model_version: String(version.version), ...init.tags },
    parentRunId: version.runId,
  });
  const put = async (name: string, bytes: Uint8Array | string, mediaType: string) => {
    const data = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
    const { hash, size } = await stores.artifacts.put(data);
    await stores.metadata.addArtifact(run.id, { name, hash, size, mediaType });
    return hash;
  };
  try {
    const out = await work({ run, put });
    await stores.metadata.endRun(run.id, "finished");
    return out;
  } catch (e) {
    const err = asNetwardenError(e);
    await stores.metadata.endRun(run.id, "failed", { code: err.code, message: err.message }).catch(() => {});
    throw e;
  }
}

/**
 * A stored config can feed a model only when its schema names the model's target and holds every
 * input the model was trained on.
 */
export function checkConfigFits(loaded: LoadedConfig, schema: DataSchema, model: RegisteredModel): void {
  const where = "payload.config";
  const target = model.bundle.manifest.target.name;
  if (loaded.config.schema.target !== target) {
    throw new NetwardenError(
      "NW_JOB_INVALID",
      `config \`${loaded.config.name}\` has target \`${loaded.config.schema.target}\`, ${model.ref} predicts \`${target}\``,
      { where, hint: "Name a config with the model's target column" },
    );
  }
  const byName = new Map(schema.columns.map((c) => [c.name, c]));
  const missing = model.bundle.manifest.inputs.filter((i) => byName.get(i.name)?.role !== "feature");
  if (missing.length) {
    throw new NetwardenError(
      "NW_JOB_INVALID",
      `config \`${loaded.config.name}\` lacks ${missing.length} input${missing.length > 1 ? "s" : ""} of ${model.ref}: ${missing
        .slice(0, 5)
        .map((i) => i.name)
        .join(", ")}${missing.length > 5 ? ", ..." : ""}`,
      {
        where,
        hint: "Name the config the model was trained with, or one whose schema lists the same features",
      },
    );
  }
}

const SPLITS = ["test", "train", "all"] as const;
export type DataSplit = (typeof SPLITS)[number];

/** `payload.split`, checked before any data is read. */
export function splitOf(payload: Payload, fallback: DataSplit): DataSplit {
  return oneOf(payload, "split", SPLITS, fallback);
}

/**
 * The rows of a stored config's data (`payload.config`) in `split`, read, validated and split
 * exactly as training does (`all`: both splits).
 */
export async function storedSplit(
  stores: JobStores,
  payload: Payload,
  model: RegisteredModel,
  progress: Progress,
  split: DataSplit,
): Promise<{ loaded: LoadedConfig; ds: Dataset; table: Table }> {
  const loaded = await storedConfig(stores, payload);
  const schema = toDataSchema(loaded.config, loaded.locate);
  checkConfigFits(loaded, schema, model);
  const ds = await ingest(loaded.config, schema, progress);
  const table = split === "test" ? ds.test : split === "train" ? ds.train : concatTables([ds.train, ds.test]);
  return { loaded, ds, table };
}

export function optionalNumber(payload: Payload, key: string, min: number, max: number): number | undefined {
  let v = payload[key];
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) v = Number(v);
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !(v >= min && v <= max)) {
    throw invalid(key, `\`${key}\` must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}
