import { describe, expect, it } from "vitest";
import type { DuplicateReport } from "./duplicates.js";
import { findings, renderReport, reportToJson } from "./report.js";
import type { DataSchema } from "./schema.js";
import { driftReport } from "./stats.js";
import { categoricalColumn, numericColumn, Table } from "./table.js";
import { validateTable } from "./validate.js";

const dupes: DuplicateReport = {
  featureColumns: ["f"],
  target: "y",
  train: { rows: 8844, distinct: 5157, duplicates: 3687 },
  test: { rows: 2211, distinct: 1846, duplicates: 365 },
  leakage: { testRows: 1012, share: 1012 / 2211 },
  conflicts: { vectors: 64, rows: 357 },
};

const schema: DataSchema = {
  columns: [
    { name: "dur", role: "feature", type: "numeric", nullable: true, max: 10, maxMissingRate: 0.1 },
    { name: "proto", role: "feature", type: "categorical", nullable: true },
    { name: "y", role: "target", type: "categorical", nullable: false },
  ],
  unexpectedColumns: "error",
  missingTokens: [],
};

function table(n: number, shift: number): Table {
  return new Table([
    numericColumn(
      "dur",
      Float64Array.from({ length: n }, (_, i) => (i % 5 === 0 ? Number.NaN : (i % 10) + shift)),
    ),
    categoricalColumn(
      "proto",
      Array.from({ length: n }, (_, i) => (i % 2 ? "tcp" : "udp")),
    ),
    categoricalColumn(
      "y",
      Array.from({ length: n }, (_, i) => (i % 20 === 0 ? "attack" : "normal")),
    ),
  ]);
}

describe("report", () => {
  const train = table(200, 0);
  const validation = validateTable(train, schema);
  const drift = driftReport(train, table(200, 5), schema);

  it("puts the findings first, with counts and shares", () => {
    expect(findings({ duplicates: dupes })).toEqual([
      "duplicate leakage: 1,012 of 2,211 test rows (45.8 %) also occur in train — consider `split.dedupe: group`",
      "duplicates: 3,687 of 8,844 train rows (41.7 %) repeat an earlier row",
      "conflicting labels: 64 feature vectors (357 rows) occur with more than one label",
    ]);
    expect(findings({ validation, drift })).toEqual([
      // dur is missing in every 5th row (40) and never above 10 in train
      "missing values: `dur` is 20.0 % missing, above its limit of 10.0 %",
      "class imbalance: `y` = attack is 5.0 % of rows (10) — consider class weights or resampling",
      "drift: 1 of 2 features (50.0 %) drifted — `dur`",
    ]);
    expect(findings({})).toEqual([]);
  });

  it("renders aligned tables under the findings", () => {
    const text = renderReport({ title: "Data check", validation, drift, duplicates: dupes });
    const lines = text.split("\n");
    expect(lines.slice(0, 3)).toEqual(["Data check", "==========", ""]);
    expect(lines[3]).toBe("Findings");
    expect(text).toContain("  - duplicate leakage: 1,012 of 2,211 test rows (45.8 %)");
    const head = lines.findIndex((l) => l.startsWith("  column "));
    // Header, rule and rows share their column boundaries: the rule's gaps sit under gaps.
    const rule = lines[head + 1];
    expect(rule).toMatch(/^ {2}-+( {2}-+)+$/);
    for (const row of lines.slice(head, head + 5)) {
      for (let i = 0; i < rule.length; i++)
        if (rule[i] === " " && rule[i + 1] === "-") expect(row[i]).toBe(" ");
    }
    expect(lines[head + 2]).toMatch(/^ {2}dur +feature +numeric +40 +20\.0 % +10\.0 % ! +0 +0 +0$/);
    expect(text).toContain("  train  8,844     5,157    3,687");
    expect(text).toMatch(/dur +KS +0\.5000 +\S+ +\S+ +yes/);
    expect(text.endsWith("\n")).toBe(true);
    expect(renderReport({})).toContain("  - no problems found");
  });

  it("gives a JSON-ready object without typed arrays", () => {
    const json = reportToJson({ validation, duplicates: dupes, drift });
    const back = JSON.parse(JSON.stringify(json));
    expect(back.validation.validRowIndices).toBeUndefined();
    expect(back.validation.nRows).toBe(200);
    expect(back.duplicates).toEqual(dupes);
    expect(back.findings).toHaveLength(6);
  });
});
