/**
 * Connecting to PostgreSQL (`DATABASE_URL`) and turning driver failures into coded errors. The
 * password never appears in a message, a location or an error's details.
 */
import pg from "pg";
import { NetwardenError } from "../core/index.js";
import { ident } from "./migrations/index.js";

export interface PgTarget {
  /** The URL as given (with its password: only for the driver). */
  url: string;
  /** The URL without credentials, for messages: "postgres://app@db.internal:5432/netwarden". */
  display: string;
  /** Schema holding the netwarden tables (default "public"). */
  schema: string;
}

const SCHEMA_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Checks a DATABASE_URL and the schema name; NW_BACKEND_CONFIG when either has the wrong form. */
export function pgTarget(url: string, schema = "public", where = "DATABASE_URL"): PgTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl(where, "it is not a URL");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw badUrl(where, `its scheme is \`${parsed.protocol.replace(/:$/, "")}\`, not postgres`);
  }
  if (!parsed.hostname && !parsed.searchParams.has("host")) throw badUrl(where, "it names no host");
  if (!SCHEMA_PATTERN.test(schema)) {
    throw new NetwardenError("NW_BACKEND_CONFIG", `schema name \`${schema}\` is not allowed`, {
      where: "NETWARDEN_DB_SCHEMA",
      hint: "Use letters, digits and '_', starting with a letter or '_' (at most 63 characters)",
    });
  }
  const user = parsed.username ? `${decodeURIComponent(parsed.username)}@` : "";
  const port = parsed.port ? `:${parsed.port}` : "";
  const display = `${parsed.protocol}//${user}${parsed.hostname}${port}${parsed.pathname}`;
  return { url, display, schema };
}

function badUrl(where: string, why: string): NetwardenError {
  return new NetwardenError("NW_BACKEND_CONFIG", `${where} is not a PostgreSQL URL: ${why}`, {
    where,
    hint: "Use the form postgres://user:password@host:5432/database",
  });
}

/** A pool whose connections have `schema` first on their search_path. */
export function createPool(target: PgTarget, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: target.url,
    max,
    options: `-c search_path=${ident(target.schema)},public`,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 10_000,
  });
  // An idle client losing its connection (server restart) must not crash the process; the next
  // query gets a fresh client.
  pool.on("error", () => undefined);
  return pool;
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ECONNRESET",
  "EHOSTUNREACH",
]);

/** Maps a driver or server error to a coded error; coded errors pass through unchanged. */
export function pgError(e: unknown, target: PgTarget, action: string): NetwardenError {
  if (e instanceof NetwardenError) return e;
  const err = e as { code?: string; message?: string };
  const code = err?.code ?? "";
  const message = err?.message ?? String(e);
  if (
    CONNECTION_CODES.has(code) ||
    /timeout exceeded when trying to connect|Connection terminated/i.test(message)
  ) {
    return new NetwardenError(
      "NW_BACKEND_UNAVAILABLE",
      `cannot reach PostgreSQL at ${target.display} (${code || message})`,
      {
        where: "DATABASE_URL",
        hint: "Check that the server is running and that host and port in DATABASE_URL are right",
        cause: e,
      },
    );
  }
  if (code === "28P01" || code === "28000") {
    return new NetwardenError(
      "NW_BACKEND_UNAVAILABLE",
      `PostgreSQL at ${target.display} refused the credentials`,
      {
        where: "DATABASE_URL",
        hint: "Check the user name and password in DATABASE_URL (and pg_hba.conf on the server)",
        cause: e,
      },
    );
  }
  if (code === "3D000") {
    return new NetwardenError("NW_BACKEND_UNAVAILABLE", `PostgreSQL at ${target.display}: ${message}`, {
      where: "DATABASE_URL",
      hint: "Create the database (`createdb <name>`) or fix its name in DATABASE_URL",
      cause: e,
    });
  }
  return new NetwardenError("NW_STORE_IO", `PostgreSQL failed to ${action}: ${message}`, {
    where: target.display,
    hint: "Check the database server's log; if the tables are missing, run `netwarden db migrate`",
    details: code ? { sqlState: code } : undefined,
    cause: e,
  });
}
