/**
 * The PostgreSQL schema of the metadata store, as numbered migrations. A migration is never edited
 * once released: a change is a new, higher-numbered entry. `migrate` applies the pending ones in
 * one transaction under an advisory lock, so processes starting together (API replicas, workers)
 * cannot apply the same migration twice, and a failure leaves the database as it was.
 */
import { NetwardenError } from "../../core/index.js";
import { INITIAL } from "./001-initial.js";

export interface Migration {
  version: number;
  name: string;
  /** SQL run inside the migration transaction, with the store's schema first on the search_path. */
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "runs, registry and audit", sql: INITIAL },
];

export const LATEST_MIGRATION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Any key works as long as every netwarden uses the same one (pg advisory locks are per database). */
const MIGRATION_LOCK_KEY = 0x6e77_6d67; // "nwmg"

/** The part of a pg client `migrate` needs (a pool client or a plain client). */
export interface SqlClient {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export interface MigrationStatus {
  /** Version the database is at after the call. */
  current: number;
  /** Versions applied by this call, in order. */
  applied: number[];
}

/** The version a database is at (0 when netwarden never touched it). */
export async function schemaVersion(client: SqlClient, schema: string): Promise<number> {
  const exists = await client.query(
    "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'nw_schema_migrations'",
    [schema],
  );
  if (exists.rows.length === 0) return 0;
  const r = await client.query(
    `SELECT coalesce(max(version), 0) AS v FROM ${ident(schema)}.nw_schema_migrations`,
  );
  return Number(r.rows[0].v);
}

/** Applies pending migrations to `schema` (created if missing). `client` must not be in a transaction. */
export async function migrate(client: SqlClient, schema: string): Promise<MigrationStatus> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
    await client.query(`SET LOCAL search_path TO ${ident(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS nw_schema_migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const current = await schemaVersion(client, schema);
    if (current > LATEST_MIGRATION) throw tooNew(current);
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      try {
        await client.query(m.sql);
      } catch (e) {
        throw new NetwardenError(
          "NW_BACKEND_SCHEMA",
          `migration ${m.version} (${m.name}) failed: ${(e as Error).message}`,
          {
            where: `schema \`${schema}\``,
            hint: "Nothing was changed (migrations run in one transaction); fix the cause in the database and run `netwarden db migrate` again",
            cause: e,
          },
        );
      }
      await client.query("INSERT INTO nw_schema_migrations (version, name) VALUES ($1, $2)", [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query("COMMIT");
    return { current: Math.max(current, ...applied), applied };
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  }
}

export function tooNew(current: number): NetwardenError {
  return new NetwardenError(
    "NW_BACKEND_SCHEMA",
    `the database is at schema version ${current}, newer than this netwarden knows (${LATEST_MIGRATION})`,
    {
      hint: "Upgrade netwarden on this machine: a newer version migrated the database",
      details: { current, latest: LATEST_MIGRATION },
    },
  );
}

/** A quoted SQL identifier. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
