/** The real datasets as the CSV reader gives them, with schemas, for the source tests. */
import { join } from "node:path";
import { expect } from "vitest";
import { dataDir, type ErrorCode, NetwardenError } from "../../../core/index.js";
import { readCsv } from "../../csv.js";
import type { ColumnSpec, DataSchema } from "../../schema.js";
import type { Table } from "../../table.js";
import type { ParquetColumn } from "./parquet-writer.js";

export const PHISHING_CSV = join(dataDir(), "phishing_websites.csv");
export const UNSW_CSV_GZ = join(dataDir(), "unsw_nb15_testing.csv.gz");

function schemaOf(names: string[], categorical: string[], target: string, ignore: string[] = []): DataSchema {
  return {
    columns: names.map(
      (name): ColumnSpec => ({
        name,
        role: name === target ? "target" : ignore.includes(name) ? "ignore" : "feature",
        type: categorical.includes(name) ? "categorical" : "numeric",
        nullable: name !== target,
      }),
    ),
    unexpectedColumns: "error",
    missingTokens: ["", "NA", "N/A", "NaN", "nan", "null", "NULL"],
  };
}

/** The phishing data: 30 integer features, `Result` (-1/1) as the categorical target. */
export async function phishing(): Promise<{ schema: DataSchema; table: Table; header: string[] }> {
  const probe = await readCsv(PHISHING_CSV, { limit: 1 });
  const schema = schemaOf(probe.header, ["Result"], "Result");
  const r = await readCsv(PHISHING_CSV, { schema });
  return { schema, table: r.table, header: r.header };
}

/** UNSW-NB15 testing partition: text columns proto/service/state, `attack_cat` as target, `id` ignored. */
export async function unsw(): Promise<{ schema: DataSchema; table: Table; header: string[] }> {
  const probe = await readCsv(UNSW_CSV_GZ, { limit: 1 });
  const schema = schemaOf(probe.header, ["proto", "service", "state", "attack_cat"], "attack_cat", ["id"]);
  const r = await readCsv(UNSW_CSV_GZ, { schema });
  return { schema, table: r.table, header: r.header };
}

/** A table's columns as Parquet columns: whole-number columns as INT64, others DOUBLE, text UTF8. */
export function parquetColumns(table: Table): ParquetColumn[] {
  return table.columns.map((c) => {
    if (c.type === "categorical") {
      return {
        name: c.name,
        type: "UTF8",
        values: Array.from(c.codes, (k) => (k < 0 ? null : c.categories[k])),
      };
    }
    const values = Array.from(c.values, (v) => (Number.isNaN(v) ? null : v));
    const whole = values.every((v) => v === null || Number.isSafeInteger(v));
    return { name: c.name, type: whole ? "INT64" : "DOUBLE", values };
  });
}

/** Awaits `work`, expects a NetwardenError of `code`, and returns it. */
export async function expectCode(
  work: Promise<unknown> | (() => unknown),
  code: ErrorCode,
): Promise<NetwardenError> {
  let caught: unknown;
  try {
    await (typeof work === "function" ? work() : work);
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(NetwardenError);
  expect((caught as NetwardenError).code, (caught as Error).message).toBe(code);
  return caught as NetwardenError;
}
