import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dataDir } from "../core/index.js";
import { readCsv } from "./csv.js";
import { inferSchema } from "./infer.js";
import type { DataSchema } from "./schema.js";
import { categoricalColumn, numericColumn, Table } from "./table.js";
import { quarantineLines, validateTable } from "./validate.js";

const dir = mkdtempSync(join(tmpdir(), "nw-validate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schema: DataSchema = {
  columns: [
    { name: "id", role: "id", type: "numeric", nullable: false },
    { name: "dur", role: "feature", type: "numeric", nullable: true, min: 0, max: 100, maxMissingRate: 0.2 },
    { name: "proto", role: "feature", type: "categorical", nullable: false, allowed: ["tcp", "udp"] },
    { name: "flag", role: "feature", type: "binary", nullable: true, allowed: [0, 1] },
    { name: "label", role: "target", type: "categorical", nullable: false },
    { name: "_id", role: "ignore", type: "categorical", nullable: true },
  ],
  unexpectedColumns: "error",
  missingTokens: ["", "NA"],
};

describe("validateTable", () => {
  const csv = [
    "id,dur,proto,flag,label,_id",
    "1,5,tcp,0,normal,a",
    "2,-1,tcp,1,attack,b", // below min
    "3,abc,udp,0,normal,c", // type error (and dur then missing: reported once)
    "4,,icmp,2,attack,d", // missing dur is fine (nullable); icmp and 2 not allowed
    "5,7,,1,,e", // proto missing (not nullable), target missing
    "6,101,udp,1,normal,f", // above max
    "7,NA,tcp,0,attack,g",
    "8,3,udp,1,normal,h",
  ].join("\n");
  const path = join(dir, "v.csv");
  writeFileSync(path, `${csv}\n`);

  it("lists every reason of every invalid row, with file lines, and the valid rows", async () => {
    const r = await readCsv(path, { schema });
    const v = validateTable(r.table, schema, r.rowIssues, { lineOf: r.lineOf });
    expect(v.nRows).toBe(8);
    expect(v.invalidRows).toEqual([
      { row: 1, line: 3, reasons: ["`dur`: -1 is below the minimum 0"] },
      { row: 2, line: 4, reasons: ['`dur`: "abc" is not a number'] },
      {
        row: 3,
        line: 5,
        reasons: [
          '`proto`: "icmp" is not an allowed value (allowed: "tcp", "udp")',
          "`flag`: 2 is not an allowed value (allowed: 0, 1)",
        ],
      },
      {
        row: 4,
        line: 6,
        reasons: ["`proto`: missing, and the column is not nullable", "target `label` is missing"],
      },
      { row: 5, line: 7, reasons: ["`dur`: 101 is above the maximum 100"] },
    ]);
    expect(Array.from(v.validRowIndices)).toEqual([0, 6, 7]);
    expect(v.nValid).toBe(3);
    expect(v.nInvalid).toBe(5);
    const dur = v.columns.find((c) => c.name === "dur")!;
    // Missing: "", "abc" (unreadable) and "NA" → 3 of 8.
    expect(dur).toMatchObject({
      missing: 3,
      typeErrors: 1,
      outOfRange: 2,
      breached: true,
      maxMissingRate: 0.2,
    });
    expect(dur.missingRate).toBeCloseTo(3 / 8, 15);
    expect(v.missingRateBreaches).toEqual([{ column: "dur", missingRate: 3 / 8, maxMissingRate: 0.2 }]);
    expect(v.columns.map((c) => c.name)).toEqual(["id", "dur", "proto", "flag", "label"]);
    expect(v.classBalance).toEqual({
      column: "label",
      classes: [
        { label: "normal", count: 4, fraction: 4 / 7 },
        { label: "attack", count: 3, fraction: 3 / 7 },
      ],
      missing: 1,
      minorityClass: "attack",
      minorityShare: 3 / 7,
      imbalanceRatio: 4 / 3,
    });
  });

  it("counts wrong field counts as row-level problems", async () => {
    const p = join(dir, "fields.csv");
    writeFileSync(p, "id,dur,proto,flag,label\n1,5,tcp,0,normal\n2,5,tcp\n");
    const s = { ...schema, columns: schema.columns.slice(0, 5) };
    const r = await readCsv(p, { schema: s });
    const v = validateTable(r.table, s, r.rowIssues, { lineOf: r.lineOf });
    expect(v.rowLevelIssues).toBe(1);
    // The short row also lacks its target: both reasons are kept.
    expect(v.invalidRows).toEqual([
      { row: 1, line: 3, reasons: ["row has 3 fields, expected 5", "target `label` is missing"] },
    ]);
  });

  it("checks tables from any source, comparing categories by text", () => {
    const t = new Table([
      numericColumn("id", [1, 2]),
      numericColumn("dur", [1, 2]),
      categoricalColumn("proto", ["udp", "tcp"]),
      numericColumn("flag", [1, 0]),
      categoricalColumn("label", ["x", "y"]),
    ]);
    const v = validateTable(t, schema);
    expect(v.nInvalid).toBe(0);
    expect(v.invalidRows).toEqual([]);
    expect(Array.from(v.validRowIndices)).toEqual([0, 1]);
  });

  it("writes the quarantine as JSON lines with reasons and values", async () => {
    const r = await readCsv(path, { schema });
    const v = validateTable(r.table, schema, r.rowIssues, { lineOf: r.lineOf });
    const lines = quarantineLines(r.table, v.invalidRows).trimEnd().split("\n");
    expect(lines).toHaveLength(5);
    expect(JSON.parse(lines[1])).toEqual({
      row: 2,
      line: 4,
      reasons: ['`dur`: "abc" is not a number'],
      values: { id: 3, dur: null, proto: "udp", flag: 0, label: "normal" },
    });
    expect(JSON.parse(lines[3]).values).toEqual({ id: 5, dur: 7, proto: null, flag: 1, label: null });
  });

  it("finds nothing wrong in the phishing file under its inferred schema", async () => {
    const path = join(dataDir(), "phishing_websites.csv");
    const inf = await inferSchema(path);
    const r = await readCsv(path, { schema: inf.schema });
    const v = validateTable(r.table, inf.schema, r.rowIssues, { lineOf: r.lineOf });
    expect(v.nInvalid).toBe(0);
    expect(v.validRowIndices.length).toBe(11_055);
    expect(v.classBalance?.classes).toEqual([
      { label: 1, count: 6157, fraction: 6157 / 11_055 },
      { label: -1, count: 4898, fraction: 4898 / 11_055 },
    ]);
    // Narrow one allowed list: every row with the excluded value is caught.
    const strict: DataSchema = {
      ...inf.schema,
      columns: inf.schema.columns.map((c) => (c.name === "Redirect" ? { ...c, allowed: [0] } : c)),
    };
    const w = validateTable(r.table, strict, r.rowIssues);
    const ones = r.table.numeric("Redirect").values.filter((x) => x === 1).length;
    expect(ones).toBeGreaterThan(0);
    expect(w.nInvalid).toBe(ones);
    expect(w.invalidRows[0].line).toBeUndefined();
  });
});
