/**
 * The production metadata store: PostgreSQL (`DATABASE_URL`). Same contract as the embedded store
 * (the conformance suite runs against both), with the database doing what locks and renames do
 * there: a registration or an alias move is one transaction that first locks the model's row, so
 * racing writers queue up and every change lands, with its audit row, or none of it does.
 */
import type pg from "pg";
import { NetwardenError } from "../core/index.js";
import {
  LATEST_MIGRATION,
  type MigrationStatus,
  migrate,
  schemaVersion,
  tooNew,
} from "./migrations/index.js";
import { createPool, type PgTarget, pgError, pgTarget } from "./pg-connection.js";
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
  modelNotFound,
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

export interface PgMetadataStoreOptions {
  /** Schema holding the tables (default "public"); created by the first migration. */
  schema?: string;
  /** Apply pending migrations on open (default true); otherwise a database behind is an error. */
  migrate?: boolean;
  /** Most connections the store opens at once (default 10). */
  maxConnections?: number;
}

type Row = Record<string, unknown>;

const RUN_COLUMNS = "id, pipeline, status, started_at, ended_at, params, metrics, tags, error, parent_run_id";
const VERSION_COLUMNS = "model, version, run_id, bundle_hash, created_at, metrics, lineage, description";

export class PgMetadataStore implements MetadataStore {
  readonly location: string;
  readonly target: PgTarget;
  private readonly pool: pg.Pool;

  private constructor(target: PgTarget, maxConnections: number) {
    this.target = target;
    this.location =
      target.schema === "public" ? target.display : `${target.display} (schema ${target.schema})`;
    this.pool = createPool(target, maxConnections);
  }

  /** Connects, and migrates the schema (or checks it is current, with `migrate: false`). */
  static async open(url: string, options: PgMetadataStoreOptions = {}): Promise<PgMetadataStore> {
    const store = new PgMetadataStore(pgTarget(url, options.schema), options.maxConnections ?? 10);
    try {
      if (options.migrate === false) await store.requireCurrentSchema();
      else await store.migrate();
      return store;
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  /** Applies pending migrations and disconnects (what `netwarden db migrate` runs). */
  static async migrateDatabase(url: string, options: { schema?: string } = {}): Promise<MigrationStatus> {
    const store = new PgMetadataStore(pgTarget(url, options.schema), 1);
    try {
      return await store.migrate();
    } finally {
      await store.close();
    }
  }

  /** Applies pending migrations. */
  async migrate(): Promise<MigrationStatus> {
    const client = await this.connect();
    try {
      return await migrate(client, this.target.schema);
    } catch (e) {
      throw pgError(e, this.target, "migrate the schema");
    } finally {
      client.release();
    }
  }

  private async requireCurrentSchema(): Promise<void> {
    let version: number;
    try {
      version = await schemaVersion(this.pool, this.target.schema);
    } catch (e) {
      throw pgError(e, this.target, "read the schema version");
    }
    if (version > LATEST_MIGRATION) throw tooNew(version);
    if (version < LATEST_MIGRATION) {
      throw new NetwardenError(
        "NW_BACKEND_SCHEMA",
        `the database at ${this.location} is at schema version ${version}; this netwarden needs ${LATEST_MIGRATION}`,
        { hint: "Run `netwarden db migrate` (automatic migration is off: NETWARDEN_DB_AUTO_MIGRATE=false)" },
      );
    }
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
    for (let attempt = 0; ; attempt++) {
      const now = new Date();
      const id = newRunId(now);
      try {
        const r = await this.pool.query(
          `INSERT INTO nw_runs (id, pipeline, status, started_at, params, tags, parent_run_id)
           VALUES ($1, $2, 'running', $3, $4::jsonb, $5::jsonb, $6)
           ON CONFLICT (id) DO NOTHING RETURNING ${RUN_COLUMNS}`,
          [id, pipeline, now, JSON.stringify(params), JSON.stringify(tags), parentRunId ?? null],
        );
        // Same second and same 24 random bits as an existing run: draw another id.
        if (r.rows.length === 0 && attempt < 8) continue;
        if (r.rows.length === 0) throw new Error(`run id ${id} collided 8 times`);
        return toRun(r.rows[0], []);
      } catch (e) {
        throw pgError(e, this.target, "create a run");
      }
    }
  }

  async logParams(runId: string, params: Record<string, ParamValue>): Promise<void> {
    const checked = checkParams(params);
    await this.updateRun(runId, "params = params || $2::jsonb", [JSON.stringify(checked)]);
  }

  async logMetrics(runId: string, metrics: Record<string, number>, step?: number): Promise<void> {
    const checked = checkMetrics(metrics);
    const checkedStep = step === undefined ? undefined : checkStep(step);
    const json = JSON.stringify(checked, nonFiniteToString);
    if (checkedStep === undefined) {
      await this.updateRun(runId, "metrics = metrics || $2::jsonb", [json]);
      return;
    }
    const keys = Object.keys(checked);
    await this.transaction("log metrics", async (c) => {
      const r = await c.query("UPDATE nw_runs SET metrics = metrics || $2::jsonb WHERE id = $1", [
        runIdOrMissing(runId),
        json,
      ]);
      if (r.rowCount === 0) throw runNotFound(runId, this.location);
      // Values travel as text: float8 input reads "NaN" and "Infinity", and shortest round-trip
      // decimal text is exact.
      await c.query(
        `INSERT INTO nw_metric_points (run_id, key, step, value, at)
         SELECT $1, k, $2, v::float8, $3 FROM unnest($4::text[], $5::text[]) AS t(k, v)`,
        [runId, checkedStep, new Date(), keys, keys.map((k) => String(checked[k]))],
      );
    });
  }

  async setTags(runId: string, tags: Record<string, string>): Promise<void> {
    const checked = checkTags(tags);
    await this.updateRun(runId, "tags = tags || $2::jsonb", [JSON.stringify(checked)]);
  }

  async addArtifact(runId: string, ref: ArtifactRef): Promise<void> {
    const a = checkArtifactRef(ref);
    try {
      const r = await this.pool.query(
        `INSERT INTO nw_run_artifacts (run_id, name, hash, size, media_type)
         SELECT id, $2, $3, $4, $5 FROM nw_runs WHERE id = $1
         ON CONFLICT (run_id, name) DO UPDATE SET hash = EXCLUDED.hash, size = EXCLUDED.size, media_type = EXCLUDED.media_type`,
        [runIdOrMissing(runId), a.name, a.hash, a.size, a.mediaType],
      );
      if (r.rowCount === 0) throw runNotFound(runId, this.location);
    } catch (e) {
      throw pgError(e, this.target, "add an artifact to a run");
    }
  }

  async endRun(runId: string, status: Exclude<RunStatus, "running">, error?: RunError): Promise<RunRecord> {
    const checkedStatus = checkEndStatus(status);
    const checkedError = checkRunError(error);
    await this.updateRun(runId, "status = $2, ended_at = $3, error = $4::jsonb", [
      checkedStatus,
      new Date(),
      checkedError ? JSON.stringify(checkedError) : null,
    ]);
    return this.getRun(runId);
  }

  async getRun(runId: string): Promise<RunRecord> {
    const run = (await this.readRuns("WHERE id = $1", [runIdOrMissing(runId)]))[0];
    if (!run) throw runNotFound(runId, this.location);
    return run;
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const limit = checkLimit(filter.limit);
    const status = filter.status === undefined ? undefined : checkRunStatus(filter.status);
    const where: string[] = [];
    const values: unknown[] = [];
    if (filter.pipeline !== undefined) {
      values.push(filter.pipeline);
      where.push(`pipeline = $${values.length}`);
    }
    if (status !== undefined) {
      values.push(status);
      where.push(`status = $${values.length}`);
    }
    values.push(limit);
    const clause = `${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY started_at DESC, id COLLATE "C" DESC LIMIT $${values.length}`;
    return this.readRuns(clause, values);
  }

  async metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    await this.getRun(runId);
    const r = await this.query(
      "SELECT step, value, at FROM nw_metric_points WHERE run_id = $1 AND key = $2 ORDER BY step, seq",
      [runId, key],
      "read a metric history",
    );
    return r.rows.map((row) => ({
      key,
      value: row.value as number,
      step: Number(row.step),
      timestamp: iso(row.at),
    }));
  }

  // ---- registry ----

  async registerVersion(init: Omit<ModelVersion, "version" | "createdAt">): Promise<ModelVersion> {
    const model = checkModelName(init.model);
    const bundleHash = checkHash(init.bundleHash, "bundleHash");
    const metrics = checkMetrics(init.metrics ?? {});
    const lineage = checkLineage(init.lineage);
    const description = checkOptionalString(init.description, "description");
    const run = await this.getRun(init.runId);
    return this.transaction("register a model version", async (c) => {
      const now = new Date();
      await c.query(
        "INSERT INTO nw_models (name, created_at, updated_at) VALUES ($1, $2, $2) ON CONFLICT (name) DO NOTHING",
        [model, now],
      );
      // The row lock orders concurrent registrations: each sees the version the previous one took.
      const m = await c.query("SELECT latest_version FROM nw_models WHERE name = $1 FOR UPDATE", [model]);
      const version = Number(m.rows[0].latest_version) + 1;
      await c.query(
        `INSERT INTO nw_model_versions (${VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8)`,
        [
          model,
          version,
          run.id,
          bundleHash,
          now,
          JSON.stringify(metrics, nonFiniteToString),
          JSON.stringify(lineage),
          description ?? null,
        ],
      );
      await c.query("UPDATE nw_models SET latest_version = $2, updated_at = $3 WHERE name = $1", [
        model,
        version,
        now,
      ]);
      await c.query(
        `INSERT INTO nw_registry_audit (at, actor, reason, action, model, to_version, run_id)
         VALUES ($1, $2, $3, 'register', $4, $5, $6)`,
        [now, `run ${run.id}`, description ?? `registered by run ${run.id}`, model, version, run.id],
      );
      return {
        model,
        version,
        runId: run.id,
        bundleHash,
        createdAt: now.toISOString(),
        metrics,
        lineage,
        ...(description !== undefined ? { description } : {}),
      };
    });
  }

  async listModels(): Promise<ModelSummary[]> {
    const r = await this.query(
      `SELECT m.name, m.latest_version, m.updated_at,
              coalesce(jsonb_object_agg(a.alias, a.version) FILTER (WHERE a.alias IS NOT NULL), '{}') AS aliases
       FROM nw_models m LEFT JOIN nw_aliases a ON a.model = m.name
       GROUP BY m.name ORDER BY m.name COLLATE "C"`,
      [],
      "list models",
    );
    return r.rows.map((row) => ({
      name: row.name as string,
      latestVersion: Number(row.latest_version),
      aliases: row.aliases as Record<string, number>,
      updatedAt: iso(row.updated_at),
    }));
  }

  async listVersions(model: string): Promise<ModelVersion[]> {
    const name = await this.requireModel(model);
    const r = await this.query(
      `SELECT ${VERSION_COLUMNS} FROM nw_model_versions WHERE model = $1 ORDER BY version`,
      [name],
      "list model versions",
    );
    return r.rows.map(toVersion);
  }

  async getVersion(model: string, version: number): Promise<ModelVersion> {
    const name = await this.requireModel(model);
    return this.readVersion(this.pool, name, version);
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
    return this.transaction("move an alias", async (c) => {
      await this.lockModel(c, name);
      await this.readVersion(c, name, version);
      const before = await c.query("SELECT version FROM nw_aliases WHERE model = $1 AND alias = $2", [
        name,
        aliasName,
      ]);
      await c.query(
        `INSERT INTO nw_aliases (model, alias, version) VALUES ($1, $2, $3)
         ON CONFLICT (model, alias) DO UPDATE SET version = EXCLUDED.version`,
        [name, aliasName, version],
      );
      const from = before.rows.length ? Number(before.rows[0].version) : undefined;
      return this.recordAliasEvent(c, { model: name, alias: aliasName, from, to: version, ...who });
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
    return this.transaction("delete an alias", async (c) => {
      await this.lockModel(c, name);
      const gone = await c.query("DELETE FROM nw_aliases WHERE model = $1 AND alias = $2 RETURNING version", [
        name,
        aliasName,
      ]);
      if (gone.rows.length === 0) {
        const rest = await c.query(
          'SELECT alias FROM nw_aliases WHERE model = $1 ORDER BY alias COLLATE "C"',
          [name],
        );
        throw aliasNotFound(
          name,
          aliasName,
          rest.rows.map((r) => r.alias as string),
        );
      }
      const from = Number(gone.rows[0].version);
      return this.recordAliasEvent(c, { model: name, alias: aliasName, from, ...who });
    });
  }

  async resolveAlias(model: string, alias: string): Promise<ModelVersion | undefined> {
    const aliasName = checkAliasName(alias);
    const name = await this.requireModel(model);
    const r = await this.query(
      `SELECT ${VERSION_COLUMNS.split(", ")
        .map((c) => `v.${c}`)
        .join(", ")}
       FROM nw_aliases a JOIN nw_model_versions v ON v.model = a.model AND v.version = a.version
       WHERE a.model = $1 AND a.alias = $2`,
      [name, aliasName],
      "resolve an alias",
    );
    return r.rows.length ? toVersion(r.rows[0]) : undefined;
  }

  async aliasHistory(model: string, alias?: string): Promise<AliasEvent[]> {
    const aliasName = alias === undefined ? undefined : checkAliasName(alias);
    const name = await this.requireModel(model);
    const r = await this.query(
      `SELECT model, alias, from_version, to_version, at, actor, reason FROM nw_registry_audit
       WHERE model = $1 AND action IN ('set_alias', 'delete_alias') ${aliasName === undefined ? "" : "AND alias = $2"}
       ORDER BY seq`,
      aliasName === undefined ? [name] : [name, aliasName],
      "read the alias history",
    );
    return r.rows.map(toAliasEvent);
  }

  /** Every registry change of a model (registrations and alias moves), oldest first. */
  async auditLog(model: string): Promise<RegistryAuditEntry[]> {
    const name = await this.requireModel(model);
    const r = await this.query(
      `SELECT seq, action, model, alias, from_version, to_version, at, actor, reason, run_id
       FROM nw_registry_audit WHERE model = $1 ORDER BY seq`,
      [name],
      "read the audit log",
    );
    return r.rows.map((row) => ({
      seq: Number(row.seq),
      action: row.action as RegistryAuditEntry["action"],
      model: row.model as string,
      ...(row.alias === null ? {} : { alias: row.alias as string }),
      ...(row.from_version === null ? {} : { from: Number(row.from_version) }),
      ...(row.to_version === null ? {} : { to: Number(row.to_version) }),
      at: iso(row.at),
      actor: row.actor as string,
      reason: row.reason as string,
      ...(row.run_id === null ? {} : { runId: row.run_id as string }),
    }));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  // ---- helpers ----

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (e) {
      throw pgError(e, this.target, "connect");
    }
  }

  private async query(text: string, values: unknown[], action: string): Promise<pg.QueryResult<Row>> {
    try {
      return await this.pool.query(text, values);
    } catch (e) {
      throw pgError(e, this.target, action);
    }
  }

  private async transaction<T>(action: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      await client.query("BEGIN");
      const out = await fn(client);
      await client.query("COMMIT");
      return out;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw pgError(e, this.target, action);
    } finally {
      client.release();
    }
  }

  private async updateRun(runId: string, set: string, values: unknown[]): Promise<void> {
    const r = await this.query(
      `UPDATE nw_runs SET ${set} WHERE id = $1`,
      [runIdOrMissing(runId), ...values],
      "update a run",
    );
    if (r.rowCount === 0) throw runNotFound(runId, this.location);
  }

  private async readRuns(clause: string, values: unknown[]): Promise<RunRecord[]> {
    const r = await this.query(`SELECT ${RUN_COLUMNS} FROM nw_runs ${clause}`, values, "read runs");
    if (r.rows.length === 0) return [];
    const ids = r.rows.map((row) => row.id as string);
    const a = await this.query(
      "SELECT run_id, name, hash, size, media_type FROM nw_run_artifacts WHERE run_id = ANY($1) ORDER BY pos",
      [ids],
      "read run artifacts",
    );
    const byRun = new Map<string, ArtifactRef[]>();
    for (const row of a.rows) {
      const list = byRun.get(row.run_id as string) ?? [];
      list.push({
        name: row.name as string,
        hash: row.hash as string,
        size: Number(row.size),
        mediaType: row.media_type as string,
      });
      byRun.set(row.run_id as string, list);
    }
    return r.rows.map((row) => toRun(row, byRun.get(row.id as string) ?? []));
  }

  private async requireModel(model: string): Promise<string> {
    const name = checkModelName(model);
    const r = await this.query("SELECT 1 FROM nw_models WHERE name = $1", [name], "read the registry");
    if (r.rows.length === 0) throw modelNotFound(name, this.location);
    return name;
  }

  /** Locks the model's row for the rest of the transaction; NW_STORE_NOT_FOUND if there is none. */
  private async lockModel(c: pg.PoolClient, name: string): Promise<void> {
    const r = await c.query("SELECT 1 FROM nw_models WHERE name = $1 FOR UPDATE", [name]);
    if (r.rows.length === 0) throw modelNotFound(name, this.location);
  }

  private async readVersion(
    c: Pick<pg.Pool, "query"> | pg.PoolClient,
    model: string,
    version: number,
  ): Promise<ModelVersion> {
    if (!Number.isSafeInteger(version) || version < 1) throw await this.versionMissing(c, model, version);
    const r = await c.query(
      `SELECT ${VERSION_COLUMNS} FROM nw_model_versions WHERE model = $1 AND version = $2`,
      [model, version],
    );
    if (r.rows.length === 0) throw await this.versionMissing(c, model, version);
    return toVersion(r.rows[0]);
  }

  private async versionMissing(
    c: Pick<pg.Pool, "query"> | pg.PoolClient,
    model: string,
    version: unknown,
  ): Promise<NetwardenError> {
    const r = await c.query("SELECT latest_version FROM nw_models WHERE name = $1", [model]);
    return versionNotFound(model, version, Number(r.rows[0]?.latest_version ?? 0));
  }

  private async recordAliasEvent(
    c: pg.PoolClient,
    e: { model: string; alias: string; from?: number; to?: number; actor: string; reason: string },
  ): Promise<AliasEvent> {
    const now = new Date();
    await c.query(
      `INSERT INTO nw_registry_audit (at, actor, reason, action, model, alias, from_version, to_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        now,
        e.actor,
        e.reason,
        e.to === undefined ? "delete_alias" : "set_alias",
        e.model,
        e.alias,
        e.from ?? null,
        e.to ?? null,
      ],
    );
    await c.query("UPDATE nw_models SET updated_at = $2 WHERE name = $1", [e.model, now]);
    return {
      model: e.model,
      alias: e.alias,
      ...(e.from === undefined ? {} : { from: e.from }),
      ...(e.to === undefined ? {} : { to: e.to }),
      at: now.toISOString(),
      actor: e.actor,
      reason: e.reason,
    };
  }
}

/** One row of the registry audit table. */
export interface RegistryAuditEntry {
  seq: number;
  action: "register" | "set_alias" | "delete_alias";
  model: string;
  alias?: string;
  from?: number;
  to?: number;
  at: string;
  actor: string;
  reason: string;
  runId?: string;
}

/** Ids that cannot be run ids never match a row; the pattern check keeps odd text out of queries. */
function runIdOrMissing(runId: unknown): string {
  return typeof runId === "string" && RUN_ID_PATTERN.test(runId) ? runId : "";
}

function iso(v: unknown): string {
  return (v as Date).toISOString();
}

function corrupt(what: string): NetwardenError {
  return new NetwardenError("NW_STORE_CORRUPT", `a stored ${what} cannot be read`, {
    hint: "A row was changed outside netwarden; restore it from a backup",
  });
}

function toRun(row: Row, artifacts: ArtifactRef[]): RunRecord {
  const metrics = row.metrics as Record<string, unknown>;
  if (!decodeMetricsInPlace(metrics)) throw corrupt(`metric of run ${String(row.id)}`);
  return {
    id: row.id as string,
    pipeline: row.pipeline as string,
    status: row.status as RunStatus,
    startedAt: iso(row.started_at),
    ...(row.ended_at === null ? {} : { endedAt: iso(row.ended_at) }),
    params: row.params as Record<string, ParamValue>,
    metrics,
    tags: row.tags as Record<string, string>,
    artifacts,
    ...(row.error === null ? {} : { error: row.error as RunError }),
    ...(row.parent_run_id === null ? {} : { parentRunId: row.parent_run_id as string }),
  };
}

function toVersion(row: Row): ModelVersion {
  const metrics = row.metrics as Record<string, unknown>;
  if (!decodeMetricsInPlace(metrics)) throw corrupt(`metric of ${String(row.model)}@${String(row.version)}`);
  return {
    model: row.model as string,
    version: Number(row.version),
    runId: row.run_id as string,
    bundleHash: row.bundle_hash as string,
    createdAt: iso(row.created_at),
    metrics,
    lineage: row.lineage as ModelVersion["lineage"],
    ...(row.description === null ? {} : { description: row.description as string }),
  };
}

function toAliasEvent(row: Row): AliasEvent {
  return {
    model: row.model as string,
    alias: row.alias as string,
    ...(row.from_version === null ? {} : { from: Number(row.from_version) }),
    ...(row.to_version === null ? {} : { to: Number(row.to_version) }),
    at: iso(row.at),
    actor: row.actor as string,
    reason: row.reason as string,
  };
}
