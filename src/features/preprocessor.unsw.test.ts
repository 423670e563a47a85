import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { dataDir } from "../core/index.js";
import type { ColumnSpec } from "../data/index.js";
import { type Column, categoricalColumn, numericColumn, Table } from "../data/index.js";
import {
  defaultPreprocessSpec,
  type FittedPreprocessor,
  fitPreprocessor,
  loadPreprocessor,
} from "./preprocessor.js";
import { columnsOf, oneRowTable, viaJson } from "./test-support/helpers.js";

const CATEGORICAL = new Set(["proto", "service", "state"]);
const NOT_FEATURES = new Set(["id", "attack_cat", "label"]);

// The file has no quoted fields, so a split on commas reads it exactly.
function readUnsw(): { table: Table; features: ColumnSpec[] } {
  const text = gunzipSync(readFileSync(join(dataDir(), "unsw_nb15_testing.csv.gz"))).toString("utf8");
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const header = lines[0].split(",");
  const n = lines.length - 1;
  const cells: string[][] = header.map(() => new Array<string>(n));
  for (let i = 0; i < n; i++) {
    const f = lines[i + 1].split(",");
    for (let j = 0; j < header.length; j++) cells[j][i] = f[j];
  }
  const columns = header.map((name, j): Column => {
    if (CATEGORICAL.has(name) || name === "attack_cat") return categoricalColumn(name, cells[j]);
    return numericColumn(name, Float64Array.from(cells[j], Number));
  });
  const features = header
    .filter((h) => !NOT_FEATURES.has(h))
    .map(
      (name): ColumnSpec => ({
        name,
        role: "feature",
        type: CATEGORICAL.has(name) ? "categorical" : "numeric",
        nullable: true,
      }),
    );
  return { table: new Table(columns, n), features };
}

describe("preprocessor on UNSW-NB15 (testing partition)", () => {
  let table: Table;
  let features: ColumnSpec[];
  let linear: FittedPreprocessor;

  beforeAll(() => {
    ({ table, features } = readUnsw());
    linear = fitPreprocessor(table, features, defaultPreprocessSpec("linear"), { seed: 7 });
  });

  it("reads the file as DATA.md describes it", () => {
    expect(table.nRows).toBe(82_332);
    expect(features).toHaveLength(42);
  });

  it("keeps service `-` as its own one-hot level, not a missing value", () => {
    const serviceCols = linear.outputNames.filter((n) => n.startsWith("service="));
    // the 13 values of DATA.md, by descending count
    expect(serviceCols).toEqual(
      [
        "-",
        "dns",
        "http",
        "smtp",
        "ftp",
        "ftp-data",
        "pop3",
        "ssh",
        "ssl",
        "snmp",
        "dhcp",
        "radius",
        "irc",
      ].map((v) => `service=${v}`),
    );
    const out = linear.transform(table);
    const dash = out.numeric("service=-").values;
    let ones = 0;
    for (let i = 0; i < dash.length; i++) ones += dash[i];
    expect(ones).toBe(47_153);
    // every row has exactly one service column set: no value was treated as missing
    const svc = serviceCols.map((n) => out.numeric(n).values);
    for (let i = 0; i < out.nRows; i++) {
      let s = 0;
      for (const v of svc) s += v[i];
      if (s !== 1) expect.fail(`row ${i} has ${s} service columns set`);
    }
  });

  it("orders state levels by count, ties by value, and pools proto beyond 32 columns", () => {
    expect(linear.outputNames.filter((n) => n.startsWith("state="))).toEqual(
      ["FIN", "INT", "CON", "REQ", "ACC", "CLO", "RST"].map((v) => `state=${v}`),
    );
    const proto = linear.outputNames.filter((n) => n.startsWith("proto="));
    expect(proto).toHaveLength(32);
    expect(proto[31]).toBe("proto=__other__");
    expect(linear.outputNames).toHaveLength(39 + 32 + 13 + 7);
  });

  it("standardises numeric features to mean 0 and deviation 1", () => {
    const { dur } = columnsOf(linear.transform(table).select(["dur"]));
    const mean = dur.reduce((a, b) => a + b, 0) / dur.length;
    const sd = Math.sqrt(dur.reduce((a, b) => a + (b - mean) ** 2, 0) / dur.length);
    expect(mean).toBeCloseTo(0, 10);
    expect(sd).toBeCloseTo(1, 10);
  });

  it("serves rows one at a time with the training numbers, after a JSON round trip", () => {
    const served = loadPreprocessor(viaJson(linear.toJSON()));
    const rows = [0, 35, 100, 5000, 40_000, 82_331];
    const full = columnsOf(linear.transform(table.take(rows)));
    rows.forEach((_, k) => {
      const one = columnsOf(served.transform(oneRowTable(table.take(rows), k)));
      for (const name of linear.outputNames) expect(one[name]).toEqual([full[name][k]]);
    });
  });

  it("tree defaults code service `-` as 0, its most frequent level", () => {
    const tree = fitPreprocessor(table, features, defaultPreprocessSpec("tree"), { seed: 7 });
    const svc = tree.transform(table).numeric("service").values;
    let zeros = 0;
    let missing = 0;
    for (let i = 0; i < svc.length; i++) {
      if (svc[i] === 0) zeros++;
      if (Number.isNaN(svc[i])) missing++;
    }
    expect([zeros, missing]).toEqual([47_153, 0]);
    // row 35 is the first with a service: http, the third most frequent level
    expect([table.value("service", 35), svc[35]]).toEqual(["http", 2]);
  });
});
