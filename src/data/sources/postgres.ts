/**
 * PostgreSQL as a data source: a table or a query, streamed through a server-side cursor in
 * batches (memory holds one batch of rows plus the typed columns), and the reverse for
 * `netwarden datasets load`: a Table written into a new table in batches.
 */
import pg from "pg";
import { NetwardenError, type Progress } from "../../core/index.js";
import type { DataSchema } from "../schema.js";
import { cellValue, type Table } from "../table.js";
import { RecordTableBuilder, type SourceReadResult } from "./builder.js";

export interface PostgresSourceSpec {
  /** postgres://user:password@host:5432/database */
  url: string;
  /** A table (optionally schema-qualified: `analytics.phishing`)… */
  table?: string;
  /** …or a query. */
  query?: string;
  /** Columns to order a table by; default: its primary key (file order for `datasets load` tables). */
  orderBy?: string[];
  /** Rows per cursor fetch (default 5000). */
  batchSize?: number;
}

/** The column `datasets load` adds: the record's 1-based position in the file, primary key. */
export const ROW_ID_COLUMN = "_id";

const BOOL_OID = 16;

/** The URL without its password, for messages (by hand: multi-host URLs are not URL()s). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^:@/]*):[^@/]*@/i, "$1$2@");
}

function checkUrl(url: string, kinds: string[], where: string): void {
  let ok = false;
  try {
    ok = kinds.includes(new URL(url).protocol.replace(/:$/, ""));
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new NetwardenError(
      "NW_BACKEND_CONFIG",
      `${where} must be a ${kinds[0]}:// URL, got ${redactUrl(url)}`,
      {
        where,
        hint: `Use the form ${kinds[0]}://user:password@host:port/database (\${DATABASE_URL} in the config reads it from the environment)`,
      },
    );
  }
}

/** `analytics.phishing` → "analytics"."phishing". */
export function quoteQualified(name: string): string {
  return name
    .split(".")
    .map((p) => `"${p.replaceAll('"', '""')}"`)
    .join(".");
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Streams a table or query into a Table, typed by the schema. */
export async function readPostgres(
  spec: PostgresSourceSpec,
  options: { schema: DataSchema; progress?: Progress; where?: string },
): Promise<SourceReadResult> {
  const where = options.where ?? "data.source";
  checkUrl(spec.url, ["postgres", "postgresql"], `${where}.url`);
  const label = spec.table ? `postgres table \`${spec.table}\`` : "postgres query";
  const client = new pg.Client({ connectionString: spec.url, connectionTimeoutMillis: 10_000 });
  // Every value comes as the server's text, so numbers are parsed exactly as the CSV reader
  // parses them; booleans are the one type kept typed.
  const types = {
    getTypeParser: (oid: number) => (oid === BOOL_OID ? (v: string) => v === "t" : (v: string) => v),
  };
  try {
    await client.connect();
  } catch (e) {
    throw pgSourceError(e, spec.url, `${where}.url`, "connect");
  }
  const task = options.progress?.task(`reading ${label}`);
  try {
    let sql: string;
    if (spec.table !== undefined) {
      const order = spec.orderBy ?? (await primaryKey(client, spec.table));
      sql = `SELECT * FROM ${quoteQualified(spec.table)}${order.length ? ` ORDER BY ${order.map(quote).join(", ")}` : ""}`;
    } else {
      sql = spec.query as string;
    }
    const builder = new RecordTableBuilder({
      schema: options.schema,
      label,
      progress: options.progress,
      implicitId: ROW_ID_COLUMN,
    });
    const batch = spec.batchSize ?? 5000;
    await client.query("BEGIN READ ONLY");
    await client.query(`DECLARE nw_source NO SCROLL CURSOR FOR ${sql}`);
    let first = true;
    for (;;) {
      const r = await client.query({
        text: `FETCH FORWARD ${batch} FROM nw_source`,
        rowMode: "array",
        types,
      });
      if (first) {
        builder.columns(r.fields.map((f) => f.name));
        first = false;
      }
      for (const row of r.rows as unknown[][]) builder.row(row);
      task?.tick(r.rows.length);
      if (r.rows.length < batch) break;
    }
    await client.query("CLOSE nw_source");
    await client.query("COMMIT");
    const result = builder.finish();
    task?.done(`${result.table.nRows.toLocaleString("en-US")} rows × ${result.header.length} columns`);
    return result;
  } catch (e) {
    throw pgSourceError(e, spec.url, spec.table !== undefined ? `${where}.table` : `${where}.query`, "read");
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function primaryKey(client: pg.Client, table: string): Promise<string[]> {
  const r = await client.query(
    `SELECT a.attname AS name FROM pg_index i
     JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos) ON true
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.pos`,
    [quoteQualified(table)],
  );
  return r.rows.map((row) => row.name as string);
}

/**
 * Writes a Table into a new PostgreSQL table (`datasets load`): an `_id bigint` primary key with
 * each record's 1-based position, then one column per table column (double precision, or bigint
 * when every value is a whole number; text for categorical columns). `replace` drops an existing
 * table of that name first; otherwise an existing table is an error.
 */
export async function loadIntoPostgres(
  table: Table,
  target: { url: string; table: string; replace?: boolean; batchSize?: number },
  progress?: Progress,
): Promise<{ rows: number; columns: string[] }> {
  checkUrl(target.url, ["postgres", "postgresql"], "--url");
  const client = new pg.Client({ connectionString: target.url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (e) {
    throw pgSourceError(e, target.url, "--url", "connect");
  }
  const name = quoteQualified(target.table);
  const task = progress?.task(`loading into postgres table ${target.table}`, table.nRows);
  try {
    await client.query("BEGIN");
    if (target.replace) await client.query(`DROP TABLE IF EXISTS ${name}`);
    const defs = table.columns.map((c) => {
      if (c.type === "categorical") return `${quote(c.name)} text`;
      const whole = c.values.every((v) => Number.isNaN(v) || (Number.isSafeInteger(v) && !Object.is(v, -0)));
      return `${quote(c.name)} ${whole ? "bigint" : "double precision"}`;
    });
    await client.query(
      `CREATE TABLE ${name} (${quote(ROW_ID_COLUMN)} bigint PRIMARY KEY, ${defs.join(", ")})`,
    );
    const batch = target.batchSize ?? 1000;
    const width = table.nCols + 1;
    const cols = [ROW_ID_COLUMN, ...table.names].map(quote).join(", ");
    for (let start = 0; start < table.nRows; start += batch) {
      const end = Math.min(table.nRows, start + batch);
      const values: unknown[] = [];
      const tuples: string[] = [];
      for (let i = start; i < end; i++) {
        const at = values.length;
        values.push(i + 1);
        for (const c of table.columns) values.push(cellValue(c, i));
        tuples.push(`(${Array.from({ length: width }, (_, k) => `$${at + k + 1}`).join(", ")})`);
      }
      await client.query(`INSERT INTO ${name} (${cols}) VALUES ${tuples.join(", ")}`, values);
      task?.tick(end - start);
    }
    await client.query("COMMIT");
    task?.done(`${table.nRows.toLocaleString("en-US")} rows`);
    return { rows: table.nRows, columns: table.names };
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw pgSourceError(e, target.url, "--table", "load");
  } finally {
    await client.end().catch(() => undefined);
  }
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ECONNRESET",
  "EHOSTUNREACH",
]);

function pgSourceError(e: unknown, url: string, where: string, action: string): NetwardenError {
  if (e instanceof NetwardenError) return e;
  const err = e as { code?: string; message?: string; position?: string };
  const shown = redactUrl(url);
  if (
    CONNECTION_CODES.has(err?.code ?? "") ||
    /timeout exceeded when trying to connect/i.test(err?.message ?? "")
  ) {
    return new NetwardenError(
      "NW_BACKEND_UNAVAILABLE",
      `cannot reach PostgreSQL at ${shown} (${err?.code ?? err?.message})`,
      {
        where,
        hint: "Check that the server is running and the host and port in the URL",
        cause: e,
      },
    );
  }
  if (err?.code === "28P01" || err?.code === "28000" || err?.code === "3D000") {
    return new NetwardenError("NW_BACKEND_UNAVAILABLE", `PostgreSQL at ${shown}: ${err.message}`, {
      where,
      hint: "Check the user, password and database name in the URL",
      cause: e,
    });
  }
  const hint =
    err?.code === "42P01"
      ? "The table does not exist: check its name, or load it with `netwarden datasets load`"
      : err?.code === "42P07"
        ? "The table exists already: pick another name, or pass --replace to drop it first"
        : err?.code?.startsWith("42")
          ? "Fix the SQL (names, syntax) and try again"
          : "Check the database server's log";
  return new NetwardenError(
    "NW_SOURCE_FAILED",
    `PostgreSQL could not ${action} the data at ${shown}: ${err?.message ?? String(e)}`,
    {
      where,
      hint,
      details: err?.code ? { sqlState: err.code } : undefined,
      cause: e,
    },
  );
}
