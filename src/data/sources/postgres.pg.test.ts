import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { fingerprintTable } from "../fingerprint.js";
import type { DataSchema } from "../schema.js";
import { loadIntoPostgres, readPostgres } from "./postgres.js";
import { expectCode, phishing, unsw } from "./test-support/datasets.js";

// Runs against a real PostgreSQL: NETWARDEN_TEST_DATABASE_URL (set by .ci/run).
const url = process.env.NETWARDEN_TEST_DATABASE_URL ?? "";
const tables: string[] = [];
function freshTable(): string {
  const t = `nw_src_${randomBytes(4).toString("hex")}`;
  tables.push(t);
  return t;
}
async function sql(text: string, values: unknown[] = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, values);
  } finally {
    await c.end();
  }
}
afterAll(async () => {
  if (url) for (const t of tables) await sql(`DROP TABLE IF EXISTS "${t}"`);
});

describe.skipIf(!url)("PostgreSQL source (NETWARDEN_TEST_DATABASE_URL)", () => {
  it("phishing: loaded into a table and read back through a cursor, it is the CSV's Table", async () => {
    const csv = await phishing();
    const table = freshTable();
    expect(await loadIntoPostgres(csv.table, { url, table, batchSize: 700 })).toEqual({
      rows: 11055,
      columns: csv.table.names,
    });
    const cols = await sql(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
      [table],
    );
    expect(cols.rows.slice(0, 2)).toEqual([
      { column_name: "_id", data_type: "bigint" },
      { column_name: "having_IP_Address", data_type: "bigint" },
    ]);
    expect(cols.rows.find((r) => r.column_name === "Result")?.data_type).toBe("text");
    // Stored in a shuffled physical order: the primary key (_id) still gives the file's order.
    await sql(`CLUSTER "${table}" USING "${table}_pkey"`);
    await sql(`UPDATE "${table}" SET "URL_Length" = "URL_Length" WHERE _id % 3 = 0`);
    const r = await readPostgres({ url, table, batchSize: 1000 }, { schema: csv.schema });
    expect(r.table.nRows).toBe(11055);
    expect(r.label).toBe(`postgres table \`${table}\``);
    expect(r.header).toEqual(csv.header);
    expect(r.rowIssues).toEqual([]);
    expect(fingerprintTable(r.table)).toBe(fingerprintTable(csv.table));
    for (const i of [0, 1, 5000, 11054]) expect(r.table.row(i)).toEqual(csv.table.row(i));
  });

  it("UNSW-NB15 (text, integer and real columns, 82k rows) round-trips exactly", async () => {
    const csv = await unsw();
    const table = freshTable();
    await loadIntoPostgres(csv.table, { url, table });
    const kinds = await sql(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1",
      [table],
    );
    const type = Object.fromEntries(kinds.rows.map((r) => [r.column_name, r.data_type]));
    expect([type.dur, type.spkts, type.proto]).toEqual(["double precision", "bigint", "text"]);
    const r = await readPostgres({ url, table }, { schema: { ...csv.schema, unexpectedColumns: "error" } });
    expect(fingerprintTable(r.table)).toBe(fingerprintTable(csv.table));
  });

  it("reads a query, with SQL types (boolean, numeric, NULL) mapped like CSV text", async () => {
    const schema: DataSchema = {
      columns: [
        { name: "bytes", role: "feature", type: "numeric", nullable: true },
        { name: "flag", role: "feature", type: "numeric", nullable: true },
        { name: "proto", role: "feature", type: "categorical", nullable: true },
        { name: "label", role: "target", type: "categorical", nullable: false },
      ],
      unexpectedColumns: "error",
      missingTokens: ["", "NA"],
    };
    const r = await readPostgres(
      {
        url,
        query: `SELECT * FROM (VALUES (1.50::numeric, true, 'tcp', 0), (NULL, false, NULL, 1), (1e20::float8, NULL, 'NA', 1)) AS t(bytes, flag, proto, label) ORDER BY label, bytes`,
      },
      { schema },
    );
    expect(r.label).toBe("postgres query");
    expect(Array.from(r.table.numeric("bytes").values)).toEqual([1.5, 1e20, Number.NaN]);
    expect(Array.from(r.table.numeric("flag").values)).toEqual([1, Number.NaN, 0]);
    expect([0, 1, 2].map((i) => r.table.value("proto", i))).toEqual(["tcp", null, null]);
    expect([0, 1, 2].map((i) => r.table.value("label", i))).toEqual(["0", "1", "1"]);
  });

  it("a missing table is NW_SOURCE_FAILED with a hint; bad SQL too; an existing table is not overwritten", async () => {
    const csv = await phishing();
    const missing = await expectCode(
      readPostgres({ url, table: "nw_no_such_table" }, { schema: csv.schema }),
      "NW_SOURCE_FAILED",
    );
    expect(missing.where).toBe("data.source.table");
    expect(missing.hint).toContain("datasets load");
    const bad = await expectCode(
      readPostgres({ url, query: "SELEC 1" }, { schema: csv.schema }),
      "NW_SOURCE_FAILED",
    );
    expect(bad.where).toBe("data.source.query");
    const table = freshTable();
    await loadIntoPostgres(csv.table.take([0, 1, 2]), { url, table });
    const exists = await expectCode(loadIntoPostgres(csv.table, { url, table }), "NW_SOURCE_FAILED");
    expect(exists.hint).toContain("--replace");
    await loadIntoPostgres(csv.table.take([5, 6]), { url, table, replace: true });
    expect((await sql(`SELECT count(*)::int AS n FROM "${table}"`)).rows[0].n).toBe(2);
  });
});

describe("PostgreSQL source without a server", () => {
  it("an unreachable server is NW_BACKEND_UNAVAILABLE without the password; a wrong scheme NW_BACKEND_CONFIG", async () => {
    const csv = await phishing();
    const down = await expectCode(
      readPostgres(
        { url: "postgres://app:hunter2@127.0.0.1:1/netwarden", table: "x" },
        { schema: csv.schema },
      ),
      "NW_BACKEND_UNAVAILABLE",
    );
    expect(down.message).toContain("postgres://app@127.0.0.1:1/netwarden");
    expect(JSON.stringify(down.toJSON())).not.toContain("hunter2");
    await expectCode(
      readPostgres({ url: "mysql://h/db", table: "x" }, { schema: csv.schema }),
      "NW_BACKEND_CONFIG",
    );
  });
});
