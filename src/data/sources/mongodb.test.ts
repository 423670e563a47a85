import { Decimal128, Double, Int32, Long, MongoClient, ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { fingerprintTable } from "../fingerprint.js";
import type { DataSchema } from "../schema.js";
import {
  loadIntoMongo,
  type MongoConnector,
  type MongoFindOptions,
  mongoQuery,
  readMongo,
} from "./mongodb.js";
import { expectCode, phishing } from "./test-support/datasets.js";

// No MongoDB server can run here: these tests cover everything up to the driver (queries,
// projections, `_id`, BSON values, documents to a Table, the loader, error mapping), using the
// driver's own BSON types and, for errors, the real driver failing to reach a server.

/** An in-memory stand-in for the driver's client: records every call, serves stored documents. */
class FakeMongo implements MongoConnector {
  readonly calls: { op: string; db: string; collection: string; args: unknown[] }[] = [];
  readonly data = new Map<string, Record<string, unknown>[]>();
  closed = false;
  constructor(readonly url: string) {}
  async connect(): Promise<unknown> {
    return this;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  db(db: string) {
    return {
      collection: (collection: string) => {
        const key = `${db}.${collection}`;
        const log = (op: string, ...args: unknown[]) => this.calls.push({ op, db, collection, args });
        return {
          find: (filter: Record<string, unknown>, options: MongoFindOptions) => {
            log("find", filter, options);
            const docs = this.data.get(key) ?? [];
            return (async function* () {
              for (const d of docs) {
                const out = { ...d };
                if (options.projection?._id === 0) delete out._id;
                yield out;
              }
            })();
          },
          insertMany: async (docs: Record<string, unknown>[], options: { ordered: boolean }) => {
            log("insertMany", docs.length, options);
            this.data.set(key, [...(this.data.get(key) ?? []), ...docs]);
            return { insertedCount: docs.length };
          },
          drop: async () => {
            log("drop");
            this.data.delete(key);
            return true;
          },
          countDocuments: async () => (this.data.get(key) ?? []).length,
        };
      },
    };
  }
}

const schema: DataSchema = {
  columns: [
    { name: "dur", role: "feature", type: "numeric", nullable: true },
    { name: "sbytes", role: "feature", type: "numeric", nullable: true },
    { name: "proto", role: "feature", type: "categorical", nullable: true },
    { name: "label", role: "target", type: "categorical", nullable: false },
  ],
  unexpectedColumns: "error",
  missingTokens: ["", "NA", "null"],
};

describe("MongoDB source up to the driver", () => {
  it("builds the find call: filter, projection without _id, sort, batch size", () => {
    const spec = {
      url: "mongodb://h/netdb",
      collection: "flows",
      filter: { label: { $ne: null } },
      sort: { _id: 1 as const },
    };
    expect(mongoQuery(spec, schema)).toEqual({
      filter: { label: { $ne: null } },
      options: { projection: { _id: 0 }, sort: { _id: 1 }, batchSize: 5000 },
    });
    expect(
      mongoQuery({ ...spec, projection: { dur: 1, proto: 1, label: 1 }, batchSize: 100 }, schema).options,
    ).toEqual({
      projection: { dur: 1, proto: 1, label: 1, _id: 0 },
      sort: { _id: 1 },
      batchSize: 100,
    });
    const withId: DataSchema = {
      ...schema,
      columns: [...schema.columns, { name: "_id", role: "id", type: "categorical", nullable: false }],
    };
    expect(mongoQuery({ ...spec, projection: { dur: 1 } }, withId).options.projection).toEqual({
      dur: 1,
      _id: 1,
    });
  });

  it("turns BSON values into the Table's columns and drops _id", async () => {
    const fake = new FakeMongo("");
    fake.data.set("netdb.flows", [
      {
        _id: new ObjectId("65a000000000000000000001"),
        dur: new Double(0.5),
        sbytes: Long.fromNumber(1234567890123),
        proto: "tcp",
        label: new Int32(0),
      },
      {
        _id: new ObjectId("65a000000000000000000002"),
        dur: new Decimal128("1.25"),
        sbytes: 7,
        proto: null,
        label: 1,
      },
      { _id: new ObjectId("65a000000000000000000003"), dur: "NA", proto: "udp", label: "1" },
    ]);
    const r = await readMongo(
      { url: "mongodb://user:pw@db.internal:27017/netdb", collection: "flows" },
      { schema, connect: () => fake },
    );
    expect(r.label).toBe("mongodb collection `netdb.flows`");
    expect(r.table.names).toEqual(["dur", "sbytes", "proto", "label"]);
    expect(Array.from(r.table.numeric("dur").values)).toEqual([0.5, 1.25, Number.NaN]);
    expect(Array.from(r.table.numeric("sbytes").values)).toEqual([1234567890123, 7, Number.NaN]);
    expect([0, 1, 2].map((i) => r.table.value("proto", i))).toEqual(["tcp", null, "udp"]);
    expect([0, 1, 2].map((i) => r.table.value("label", i))).toEqual(["0", "1", "1"]);
    expect(r.rowIssues).toEqual([]);
    expect(r.header).toEqual(["dur", "sbytes", "proto", "label"]);
    expect(fake.calls[0]).toMatchObject({ op: "find", db: "netdb", collection: "flows" });
    expect(fake.closed).toBe(true);
  });

  it("datasets load writes the phishing data as documents that read back to the CSV's Table", async () => {
    const csv = await phishing();
    const fake = new FakeMongo("");
    const loaded = await loadIntoMongo(csv.table, {
      url: "mongodb://h:27017/security",
      collection: "phishing",
      connect: () => fake,
    });
    expect(loaded).toEqual({ rows: 11055, database: "security" });
    const docs = fake.data.get("security.phishing") ?? [];
    expect(docs).toHaveLength(11055);
    // _id is the record's position in the file; values keep their types.
    expect(docs[0]).toMatchObject({ _id: 1, having_IP_Address: -1, URL_Length: 1, Result: "-1" });
    expect(docs[11054]._id).toBe(11055);
    expect(fake.calls.filter((c) => c.op === "insertMany").map((c) => c.args[0])).toEqual([
      ...Array(11).fill(1000),
      55,
    ]);

    const r = await readMongo(
      { url: "mongodb://h:27017/security", collection: "phishing" },
      { schema: csv.schema, connect: () => fake },
    );
    expect(fingerprintTable(r.table)).toBe(fingerprintTable(csv.table));

    await expectCode(
      loadIntoMongo(csv.table, {
        url: "mongodb://h:27017/security",
        collection: "phishing",
        connect: () => fake,
      }),
      "NW_SOURCE_FAILED",
    );
    await loadIntoMongo(csv.table, {
      url: "mongodb://h:27017/security",
      collection: "phishing",
      replace: true,
      connect: () => fake,
    });
    expect(fake.data.get("security.phishing")).toHaveLength(11055);
  });

  it("a collection whose documents lack a schema field names it", async () => {
    const fake = new FakeMongo("");
    fake.data.set("netdb.flows", [{ _id: 1, duration: 1, sbytes: 1, proto: "tcp", label: "0" }]);
    const err = await expectCode(
      readMongo({ url: "mongodb://h/netdb", collection: "flows" }, { schema, connect: () => fake }),
      "NW_SCHEMA_MISSING_COLUMN",
    );
    expect(err.message).toContain(
      "column `dur` is in the schema but not in mongodb collection `netdb.flows`",
    );
  });

  it("no database named is NW_BACKEND_CONFIG; a non-mongodb URL too", async () => {
    await expectCode(
      readMongo({ url: "mongodb://h:27017", collection: "c" }, { schema }),
      "NW_BACKEND_CONFIG",
    );
    await expectCode(readMongo({ url: "postgres://h/db", collection: "c" }, { schema }), "NW_BACKEND_CONFIG");
  });

  it("the real driver: a malformed URL is NW_BACKEND_CONFIG, an unreachable server NW_BACKEND_UNAVAILABLE", async () => {
    const connect = (url: string) =>
      new MongoClient(url, { serverSelectionTimeoutMS: 300 }) as unknown as MongoConnector;
    const bad = await expectCode(
      readMongo({ url: "mongodb://h:notaport/db", collection: "c" }, { schema, connect }),
      "NW_BACKEND_CONFIG",
    );
    expect(bad.where).toBe("data.source.url");
    await expectCode(
      readMongo({ url: "mongodb://h/db?authMechanism=NOPE", collection: "c" }, { schema, connect }),
      "NW_BACKEND_CONFIG",
    );
    // Port 1 on loopback: nothing listens, the driver gives up after server selection.
    const down = await expectCode(
      readMongo({ url: "mongodb://app:hunter2@127.0.0.1:1/netdb", collection: "c" }, { schema, connect }),
      "NW_BACKEND_UNAVAILABLE",
    );
    expect(down.message).toContain("mongodb://app@127.0.0.1:1/netdb");
    expect(JSON.stringify(down.toJSON())).not.toContain("hunter2");
  });
});
