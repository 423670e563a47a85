import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { readCsv } from "./csv.js";
import { fingerprintTable } from "./fingerprint.js";
import { type CategoricalColumn, categoricalColumn, numericColumn, Table } from "./table.js";

const dir = mkdtempSync(join(tmpdir(), "nw-fp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = () =>
  new Table([numericColumn("x", [1.5, Number.NaN, -2]), categoricalColumn("s", ["b", "a", null])]);

describe("fingerprintTable", () => {
  it("is sha256 over the documented canonical encoding", () => {
    const h = createHash("sha256");
    h.update(
      JSON.stringify({
        format: "netwarden.table-fingerprint/v1",
        rows: 3,
        columns: [
          ["s", "categorical"],
          ["x", "numeric"],
        ],
      }),
    );
    // s: sorted used categories, then codes into that order (-1 = missing)
    h.update(JSON.stringify(["a", "b"]));
    h.update(new Uint8Array(Int32Array.from([1, 0, -1]).buffer));
    h.update(new Uint8Array(Float64Array.from([1.5, Number.NaN, -2]).buffer));
    expect(fingerprintTable(base())).toBe(h.digest("hex"));
  });

  it("depends on the data, not on dictionary order, column order, unused categories or -0", () => {
    const fp = fingerprintTable(base());
    const reordered: CategoricalColumn = {
      type: "categorical",
      name: "s",
      categories: ["zz", "a", "b"],
      codes: Int32Array.from([2, 1, -1]),
    };
    expect(fingerprintTable(new Table([reordered, numericColumn("x", [1.5, Number.NaN, -2])]))).toBe(fp);
    const zeros = (z: number) => fingerprintTable(new Table([numericColumn("x", [z])]));
    expect(zeros(-0)).toBe(zeros(0));
    // Any change of a value, a name or a type changes it.
    expect(
      fingerprintTable(new Table([numericColumn("x", [1.5, Number.NaN, -2.0000001]), base().column("s")])),
    ).not.toBe(fp);
    expect(
      fingerprintTable(new Table([numericColumn("y", [1.5, Number.NaN, -2]), base().column("s")])),
    ).not.toBe(fp);
    expect(fingerprintTable(new Table([numericColumn("v", [1])]))).not.toBe(
      fingerprintTable(new Table([categoricalColumn("v", ["1"])])),
    );
    // A row subset keeps the full dictionary; only the categories in use count.
    const sub = base().take([0, 2]);
    const fresh = new Table([numericColumn("x", [1.5, -2]), categoricalColumn("s", ["b", null])]);
    expect(fingerprintTable(sub)).toBe(fingerprintTable(fresh));
  });

  it("is the same for a CSV file, its gzip copy and the same rows built in memory", async () => {
    const text = "x,s\n1.5,b\n,a\n-2,\n";
    const plain = join(dir, "t.csv");
    writeFileSync(plain, text);
    const gz = join(dir, "t.csv.gz");
    writeFileSync(gz, gzipSync(text));
    const a = fingerprintTable((await readCsv(plain)).table);
    const b = fingerprintTable((await readCsv(gz)).table);
    expect(a).toBe(b);
    expect(a).toBe(fingerprintTable(base()));
  });
});
