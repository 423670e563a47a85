import { describe, expect, it } from "vitest";
import { fingerprintTable } from "../fingerprint.js";
import type { DataSchema } from "../schema.js";
import { cellValue } from "../table.js";
import { RecordTableBuilder } from "./builder.js";
import { expectCode, phishing } from "./test-support/datasets.js";

const schema: DataSchema = {
  columns: [
    { name: "dur", role: "feature", type: "numeric", nullable: true },
    { name: "proto", role: "feature", type: "categorical", nullable: true },
    { name: "note", role: "ignore", type: "categorical", nullable: true },
    { name: "label", role: "target", type: "categorical", nullable: false },
  ],
  unexpectedColumns: "error",
  missingTokens: ["", "NA", "null"],
};

describe("RecordTableBuilder", () => {
  it("builds the phishing Table from row values exactly as the CSV reader does", async () => {
    const csv = await phishing();
    const b = new RecordTableBuilder({ schema: csv.schema, label: "rows", implicitId: "_id" });
    // What a database hands back: an _id column first, numbers as numbers or as text.
    b.columns(["_id", ...csv.header]);
    const row = new Array<unknown>(csv.header.length + 1);
    for (let i = 0; i < csv.table.nRows; i++) {
      row[0] = i + 1;
      csv.header.forEach((name, j) => {
        const v = cellValue(csv.table.column(name), i);
        row[j + 1] = j % 2 ? v : String(v);
      });
      b.row(row);
    }
    const r = b.finish();
    expect(r.table.nRows).toBe(11055);
    expect(r.table.names).toEqual(csv.table.names);
    expect(r.header).toEqual(csv.header);
    expect(r.rowIssues).toEqual([]);
    expect(r.unexpectedColumns).toEqual([]);
    expect(Array.from(r.lineOf.subarray(0, 3))).toEqual([1, 2, 3]);
    expect(fingerprintTable(r.table)).toBe(fingerprintTable(csv.table));
    expect(r.table.categorical("Result").categories).toEqual(csv.table.categorical("Result").categories);
  });

  it("converts values: text and typed numbers, booleans, BigInt, dates, missing tokens, nested values", () => {
    const b = new RecordTableBuilder({ schema, label: "t" });
    b.columns(["label", "proto", "dur", "note"]);
    b.row(["a", "tcp", 1.5, "x"]);
    b.row(["b", 17, "2.25", null]);
    b.row(["a", true, true, 1]);
    b.row(["b", null, 12n, 1]);
    b.row(["a", "NA", " null ", 1]);
    b.row(["b", new Date("2024-01-02T03:04:05Z"), "fast", 1]);
    b.row(["a", { nested: 1 }, new Date(0), 1]);
    const r = b.finish();
    expect(r.table.names).toEqual(["dur", "proto", "label"]);
    expect(Array.from(r.table.numeric("dur").values)).toEqual([
      1.5,
      2.25,
      1,
      12,
      Number.NaN,
      Number.NaN,
      Number.NaN,
    ]);
    const proto = r.table.categorical("proto");
    expect(Array.from(proto.codes, (k) => (k < 0 ? null : proto.categories[k]))).toEqual([
      "tcp",
      "17",
      "true",
      null,
      null,
      "2024-01-02T03:04:05.000Z",
      null,
    ]);
    expect(r.rowIssues).toEqual([
      { row: 5, line: 6, column: "dur", value: "fast", reason: "not a number" },
      {
        row: 6,
        line: 7,
        column: "proto",
        value: '{"nested":1}',
        reason: "not a single value (a nested object or list)",
      },
      { row: 6, line: 7, column: "dur", value: '"1970-01-01T00:00:00.000Z"', reason: "not a number" },
    ]);
  });

  it("documents: schema columns by name, absent fields missing, extra fields are unexpected", async () => {
    const b = new RecordTableBuilder({
      schema: { ...schema, unexpectedColumns: "ignore" },
      label: "docs",
      implicitId: "_id",
    });
    b.document({ _id: "x1", dur: 3, proto: "udp", label: "a", extra: 1 });
    b.document({ _id: "x2", label: "b" });
    const r = b.finish();
    expect(Array.from(r.table.numeric("dur").values)).toEqual([3, Number.NaN]);
    expect(r.header).toEqual(["dur", "proto", "label", "extra"]);
    expect(r.unexpectedColumns).toEqual(["extra"]);

    const strict = new RecordTableBuilder({ schema, label: "mongodb collection `db.c`", implicitId: "_id" });
    strict.document({ _id: 1, dur: 3, proto: "udp", label: "a", Extra: 1 });
    const err = await expectCode(() => strict.finish(), "NW_SCHEMA_UNEXPECTED_COLUMN");
    expect(err.message).toContain("mongodb collection `db.c` has column `Extra`");
  });

  it("a schema column the source lacks is NW_SCHEMA_MISSING_COLUMN with a suggestion", async () => {
    const b = new RecordTableBuilder({ schema, label: "postgres table `flows`" });
    const err = await expectCode(() => b.columns(["Dur", "proto", "label"]), "NW_SCHEMA_MISSING_COLUMN");
    expect(err.message).toContain("column `dur` is in the schema but not in postgres table `flows`");
    expect(err.hint).toContain("Did you mean `Dur`?");
    const dup = new RecordTableBuilder({ schema, label: "postgres query" });
    await expectCode(() => dup.columns(["dur", "proto", "label", "dur"]), "NW_DATA_MALFORMED");
  });

  it("no records is NW_DATA_EMPTY", async () => {
    const b = new RecordTableBuilder({ schema, label: "postgres query" });
    b.columns(["dur", "proto", "label"]);
    const err = await expectCode(() => b.finish(), "NW_DATA_EMPTY");
    expect(err.message).toBe("postgres query returned no rows");
  });
});
