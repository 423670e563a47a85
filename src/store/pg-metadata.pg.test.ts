import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { LATEST_MIGRATION, MIGRATIONS } from "./migrations/index.js";
import { PgMetadataStore } from "./pg-metadata.js";
import { expectCode, metadataStoreConformance } from "./test-support/conformance.js";
import type { Lineage } from "./types.js";

// Runs against a real PostgreSQL: NETWARDEN_TEST_DATABASE_URL (set by .ci/run). Every store gets its own schema.
const url = process.env.NETWARDEN_TEST_DATABASE_URL ?? "";
const schemas: string[] = [];

function freshSchema(): string {
  const name = `nw_test_${randomBytes(5).toString("hex")}`;
  schemas.push(name);
  return name;
}

afterAll(async () => {
  if (!url || schemas.length === 0) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await client.end();
});

const LINEAGE: Lineage = {
  dataFingerprint: "d".repeat(64),
  configHash: "c".repeat(64),
  codeVersion: "0.1.0",
};

describe.skipIf(!url)("PgMetadataStore (NETWARDEN_TEST_DATABASE_URL)", () => {
  metadataStoreConformance(
    "PgMetadataStore",
    async () => PgMetadataStore.open(url, { schema: freshSchema() }),
    {
      reopen: async (store) =>
        PgMetadataStore.open(url, { schema: (store as PgMetadataStore).target.schema }),
    },
  );

  it("migrates a new schema once, records it, and a second open changes nothing", async () => {
    const schema = freshSchema();
    const first = await PgMetadataStore.open(url, { schema, migrate: false }).catch((e) => e);
    expect(first.code).toBe("NW_BACKEND_SCHEMA");
    expect(first.hint).toContain("netwarden db migrate");

    const store = await PgMetadataStore.open(url, { schema });
    expect(await store.migrate()).toEqual({ current: LATEST_MIGRATION, applied: [] });
    const again = await PgMetadataStore.open(url, { schema, migrate: false });
    await again.close();
    await store.close();

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const rows = (
        await client.query(`SELECT version, name FROM "${schema}".nw_schema_migrations ORDER BY version`)
      ).rows;
      expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      const tables = (
        await client.query(
          "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
          [schema],
        )
      ).rows.map((r) => r.table_name);
      expect(tables).toEqual([
        "nw_aliases",
        "nw_metric_points",
        "nw_model_versions",
        "nw_models",
        "nw_registry_audit",
        "nw_run_artifacts",
        "nw_runs",
        "nw_schema_migrations",
      ]);
    } finally {
      await client.end();
    }
  });

  it("processes starting together apply each migration exactly once", async () => {
    const schema = freshSchema();
    const stores = await Promise.all(Array.from({ length: 4 }, () => PgMetadataStore.open(url, { schema })));
    await Promise.all(stores.map((s) => s.close()));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const r = await client.query(`SELECT count(*)::int AS n FROM "${schema}".nw_schema_migrations`);
    await client.end();
    expect(r.rows[0].n).toBe(MIGRATIONS.length);
  });

  it("refuses a database migrated by a newer netwarden", async () => {
    const schema = freshSchema();
    const store = await PgMetadataStore.open(url, { schema });
    await store.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`INSERT INTO "${schema}".nw_schema_migrations (version, name) VALUES ($1, 'future')`, [
      LATEST_MIGRATION + 1,
    ]);
    await client.end();
    const err = await expectCode(PgMetadataStore.open(url, { schema }), "NW_BACKEND_SCHEMA");
    expect(err.message).toContain(`version ${LATEST_MIGRATION + 1}`);
    expect(err.hint).toMatch(/upgrade netwarden/i);
  });

  it("writes every registry change to the audit table: who, when, from, to, why", async () => {
    const store = await PgMetadataStore.open(url, { schema: freshSchema() });
    try {
      const run = await store.createRun({ pipeline: "phishing" });
      const v1 = await store.registerVersion({
        model: "phish",
        runId: run.id,
        bundleHash: "a".repeat(64),
        metrics: {},
        lineage: LINEAGE,
      });
      await store.registerVersion({
        model: "phish",
        runId: run.id,
        bundleHash: "b".repeat(64),
        metrics: {},
        lineage: LINEAGE,
        description: "retrained on March data",
      });
      await store.setAlias("phish", "production", 1, { actor: "alice", reason: "first release" });
      await store.setAlias("phish", "production", 2, { actor: "bob", reason: "better recall" });
      await store.deleteAlias("phish", "production", { actor: "carol", reason: "incident 42" });
      const log = await store.auditLog("phish");
      expect(log.map(({ seq: _s, at: _a, ...e }) => e)).toEqual([
        {
          action: "register",
          model: "phish",
          to: 1,
          actor: `run ${run.id}`,
          reason: `registered by run ${run.id}`,
          runId: run.id,
        },
        {
          action: "register",
          model: "phish",
          to: 2,
          actor: `run ${run.id}`,
          reason: "retrained on March data",
          runId: run.id,
        },
        {
          action: "set_alias",
          model: "phish",
          alias: "production",
          to: 1,
          actor: "alice",
          reason: "first release",
        },
        {
          action: "set_alias",
          model: "phish",
          alias: "production",
          from: 1,
          to: 2,
          actor: "bob",
          reason: "better recall",
        },
        {
          action: "delete_alias",
          model: "phish",
          alias: "production",
          from: 2,
          actor: "carol",
          reason: "incident 42",
        },
      ]);
      expect(log[0].at).toBe(v1.createdAt);
      for (let i = 1; i < log.length; i++) expect(log[i].seq).toBeGreaterThan(log[i - 1].seq);
    } finally {
      await store.close();
    }
  });

  it("a failed alias move changes nothing, audit included", async () => {
    const store = await PgMetadataStore.open(url, { schema: freshSchema() });
    try {
      const run = await store.createRun({ pipeline: "p" });
      await store.registerVersion({
        model: "phish",
        runId: run.id,
        bundleHash: "a".repeat(64),
        metrics: {},
        lineage: LINEAGE,
      });
      await expectCode(
        store.setAlias("phish", "production", 7, { actor: "a", reason: "typo" }),
        "NW_STORE_NOT_FOUND",
      );
      expect((await store.auditLog("phish")).map((e) => e.action)).toEqual(["register"]);
      expect((await store.listModels())[0].aliases).toEqual({});
    } finally {
      await store.close();
    }
  });

  it("names the database without its password", async () => {
    const withPassword = new URL(url);
    withPassword.password = "s3cret"; // the CI server trusts loopback, so any password connects
    const store = await PgMetadataStore.open(withPassword.href, { schema: freshSchema() });
    try {
      expect(store.location).not.toContain("s3cret");
      expect(store.location).toMatch(/^postgres(ql)?:\/\/\w+@127\.0\.0\.1:\d+\/\w+ \(schema nw_test_\w+\)$/);
    } finally {
      await store.close();
    }
  });
});

describe("PgMetadataStore without a server", () => {
  it("refuses a URL that is not PostgreSQL with NW_BACKEND_CONFIG", async () => {
    for (const bad of ["mysql://db/x", "not a url", "postgres://"]) {
      const err = await expectCode(PgMetadataStore.open(bad), "NW_BACKEND_CONFIG");
      expect(err.where).toBe("DATABASE_URL");
    }
    await expectCode(PgMetadataStore.open("postgres://h/db", { schema: "bad-name" }), "NW_BACKEND_CONFIG");
  });

  it("reports a server that does not answer as NW_BACKEND_UNAVAILABLE, without the password", async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const err = await expectCode(
      PgMetadataStore.open("postgres://app:hunter2@127.0.0.1:1/netwarden"),
      "NW_BACKEND_UNAVAILABLE",
    );
    expect(err.message).toContain("postgres://app@127.0.0.1:1/netwarden");
    expect(JSON.stringify(err.toJSON())).not.toContain("hunter2");
    expect(err.hint).toMatch(/server is running/);
  });
});
