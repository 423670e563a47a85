/**
 * The embedded metadata store: plain JSON files in a local folder (default `./.netwarden/`).
 *
 *   runs/<runId>/run.json        one run (rewritten atomically on every change)
 *   runs/<runId>/metrics.jsonl   per-step metric history (appended)
 *   models/<name>.json           one registered model: versions, aliases, alias history
 *   locks/                       cross-process locks (see lock.ts)
 *
 * Several processes use one folder at once (a server polling aliases, a training run registering,
 * a user promoting), so every JSON file is replaced by rename (readers see the old or the new file,
 * never a part), and every read-modify-write runs under a lock: per model for the registry, per run
 * for run records. A model's versions, aliases and history live in one file so that a registration
 * or an alias move is a single rename: a killed process leaves either all of it or none.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { NetwardenError, TMP_PREFIX, writeFileAtomic } from "../core/index.js";
import { DEFAULT_STORE_ROOT, displayPath, ensureDir, errno, ioError, readIfExists } from "./fs-util.js";
import { DEFAULT_LOCK_STALE_MS, DEFAULT_LOCK_TIMEOUT_MS, withLock } from "./lock.js";
import {
  aliasNotFound,
  checkAliasName,
  checkArtifactRef,
  checkAudit,
  checkEndStatus,
  checkHash,
  checkLimit,
  checkLineage,
  checkMetrics,
  checkModelName,
  checkOptionalString,
  checkParams,
  checkPipeline,
  checkRunError,
  checkRunStatus,
  checkStep,
  checkTags,
  decodeMetricsInPlace,
  isRunStatus,
  modelNotFound,
  NAME_PATTERN,
  newRunId,
  nonFiniteToString,
  RUN_ID_PATTERN,
  runNotFound,
  versionNotFound,
} from "./rules.js";
import type {
  AliasEvent,
  ArtifactRef,
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

export interface FileMetadataStoreOptions {
  /** How long to wait for another process's lock before NW_STORE_LOCKED, in ms (default 10 s). */
  lockTimeoutMs?: number;
  /** A lock older than this is assumed abandoned and broken, in ms (default 30 s). */
  lockStaleMs?: number;
}

const FORMAT = 1;
const RUN_FILE = "run.json";
const METRICS_FILE = "metrics.jsonl";
const READ_BATCH = 16;

interface ModelFile {
  format: number;
  name: string;
  createdAt: string;
  updatedAt: string;
  /** versions[i].version === i + 1 */
  versions: ModelVersion[];
  aliases: Record<string, number>;
  /** Alias moves, oldest first. */
  events: AliasEvent[];
}

/** One line of metrics.jsonl: the values logged by one `logMetrics` call with a step. */
interface MetricLine {
  step: number;
  at: string;
  metrics: Record<string, number>;
}

export class FileMetadataStore implements MetadataStore {
  readonly location: string;
  /** Absolute path of the store folder. */
  readonly root: string;
  private readonly lockTimeoutMs: number;
  private readonly lockStaleMs: number;

  constructor(root: string = DEFAULT_STORE_ROOT, options: FileMetadataStoreOptions = {}) {
    this.root = resolve(root);
    this.location = displayPath(this.root);
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.lockStaleMs = options.lockStaleMs ?? DEFAULT_LOCK_STALE_MS;
  }

  // ---- runs ----

  async createRun(init: {
    pipeline: string;
    params?: Record<string, ParamValue>;
    tags?: Record<string, string>;
    parentRunId?: string;
  }): Promise<RunRecord> {
    const pipeline = checkPipeline(init.pipeline);
    const params = checkParams(init.params ?? {});
    const tags = checkTags(init.tags ?? {});
    const parentRunId = checkOptionalString(init.parentRunId, "parentRunId");
    const runsDir = join(this.root, "runs");
    await ensureDir(runsDir);
    for (let attempt = 0; ; attempt++) {
      const now = new Date();
      const record: RunRecord = {
        id: newRunId(now),
        pipeline,
        status: "running",
        startedAt: now.toISOString(),
        params,
        metrics: {},
        tags,
        artifacts: [],
        ...(parentRunId !== undefined ? { parentRunId } : {}),
      };
      // The run folder appears complete, by one rename, or not at all.
      const tmp = join(runsDir, `${TMP_PREFIX}${randomBytes(6).toString("hex")}`);
      try {
        await mkdir(tmp);
      } catch (e) {
        throw ioError("create a run folder in", runsDir, e);
      }
      try {
        await writeFileAtomic(join(tmp, RUN_FILE), serialise(record));
        await rename(tmp, join(runsDir, record.id));
        return record;
      } catch (e) {
        await rm(tmp, { recursive: true, force: true });
        const code = errno(e);
        // Same second and same 24 random bits as an existing run: draw another id.
        if ((code === "EEXIST" || code === "ENOTEMPTY") && attempt < 8) continue;
        throw ioError("create the run folder", join(runsDir, record.id), e);
      }
    }
  }

  async logParams(runId: string, params: Record<string, ParamValue>): Promise<void> {
    const checked = checkParams(params);
    await this.updateRun(runId, (run) => {
      Object.assign(run.params, checked);
    });
  }

  async logMetrics(runId: string, metrics: Record<string, number>, step?: number): Promise<void> {
    const checked = checkMetrics(metrics);
    const checkedStep = step === undefined ? undefined : checkStep(step);
    await this.updateRun(runId, async (run) => {
      if (checkedStep !== undefined) {
        const line: MetricLine = { step: checkedStep, at: new Date().toISOString(), metrics: checked };
        await appendLine(this.metricsFile(run.id), `${JSON.stringify(line, nonFiniteToString)}\n`);
      }
      Object.assign(run.metrics, checked);
    });
  }

  async setTags(runId: string, tags: Record<string, string>): Promise<void> {
    const checked = checkTags(tags);
    await this.updateRun(runId, (run) => {
      Object.assign(run.tags, checked);
    });
  }

  async addArtifact(runId: string, ref: ArtifactRef): Promise<void> {
    const checked = checkArtifactRef(ref);
    await this.updateRun(runId, (run) => {
      // Names are unique within a run: logging a name again replaces the earlier reference.
      const i = run.artifacts.findIndex((a) => a.name === checked.name);
      if (i >= 0) run.artifacts[i] = checked;
      else run.artifacts.push(checked);
    });
  }

  async endRun(runId: string, status: Exclude<RunStatus, "running">, error?: RunError): Promise<RunRecord> {
    const checkedStatus = checkEndStatus(status);
    const checkedError = checkRunError(error);
    return this.updateRun(runId, (run) => {
      run.status = checkedStatus;
      run.endedAt = new Date().toISOString();
      if (checkedError) run.error = checkedError;
      else delete run.error;
    });
  }

  async getRun(runId: string): Promise<RunRecord> {
    return this.readRun(runId);
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const limit = checkLimit(filter.limit);
    const status = filter.status === undefined ? undefined : checkRunStatus(filter.status);
    const runsDir = join(this.root, "runs");
    let names: string[];
    try {
      names = await readdir(runsDir);
    } catch (e) {
      if (errno(e) === "ENOENT") return [];
      throw ioError("list", runsDir, e);
    }
    // Ids sort by their start second, so reading newest-first can stop early; runs that share the
    // second of the last one kept are still read, since their order is decided by startedAt.
    const ids = names.filter((n) => RUN_ID_PATTERN.test(n)).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    const matched: RunRecord[] = [];
    for (let i = 0; i < ids.length; i += READ_BATCH) {
      if (matched.length >= limit && ids[i].slice(0, 15) < matched[limit - 1].id.slice(0, 15)) break;
      const batch = await Promise.all(ids.slice(i, i + READ_BATCH).map((id) => this.readRunIfExists(id)));
      for (const run of batch) {
        if (!run) continue;
        if (filter.pipeline !== undefined && run.pipeline !== filter.pipeline) continue;
        if (status !== undefined && run.status !== status) continue;
        matched.push(run);
      }
      matched.sort(newestFirst);
    }
    return matched.slice(0, limit);
  }

  async metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    const run = await this.readRun(runId);
    const file = this.metricsFile(run.id);
    const bytes = await readIfExists(file);
    if (!bytes) return [];
    const points: MetricPoint[] = [];
    const text = bytes.toString("utf8");
    let start = 0;
    let lineNo = 0;
    // Only newline-terminated lines count: an unterminated tail is an append still in progress, or
    // one a crash cut short (the next append removes it).
    for (let end = text.indexOf("\n"); end >= 0; start = end + 1, end = text.indexOf("\n", start)) {
      lineNo++;
      const line = parseMetricLine(text.slice(start, end), `${displayPath(file)}:${lineNo}`);
      if (Object.hasOwn(line.metrics, key)) {
        points.push({ key, value: line.metrics[key], step: line.step, timestamp: line.at });
      }
    }
    // Array.prototype.sort is stable: equal steps stay in logging order.
    return points.sort((a, b) => a.step - b.step);
  }

  // ---- registry ----

  async registerVersion(init: Omit<ModelVersion, "version" | "createdAt">): Promise<ModelVersion> {
    const model = checkModelName(init.model);
    const bundleHash = checkHash(init.bundleHash, "bundleHash");
    const metrics = checkMetrics(init.metrics ?? {});
    const lineage = checkLineage(init.lineage);
    const description = checkOptionalString(init.description, "description");
    const run = await this.readRun(init.runId);
    return this.withModelLock(model, async () => {
      const now = new Date().toISOString();
      const file = (await this.readModel(model)) ?? {
        format: FORMAT,
        name: model,
        createdAt: now,
        updatedAt: now,
        versions: [],
        aliases: {},
        events: [],
      };
      const version: ModelVersion = {
        model,
        version: file.versions.length + 1,
        runId: run.id,
        bundleHash,
        createdAt: now,
        metrics,
        lineage,
        ...(description !== undefined ? { description } : {}),
      };
      file.versions.push(version);
      file.updatedAt = now;
      await this.writeModel(file);
      return version;
    });
  }

  async listModels(): Promise<ModelSummary[]> {
    const modelsDir = join(this.root, "models");
    let names: string[];
    try {
      names = await readdir(modelsDir);
    } catch (e) {
      if (errno(e) === "ENOENT") return [];
      throw ioError("list", modelsDir, e);
    }
    const models = names
      .filter((n) => n.endsWith(".json") && !n.startsWith(TMP_PREFIX))
      .map((n) => n.slice(0, -".json".length))
      .filter((n) => NAME_PATTERN.test(n))
      .sort();
    const summaries: ModelSummary[] = [];
    for (let i = 0; i < models.length; i += READ_BATCH) {
      const files = await Promise.all(models.slice(i, i + READ_BATCH).map((m) => this.readModel(m)));
      for (const f of files) {
        if (!f) continue;
        summaries.push({
          name: f.name,
          latestVersion: f.versions.length,
          aliases: { ...f.aliases },
          updatedAt: f.updatedAt,
        });
      }
    }
    return summaries;
  }

  async listVersions(model: string): Promise<ModelVersion[]> {
    return (await this.requireModel(model)).versions;
  }

  async getVersion(model: string, version: number): Promise<ModelVersion> {
    const file = await this.requireModel(model);
    return pickVersion(file, version);
  }

  async setAlias(
    model: string,
    alias: string,
    version: number,
    audit: { actor: string; reason: string },
  ): Promise<AliasEvent> {
    const name = checkModelName(model);
    const aliasName = checkAliasName(alias);
    const who = checkAudit(audit);
    return this.withModelLock(name, async () => {
      const file = await this.requireModel(name);
      pickVersion(file, version);
      const now = new Date().toISOString();
      const event: AliasEvent = {
        model: name,
        alias: aliasName,
        ...(Object.hasOwn(file.aliases, aliasName) ? { from: file.aliases[aliasName] } : {}),
        to: version,
        at: now,
        actor: who.actor,
        reason: who.reason,
      };
      file.aliases[aliasName] = version;
      file.events.push(event);
      file.updatedAt = now;
      await this.writeModel(file);
      return event;
    });
  }

  async deleteAlias(
    model: string,
    alias: string,
    audit: { actor: string; reason: string },
  ): Promise<AliasEvent> {
    const name = checkModelName(model);
    const aliasName = checkAliasName(alias);
    const who = checkAudit(audit);
    return this.withModelLock(name, async () => {
      const file = await this.requireModel(name);
      if (!Object.hasOwn(file.aliases, aliasName)) {
        throw aliasNotFound(name, aliasName, Object.keys(file.aliases));
      }
      const now = new Date().toISOString();
      const event: AliasEvent = {
        model: name,
        alias: aliasName,
        from: file.aliases[aliasName],
        at: now,
        actor: who.actor,
        reason: who.reason,
      };
      delete file.aliases[aliasName];
      file.events.push(event);
      file.updatedAt = now;
      await this.writeModel(file);
      return event;
    });
  }

  async resolveAlias(model: string, alias: string): Promise<ModelVersion | undefined> {
    const aliasName = checkAliasName(alias);
    const file = await this.requireModel(model);
    if (!Object.hasOwn(file.aliases, aliasName)) return undefined;
    return file.versions[file.aliases[aliasName] - 1];
  }

  async aliasHistory(model: string, alias?: string): Promise<AliasEvent[]> {
    const aliasName = alias === undefined ? undefined : checkAliasName(alias);
    const file = await this.requireModel(model);
    return aliasName === undefined ? file.events : file.events.filter((e) => e.alias === aliasName);
  }

  async close(): Promise<void> {
    // Nothing is held open between calls: every operation opens and closes its own files.
  }

  // ---- files ----

  private runDir(runId: string): string {
    return join(this.root, "runs", runId);
  }

  private metricsFile(runId: string): string {
    return join(this.runDir(runId), METRICS_FILE);
  }

  private modelFile(model: string): string {
    return join(this.root, "models", `${model}.json`);
  }

  private lockOptions(what: string) {
    return { timeoutMs: this.lockTimeoutMs, staleMs: this.lockStaleMs, what };
  }

  private withModelLock<T>(model: string, fn: () => Promise<T>): Promise<T> {
    const dir = join(this.root, "locks", `model-${model}.lock`);
    return withLock(dir, fn, this.lockOptions(`the registry entry of model \`${model}\``));
  }

  private async updateRun(
    runId: string,
    mutate: (run: RunRecord) => void | Promise<void>,
  ): Promise<RunRecord> {
    if (typeof runId !== "string" || !RUN_ID_PATTERN.test(runId)) throw runNotFound(runId, this.location);
    const dir = join(this.root, "locks", `run-${runId}.lock`);
    return withLock(
      dir,
      async () => {
        const run = await this.readRun(runId);
        await mutate(run);
        await writeFileAtomic(join(this.runDir(runId), RUN_FILE), serialise(run));
        return run;
      },
      this.lockOptions(`run \`${runId}\``),
    );
  }

  private async readRun(runId: string): Promise<RunRecord> {
    const run = await this.readRunIfExists(runId);
    if (!run) throw runNotFound(runId, this.location);
    return run;
  }

  private async readRunIfExists(runId: string): Promise<RunRecord | undefined> {
    // The id pattern also keeps ids like "../x" from reaching the file system.
    if (typeof runId !== "string" || !RUN_ID_PATTERN.test(runId)) return undefined;
    const file = join(this.runDir(runId), RUN_FILE);
    const bytes = await readIfExists(file);
    if (!bytes) {
      if (await isDir(this.runDir(runId))) throw corrupt(file, "the run folder has no run.json");
      return undefined;
    }
    return parseRun(bytes, file, runId);
  }

  private async requireModel(model: string): Promise<ModelFile> {
    const name = checkModelName(model);
    const file = await this.readModel(name);
    if (!file) throw modelNotFound(name, this.location);
    return file;
  }

  private async readModel(model: string): Promise<ModelFile | undefined> {
    const path = this.modelFile(model);
    const bytes = await readIfExists(path);
    if (!bytes) return undefined;
    const file = parseModel(bytes, path);
    if (file.name !== model) {
      if (file.name.toLowerCase() === model.toLowerCase()) {
        // Only on case-insensitive file systems (macOS, Windows): "Phish" finds "phish.json".
        throw new NetwardenError(
          "NW_STORE_INVALID_ARGUMENT",
          `model \`${model}\` clashes with the registered model \`${file.name}\`: this file system does not tell the names apart`,
          {
            where: displayPath(path),
            hint: `Use the name \`${file.name}\`, or a name that differs by more than case`,
          },
        );
      }
      throw corrupt(path, `the file holds model \`${file.name}\`, not \`${model}\``);
    }
    return file;
  }

  private async writeModel(file: ModelFile): Promise<void> {
    await writeFileAtomic(this.modelFile(file.name), `${JSON.stringify(file, nonFiniteToString, 2)}\n`);
  }
}

function serialise(run: RunRecord): string {
  return `${JSON.stringify({ format: FORMAT, ...run }, nonFiniteToString, 2)}\n`;
}

function newestFirst(a: RunRecord, b: RunRecord): number {
  if (a.startedAt !== b.startedAt) return a.startedAt < b.startedAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function pickVersion(file: ModelFile, version: number): ModelVersion {
  const v = Number.isInteger(version) && version >= 1 ? file.versions[version - 1] : undefined;
  if (!v) throw versionNotFound(file.name, version, file.versions.length);
  return v;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Appends one newline-terminated line. Appends are not renames, so a crash can leave an unterminated
 * tail; readers ignore it, and the next append (under the same run lock) cuts it off first.
 */
async function appendLine(path: string, line: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "a+");
  } catch (e) {
    throw ioError("open", path, e);
  }
  try {
    const { size } = await fh.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) {
        const all = Buffer.alloc(size);
        await fh.read(all, 0, size, 0);
        await fh.truncate(all.lastIndexOf(0x0a) + 1);
      }
    }
    await fh.write(line);
    await fh.sync();
  } catch (e) {
    throw ioError("append to", path, e);
  } finally {
    await fh.close();
  }
}

function corrupt(path: string, why: string): NetwardenError {
  return new NetwardenError("NW_STORE_CORRUPT", `${displayPath(path)} cannot be read: ${why}`, {
    where: displayPath(path),
    hint: "The file was changed or truncated outside netwarden; restore it from a backup, or move it away to drop the record",
    details: { file: path },
  });
}

function parseJson(text: string, path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw corrupt(path, `it is not valid JSON (${(e as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw corrupt(path, "it is not a JSON object");
  }
  return value as Record<string, unknown>;
}

function checkFormat(o: Record<string, unknown>, path: string): void {
  if (o.format === FORMAT) return;
  if (typeof o.format === "number" && o.format > FORMAT) {
    throw new NetwardenError(
      "NW_STORE_CORRUPT",
      `${displayPath(path)} was written by a newer netwarden (format ${o.format})`,
      { where: displayPath(path), hint: "Upgrade netwarden to read this store" },
    );
  }
  throw corrupt(path, "it has no known `format` field");
}

const isRecordOf = (v: unknown, check: (x: unknown) => boolean): boolean =>
  v !== null && typeof v === "object" && !Array.isArray(v) && Object.values(v).every(check);

function parseRun(bytes: Buffer, path: string, runId: string): RunRecord {
  const o = parseJson(bytes.toString("utf8"), path);
  checkFormat(o, path);
  if (o.id !== runId) throw corrupt(path, `its id is ${JSON.stringify(o.id)}, not the folder name ${runId}`);
  if (
    typeof o.pipeline !== "string" ||
    !isRunStatus(o.status) ||
    typeof o.startedAt !== "string" ||
    !isRecordOf(o.params, () => true) ||
    !isRecordOf(o.tags, (v) => typeof v === "string") ||
    !Array.isArray(o.artifacts) ||
    !decodeMetricsInPlace(o.metrics)
  ) {
    throw corrupt(path, "a required field is missing or has the wrong type");
  }
  delete o.format;
  return o as unknown as RunRecord;
}

function parseMetricLine(text: string, where: string): MetricLine {
  let o: Partial<MetricLine> | null = null;
  try {
    o = JSON.parse(text) as Partial<MetricLine> | null;
  } catch {
    // reported below
  }
  if (!o || typeof o.step !== "number" || typeof o.at !== "string" || !decodeMetricsInPlace(o.metrics)) {
    throw new NetwardenError("NW_STORE_CORRUPT", `${where}: this metric history line cannot be read`, {
      where,
      hint: "The file was changed outside netwarden; restore it from a backup, or delete the line",
    });
  }
  return o as MetricLine;
}

function parseModel(bytes: Buffer, path: string): ModelFile {
  const o = parseJson(bytes.toString("utf8"), path);
  checkFormat(o, path);
  if (
    typeof o.name !== "string" ||
    typeof o.createdAt !== "string" ||
    typeof o.updatedAt !== "string" ||
    !Array.isArray(o.versions) ||
    !Array.isArray(o.events) ||
    !isRecordOf(o.aliases, (v) => Number.isInteger(v))
  ) {
    throw corrupt(path, "a required field is missing or has the wrong type");
  }
  const versions = o.versions as ModelVersion[];
  for (let i = 0; i < versions.length; i++) {
    const v = versions[i];
    if (
      !v ||
      v.version !== i + 1 ||
      v.model !== o.name ||
      typeof v.runId !== "string" ||
      typeof v.bundleHash !== "string" ||
      !decodeMetricsInPlace(v.metrics)
    ) {
      throw corrupt(path, `version entry ${i + 1} is missing, out of order or malformed`);
    }
  }
  for (const [alias, v] of Object.entries(o.aliases as Record<string, number>)) {
    if (v < 1 || v > versions.length)
      throw corrupt(path, `alias \`${alias}\` points to missing version ${v}`);
  }
  return o as unknown as ModelFile;
}
