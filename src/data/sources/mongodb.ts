/**
 * A MongoDB collection as a data source (official driver), and the reverse for
 * `netwarden datasets load`, which is what the seeds' push_data.py did: CSV records as documents.
 *
 * The driver is reached through `MongoConnector`, the few calls this file makes, so everything up
 * to the driver boundary (query building, projection, `_id` dropping, BSON values to a Table, error
 * mapping) is tested without a server; no MongoDB server can run on the machines the tests run on.
 */
import { MongoClient } from "mongodb";
import { NetwardenError, type Progress } from "../../core/index.js";
import type { DataSchema } from "../schema.js";
import { cellValue, type Table } from "../table.js";
import { RecordTableBuilder, type SourceReadResult } from "./builder.js";
import { redactUrl } from "./postgres.js";

export interface MongoSourceSpec {
  /** mongodb://user:password@host:27017/database (or mongodb+srv://). */
  url: string;
  /** Database name; default: the one in the URL's path. */
  database?: string;
  collection: string;
  filter?: Record<string, unknown>;
  /** Fields to read (1) or leave out (0); `_id` is left out unless the schema declares it. */
  projection?: Record<string, 0 | 1 | boolean>;
  sort?: Record<string, 1 | -1>;
  batchSize?: number;
}

/** The find options this file passes to the driver (also what the tests check). */
export interface MongoFindOptions {
  projection?: Record<string, 0 | 1 | boolean>;
  sort?: Record<string, 1 | -1>;
  batchSize: number;
}

/** The slice of the driver this file uses; `MongoClient` satisfies it. */
export interface MongoConnector {
  connect(): Promise<unknown>;
  close(): Promise<void>;
  db(name: string): {
    collection(name: string): {
      find(
        filter: Record<string, unknown>,
        options: MongoFindOptions,
      ): AsyncIterable<Record<string, unknown>>;
      insertMany(docs: Record<string, unknown>[], options: { ordered: boolean }): Promise<unknown>;
      drop(): Promise<unknown>;
      countDocuments(filter: Record<string, unknown>, options: { limit: number }): Promise<number>;
    };
  };
}

export type MongoConnect = (url: string) => MongoConnector;

const realConnect: MongoConnect = (url) =>
  new MongoClient(url, {
    serverSelectionTimeoutMS: 10_000,
    connectTimeoutMS: 10_000,
  }) as unknown as MongoConnector;

/** The database a spec reads: `database`, else the URL's path. */
export function mongoDatabase(url: string, database: string | undefined, where: string): string {
  if (database) return database;
  // Parsed by hand: replica-set URLs list several hosts, which URL() refuses.
  const path = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]*)/.exec(url)?.[1] ?? "";
  if (!path) {
    throw new NetwardenError("NW_BACKEND_CONFIG", "no MongoDB database is named", {
      where,
      hint: "Add `database:` to the source, or put it in the URL: mongodb://host:27017/<database>",
    });
  }
  return decodeURIComponent(path);
}

/** The driver query for a spec: user filter, projection without `_id` unless the schema wants it. */
export function mongoQuery(
  spec: MongoSourceSpec,
  schema: DataSchema,
): { filter: Record<string, unknown>; options: MongoFindOptions } {
  const wantsId = schema.columns.some((c) => c.name === "_id" && c.role !== "ignore");
  const projection = { ...(spec.projection ?? {}) };
  const inclusive = Object.entries(projection).some(([k, v]) => k !== "_id" && (v === 1 || v === true));
  if (!wantsId) projection._id = 0;
  else if (inclusive) projection._id = 1;
  return {
    filter: spec.filter ?? {},
    options: {
      projection,
      ...(spec.sort ? { sort: spec.sort } : {}),
      batchSize: spec.batchSize ?? 5000,
    },
  };
}

/** Reads a collection into a Table, typed by the schema. */
export async function readMongo(
  spec: MongoSourceSpec,
  options: { schema: DataSchema; progress?: Progress; where?: string; connect?: MongoConnect },
): Promise<SourceReadResult> {
  const where = options.where ?? "data.source";
  checkMongoUrl(spec.url, `${where}.url`);
  const database = mongoDatabase(spec.url, spec.database, `${where}.database`);
  const label = `mongodb collection \`${database}.${spec.collection}\``;
  const { filter, options: findOptions } = mongoQuery(spec, options.schema);
  const client = openClient(spec.url, `${where}.url`, options.connect);
  const task = options.progress?.task(`reading ${label}`);
  try {
    await client.connect();
    const builder = new RecordTableBuilder({
      schema: options.schema,
      label,
      progress: options.progress,
      implicitId: "_id",
    });
    const cursor = client.db(database).collection(spec.collection).find(filter, findOptions);
    let n = 0;
    for await (const doc of cursor) {
      builder.document(doc);
      if (++n % 10_000 === 0) task?.tick(10_000);
    }
    const result = builder.finish();
    task?.done(`${result.table.nRows.toLocaleString("en-US")} documents`);
    return result;
  } catch (e) {
    throw mongoError(e, spec.url, where);
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * Writes a Table as documents (`datasets load`): `_id` is the record's 1-based position in the
 * file, so reading back sorted by `_id` gives the file's order; missing cells are left out.
 */
export async function loadIntoMongo(
  table: Table,
  target: {
    url: string;
    database?: string;
    collection: string;
    replace?: boolean;
    batchSize?: number;
    connect?: MongoConnect;
  },
  progress?: Progress,
): Promise<{ rows: number; database: string }> {
  checkMongoUrl(target.url, "--url");
  const database = mongoDatabase(target.url, target.database, "--database");
  const client = openClient(target.url, "--url", target.connect);
  const task = progress?.task(`loading into mongodb ${database}.${target.collection}`, table.nRows);
  try {
    await client.connect();
    const collection = client.db(database).collection(target.collection);
    if (target.replace)
      await collection.drop().catch((e) => (isNamespaceNotFound(e) ? undefined : Promise.reject(e)));
    else if ((await collection.countDocuments({}, { limit: 1 })) > 0) {
      throw new NetwardenError(
        "NW_SOURCE_FAILED",
        `collection \`${database}.${target.collection}\` already holds documents`,
        {
          where: "--collection",
          hint: "Pick another collection, or pass --replace to drop it first",
        },
      );
    }
    const batch = target.batchSize ?? 1000;
    for (let start = 0; start < table.nRows; start += batch) {
      const end = Math.min(table.nRows, start + batch);
      const docs: Record<string, unknown>[] = [];
      for (let i = start; i < end; i++) {
        const doc: Record<string, unknown> = { _id: i + 1 };
        for (const c of table.columns) {
          const v = cellValue(c, i);
          if (v !== null) doc[c.name] = v;
        }
        docs.push(doc);
      }
      await collection.insertMany(docs, { ordered: true });
      task?.tick(end - start);
    }
    task?.done(`${table.nRows.toLocaleString("en-US")} documents`);
    return { rows: table.nRows, database };
  } catch (e) {
    throw mongoError(e, target.url, "--url");
  } finally {
    await client.close().catch(() => undefined);
  }
}

function checkMongoUrl(url: string, where: string): void {
  if (!/^mongodb(\+srv)?:\/\//.test(url)) {
    throw new NetwardenError(
      "NW_BACKEND_CONFIG",
      `${where} must be a mongodb:// or mongodb+srv:// URL, got ${redactUrl(url)}`,
      { where, hint: "Use the form mongodb://user:password@host:27017/database" },
    );
  }
}

function openClient(url: string, where: string, connect: MongoConnect = realConnect): MongoConnector {
  try {
    return connect(url);
  } catch (e) {
    // The client only parses the URL and options when it is made: any failure is one of those.
    if (e instanceof NetwardenError) throw e;
    throw new NetwardenError(
      "NW_BACKEND_CONFIG",
      `the MongoDB URL or options are not valid: ${(e as Error).message}`,
      {
        where,
        hint: "Use the form mongodb://user:password@host:27017/database",
        cause: e,
      },
    );
  }
}

function isNamespaceNotFound(e: unknown): boolean {
  return (
    (e as { codeName?: string; code?: number })?.codeName === "NamespaceNotFound" ||
    (e as { code?: number })?.code === 26
  );
}

/** Maps a driver error to a coded error (by the driver's error class names and server codes). */
export function mongoError(e: unknown, url: string, where: string): NetwardenError {
  if (e instanceof NetwardenError) return e;
  const err = e as { name?: string; code?: number; codeName?: string; message?: string };
  const shown = redactUrl(url);
  const name = err?.name ?? "";
  if (name === "MongoParseError" || name === "MongoAPIError" || name === "MongoInvalidArgumentError") {
    return new NetwardenError(
      "NW_BACKEND_CONFIG",
      `the MongoDB URL or options are not valid: ${err.message}`,
      {
        where,
        hint: "Use the form mongodb://user:password@host:27017/database",
        cause: e,
      },
    );
  }
  if (
    name === "MongoServerSelectionError" ||
    name === "MongoNetworkError" ||
    name === "MongoNetworkTimeoutError"
  ) {
    return new NetwardenError("NW_BACKEND_UNAVAILABLE", `cannot reach MongoDB at ${shown} (${err.message})`, {
      where,
      hint: "Check that the server is running and the host and port in the URL",
      cause: e,
    });
  }
  if (
    err?.code === 18 ||
    err?.code === 13 ||
    err?.codeName === "AuthenticationFailed" ||
    err?.codeName === "Unauthorized"
  ) {
    return new NetwardenError(
      "NW_BACKEND_UNAVAILABLE",
      `MongoDB at ${shown} refused the credentials (${err.codeName ?? err.code})`,
      {
        where,
        hint: "Check the user and password in the URL and the user's roles on the database",
        cause: e,
      },
    );
  }
  return new NetwardenError(
    "NW_SOURCE_FAILED",
    `MongoDB could not serve the request at ${shown}: ${err?.message ?? String(e)}`,
    {
      where,
      hint: "Check the collection name, the filter and projection, and the server's log",
      details: err?.codeName ? { codeName: err.codeName } : undefined,
      cause: e,
    },
  );
}
