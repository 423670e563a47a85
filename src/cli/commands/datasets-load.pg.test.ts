import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { cli, PHISHING_CSV, phishingConfig, workspace } from "../test-support/workspace.js";

// The "done when": the UCI phishing data pushed into PostgreSQL with `datasets load`
// trains the same model, with the same metrics, as the CSV. Needs NETWARDEN_TEST_DATABASE_URL.
const url = process.env.NETWARDEN_TEST_DATABASE_URL ?? "";
const suffix = randomBytes(4).toString("hex");
const table = `phishing_${suffix}`;
const schema = `nw_cli_${suffix}`;

afterAll(async () => {
  if (!url) return;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`DROP TABLE IF EXISTS "${table}"`);
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
});

describe.skipIf(!url)("datasets load + data.source: postgres (NETWARDEN_TEST_DATABASE_URL)", () => {
  it("trains the same model from the PostgreSQL table as from the CSV", async () => {
    const ws = workspace();
    const load = await cli(["datasets", "load", PHISHING_CSV, "--table", table, "--json"], {
      env: { DATABASE_URL: url },
    });
    expect(load.err).toBe("");
    expect(load.code).toBe(0);
    expect(JSON.parse(load.out)).toMatchObject({ to: "postgres", table, rows: 11055, columns: 31 });

    const fromCsv = ws.file("csv.yaml", phishingConfig({ data: PHISHING_CSV }));
    const fromDb = ws.file(
      "pg.yaml",
      phishingConfig({ data: PHISHING_CSV }).replace(
        /^data:\n {2}path: .*\n/m,
        `data:\n  source:\n    kind: postgres\n    url: \${PHISHING_DB}\n    table: ${table}\n`,
      ),
    );
    const a = await cli(["train", "-c", fromCsv, "--home", ws.home, "--json"]);
    const b = await cli(["train", "-c", fromDb, "--home", ws.home, "--json"], { env: { PHISHING_DB: url } });
    expect(a.code, a.err).toBe(0);
    expect(b.code, b.err).toBe(0);
    const csv = JSON.parse(a.out);
    const db = JSON.parse(b.out);
    expect(db.data).toEqual(csv.data);
    expect(db.metrics).toEqual(csv.metrics);
    expect(db.metrics["test.accuracy"]).toBeGreaterThan(0.9);
    // Same data and same model-shaping config: the very same bundle bytes.
    expect(db.bundleHash).toBe(csv.bundleHash);
    expect([csv.version, db.version]).toEqual([1, 2]);
    const run = JSON.parse((await cli(["runs", "show", db.runId, "--home", ws.home, "--json"])).out);
    expect(JSON.stringify(run)).not.toContain("postgres://postgres@");
  });

  it("db migrate creates the metadata tables once, then has nothing to do", async () => {
    const env = { DATABASE_URL: url, NETWARDEN_DB_SCHEMA: schema };
    const first = await cli(["db", "migrate"], { env });
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(new RegExp(`\\(schema ${schema}\\): applied migration 1; now at version 1`));
    const again = await cli(["db", "migrate", "--json"], { env });
    expect(JSON.parse(again.out)).toMatchObject({ schema, current: 1, applied: [], latest: 1 });
  });

  it("refuses what it cannot load, with the flag to fix", async () => {
    const exists = await cli(["datasets", "load", PHISHING_CSV, "--table", table], {
      env: { DATABASE_URL: url },
    });
    expect(exists.code).toBe(3);
    expect(exists.err).toContain("NW_SOURCE_FAILED");
    expect(exists.err).toContain("--replace");
    const noUrl = await cli(["datasets", "load", PHISHING_CSV, "--table", table]);
    expect(noUrl.code).toBe(2);
    expect(noUrl.err).toContain("DATABASE_URL");
  });
});
