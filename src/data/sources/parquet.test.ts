import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fingerprintTable } from "../fingerprint.js";
import { readParquetBytes, readParquetFile } from "./parquet.js";
import { expectCode, parquetColumns, phishing, unsw } from "./test-support/datasets.js";
import { writeParquet } from "./test-support/parquet-writer.js";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("Parquet source", () => {
  it("the phishing data as a Parquet file gives the CSV's Table", async () => {
    const csv = await phishing();
    const dir = await mkdtemp(join(tmpdir(), "nw-parquet-"));
    dirs.push(dir);
    const file = join(dir, "phishing.parquet");
    await writeFile(file, writeParquet(parquetColumns(csv.table)));
    const r = await readParquetFile(file, { schema: csv.schema });
    expect(r.table.nRows).toBe(11055);
    expect(r.header).toEqual(csv.header);
    expect(r.rowIssues).toEqual([]);
    expect(fingerprintTable(r.table)).toBe(fingerprintTable(csv.table));
    expect(r.label).toBe(file);
  });

  it("UNSW-NB15 (text, integer and real columns; gzip pages) gives the CSV's Table", async () => {
    const csv = await unsw();
    const bytes = writeParquet(parquetColumns(csv.table), { compression: "gzip" });
    const r = await readParquetBytes(bytes, { schema: csv.schema, label: "unsw.parquet" });
    expect(r.table.nRows).toBe(82332);
    expect(fingerprintTable(r.table)).toBe(fingerprintTable(csv.table));
    const service = r.table.categorical("service");
    expect(service.categories).toEqual(csv.table.categorical("service").categories);
    expect(service.categories).toContain("-");
  });

  it("missing values (Parquet nulls) are missing cells", async () => {
    const bytes = writeParquet([
      { name: "dur", type: "DOUBLE", values: [0.5, null, 2] },
      { name: "proto", type: "UTF8", values: ["tcp", "udp", null] },
      { name: "label", type: "INT64", values: [0, 1, 1] },
    ]);
    const r = await readParquetBytes(bytes, {
      label: "t.parquet",
      schema: {
        columns: [
          { name: "dur", role: "feature", type: "numeric", nullable: true },
          { name: "proto", role: "feature", type: "categorical", nullable: true },
          { name: "label", role: "target", type: "categorical", nullable: false },
        ],
        unexpectedColumns: "error",
        missingTokens: [""],
      },
    });
    expect(Array.from(r.table.numeric("dur").values)).toEqual([0.5, Number.NaN, 2]);
    expect(r.table.row(2)).toEqual({ dur: 2, proto: null, label: "1" });
  });

  it("a file that is not Parquet is NW_DATA_MALFORMED; a missing one NW_DATA_NOT_FOUND", async () => {
    const csv = await phishing();
    const err = await expectCode(
      readParquetBytes(Buffer.from("id,label\n1,0\n"), { schema: csv.schema, label: "x.parquet" }),
      "NW_DATA_MALFORMED",
    );
    expect(err.message).toContain("x.parquet cannot be read as Parquet");
    await expectCode(readParquetFile("/nonexistent/x.parquet", { schema: csv.schema }), "NW_DATA_NOT_FOUND");
  });
});
