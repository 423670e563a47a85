import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { dataDir, NetwardenError, RecordingProgress } from "../core/index.js";
import { parseNumber, parseNumberBytes, readCsv } from "./csv.js";
import type { ColumnSpec, DataSchema } from "./schema.js";
import type { Table } from "./table.js";

const dir = mkdtempSync(join(tmpdir(), "nw-csv-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;
function fixture(content: string | Uint8Array, name = `f${seq++}.csv`): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

function col(name: string, type: ColumnSpec["type"], role: ColumnSpec["role"] = "feature"): ColumnSpec {
  return { name, role, type, nullable: role !== "target" };
}
function schemaOf(columns: ColumnSpec[], extra: Partial<DataSchema> = {}): DataSchema {
  return { columns, unexpectedColumns: "error", missingTokens: ["", "NA"], ...extra };
}

async function codeOf(p: Promise<unknown>): Promise<NetwardenError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(NetwardenError);
    return e as NetwardenError;
  }
  throw new Error("expected a NetwardenError");
}

function rows(t: Table): Record<string, number | string | null>[] {
  return Array.from({ length: t.nRows }, (_, i) => t.row(i));
}

function classCounts(t: Table, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < t.nRows; i++) {
    const v = String(t.value(name, i));
    out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

describe("readCsv: RFC 4180 parsing", () => {
  it("handles quotes, doubled quotes, delimiters and newlines inside quotes, CRLF and a BOM", async () => {
    const p = fixture('\ufeffa,b,c\r\n1,"x, y",3\r\n2,"multi\nline ""q""",4\r\n\r\n5,plain,"6"\r\n');
    const r = await readCsv(p);
    expect(r.header).toEqual(["a", "b", "c"]);
    expect(r.hasHeader).toBe(true);
    expect(rows(r.table)).toEqual([
      { a: 1, b: "x, y", c: 3 },
      { a: 2, b: 'multi\nline "q"', c: 4 },
      { a: 5, b: "plain", c: 6 },
    ]);
    // The quoted newline moves the next record down a line; the blank line 5 is skipped.
    expect(Array.from(r.lineOf)).toEqual([2, 3, 6]);
    expect(r.table.column("c").type).toBe("numeric");
  });

  it("keeps an empty last field and a final record without a newline", async () => {
    const r = await readCsv(fixture('a,b,c\n1,2,\n"x",y,"z"'));
    expect(rows(r.table)).toEqual([
      { a: "1", b: "2", c: null },
      { a: "x", b: "y", c: "z" },
    ]);
  });

  it("parses records that straddle read chunks (plain and gzip)", async () => {
    // ~3 MB with quoted multi-line fields, so many records cross the 1 MB / 256 kB chunk edges.
    const n = 40_000;
    const lines = ["id,text,v"];
    for (let i = 0; i < n; i++) lines.push(`${i},"row ${i}, part\n""${i % 7}""",${i * 0.5}`);
    const text = `${lines.join("\n")}\n`;
    for (const p of [fixture(text), fixture(gzipSync(text), "big.csv.gz")]) {
      const r = await readCsv(p);
      expect(r.table.nRows).toBe(n);
      for (const i of [0, 1, 12_345, 26_214, n - 1]) {
        expect(r.table.row(i)).toEqual({ id: i, text: `row ${i}, part\n"${i % 7}"`, v: i * 0.5 });
        expect(r.lineOf[i]).toBe(2 + 2 * i);
      }
    }
  });

  it("detects the delimiter from the first line, or takes the one given", async () => {
    expect((await readCsv(fixture("a;b;c\n1;2;3\n"))).delimiter).toBe(";");
    expect((await readCsv(fixture("a\tb\n1\tx\n"))).table.row(0)).toEqual({ a: 1, b: "x" });
    expect((await readCsv(fixture("a|b\n1|2\n"))).table.names).toEqual(["a", "b"]);
    // The comma inside quotes does not count; two semicolons outside do.
    expect((await readCsv(fixture('"x,y";b;c\n1;2;3\n'))).delimiter).toBe(";");
    const forced = await readCsv(fixture("a;b,c\n1;2,3\n"), { delimiter: "," });
    expect(forced.table.names).toEqual(["a;b", "c"]);
    const e = await codeOf(readCsv(fixture("a,b\n1,2\n"), { delimiter: ",," }));
    expect(e.code).toBe("NW_CONFIG_INVALID_VALUE");
  });

  it("decides the header: auto, forced on and forced off", async () => {
    const numeric = fixture("1,2,3\n4,5,6\n");
    const auto = await readCsv(numeric);
    expect(auto.hasHeader).toBe(false);
    expect(auto.header).toEqual(["col_1", "col_2", "col_3"]);
    expect(auto.table.nRows).toBe(2);
    expect((await readCsv(numeric, { header: true })).table.names).toEqual(["1", "2", "3"]);
    // All-text rows: the first is a header because its cells are distinct names.
    const text = await readCsv(fixture("proto,service\ntcp,-\nudp,dns\n"));
    expect(text.hasHeader).toBe(true);
    expect(rows(text.table)).toEqual([
      { proto: "tcp", service: "-" },
      { proto: "udp", service: "dns" },
    ]);
    const off = await readCsv(fixture("proto,service\ntcp,-\n"), { header: false });
    expect(off.table.row(0)).toEqual({ col_1: "proto", col_2: "service" });
  });

  it("rejects a header that names a column twice", async () => {
    const e = await codeOf(readCsv(fixture("a,b,a\n1,2,3\n")));
    expect(e.code).toBe("NW_DATA_MALFORMED");
    expect(e.message).toContain("`a`");
  });
});

describe("readCsv: errors", () => {
  it("NW_DATA_NOT_FOUND names the missing path", async () => {
    const p = join(dir, "nope.csv");
    const e = await codeOf(readCsv(p));
    expect(e.code).toBe("NW_DATA_NOT_FOUND");
    expect(e.message).toContain(p);
    expect((await codeOf(readCsv(dir))).code).toBe("NW_DATA_NOT_FOUND");
  });

  it("NW_DATA_EMPTY for a header-only file, an empty file and blank lines", async () => {
    const h = await codeOf(readCsv(fixture("a,b,c\n")));
    expect(h.code).toBe("NW_DATA_EMPTY");
    expect(h.message).toContain("header but no data rows");
    expect((await codeOf(readCsv(fixture("")))).code).toBe("NW_DATA_EMPTY");
    expect((await codeOf(readCsv(fixture("\n\r\n\n")))).code).toBe("NW_DATA_EMPTY");
  });

  it("NW_DATA_MALFORMED for an unterminated quote, with the line where the record starts", async () => {
    const e = await codeOf(readCsv(fixture('a,b\n1,2\n3,"abc\n4,5\n')));
    expect(e.code).toBe("NW_DATA_MALFORMED");
    expect(e.details).toEqual({ line: 3 });
    expect(e.where).toMatch(/:3$/);
  });

  it("NW_DATA_MALFORMED for text that is not UTF-8, with its line", async () => {
    const bytes = Buffer.concat([Buffer.from("a,b\n1,ok\n2,caf"), Buffer.from([0xe9]), Buffer.from("\n")]);
    const e = await codeOf(readCsv(fixture(bytes)));
    expect(e.code).toBe("NW_DATA_MALFORMED");
    expect(e.details).toEqual({ line: 3 });
  });
});

describe("readCsv: gzip", () => {
  it("detects gzip by its magic bytes, whatever the file is called", async () => {
    const gz = fixture(gzipSync("a,b\n1,x\n2,y\n"), "looks-plain.csv");
    const r = await readCsv(gz);
    expect(r.compressed).toBe(true);
    expect(rows(r.table)).toEqual([
      { a: 1, b: "x" },
      { a: 2, b: "y" },
    ]);
    expect(r.bytes).toBe(statSync(gz).size);
    const plain = await readCsv(fixture("a,b\n1,x\n", "not-really.csv.gz"));
    expect(plain.compressed).toBe(false);
    expect(plain.table.row(0)).toEqual({ a: 1, b: "x" });
  });

  it("reports corrupt and truncated gzip data as NW_DATA_MALFORMED", async () => {
    const bad = await codeOf(
      readCsv(fixture(Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9]), "bad.gz")),
    );
    expect(bad.code).toBe("NW_DATA_MALFORMED");
    expect(bad.message).toContain("not valid gzip");
    const text = `a,b\n${Array.from({ length: 20_000 }, (_, i) => `${i},${(i * 7919) % 10_007}`).join("\n")}\n`;
    const gz = gzipSync(text);
    const cut = await codeOf(readCsv(fixture(gz.subarray(0, gz.length >> 1), "cut.gz")));
    expect(cut.code).toBe("NW_DATA_MALFORMED");
    expect(cut.details?.line).toBeGreaterThan(1000);
  });
});

describe("readCsv with a schema", () => {
  const schema = schemaOf([col("a", "numeric"), col("s", "categorical"), col("y", "binary", "target")]);

  it("turns unreadable cells and wrong field counts into row issues, keeping every row", async () => {
    const p = fixture('a,s,y\n1,"two\nlines",0\nabc,x,1\n3,z\n4,w,1,extra\n5,v,oops\n');
    const r = await readCsv(p, { schema });
    expect(r.table.nRows).toBe(5);
    expect(r.rowIssues).toEqual([
      { row: 1, line: 4, column: "a", value: "abc", reason: "not a number" },
      { row: 2, line: 5, column: null, value: "3,z", reason: "row has 2 fields, expected 3" },
      { row: 3, line: 6, column: null, value: "4,w,1,extra", reason: "row has 4 fields, expected 3" },
      { row: 4, line: 7, column: "y", value: "oops", reason: "not a number" },
    ]);
    expect(r.table.value("a", 1)).toBeNull();
    expect(r.table.value("y", 2)).toBeNull();
    expect(r.table.value("y", 3)).toBe(1);
    expect(Array.from(r.lineOf)).toEqual([2, 4, 5, 6, 7]);
  });

  it("keeps schema order, reads missing tokens as missing and `-` as a category", async () => {
    const p = fixture("y,s,a\n1,-,NA\n0,,2.5\n1,NA,\n");
    const r = await readCsv(p, { schema });
    expect(r.table.names).toEqual(["a", "s", "y"]);
    expect(rows(r.table)).toEqual([
      { a: null, s: "-", y: 1 },
      { a: 2.5, s: null, y: 0 },
      { a: null, s: null, y: 1 },
    ]);
    expect(r.rowIssues).toEqual([]);
    const custom = await readCsv(p, { schema: { ...schema, missingTokens: ["-"] } });
    expect(custom.table.value("s", 0)).toBeNull();
    expect(custom.table.value("s", 2)).toBe("NA");
  });

  it("NW_SCHEMA_MISSING_COLUMN names the column and the file, lists the columns and suggests a name", async () => {
    const p = fixture("a,sx,Result\n1,x,0\n");
    const e = await codeOf(
      readCsv(p, { schema: schemaOf([col("a", "numeric"), col("result", "binary", "target")]) }),
    );
    expect(e.code).toBe("NW_SCHEMA_MISSING_COLUMN");
    expect(e.message).toContain("`result`");
    expect(e.message).toContain(p);
    expect(e.message).toContain("a, sx, Result");
    expect(e.hint).toContain("Did you mean `Result`?");
    expect(e.details?.missing).toEqual(["result"]);
  });

  it("handles columns the schema does not list according to unexpectedColumns", async () => {
    const p = fixture("a,s,y,extra\n1,x,0,zz\n");
    const e = await codeOf(readCsv(p, { schema }));
    expect(e.code).toBe("NW_SCHEMA_UNEXPECTED_COLUMN");
    expect(e.message).toContain("`extra`");
    const progress = new RecordingProgress();
    const warned = await readCsv(p, { schema: { ...schema, unexpectedColumns: "warn" }, progress });
    expect(warned.unexpectedColumns).toEqual(["extra"]);
    expect(warned.table.has("extra")).toBe(false);
    expect(progress.messages).toHaveLength(1);
    expect(progress.messages[0].level).toBe("warn");
    const quiet = await readCsv(p, { schema: { ...schema, unexpectedColumns: "ignore" } });
    expect(quiet.unexpectedColumns).toEqual(["extra"]);
  });

  it("never loads role: ignore columns, and does not require them", async () => {
    const s = schemaOf([
      col("_id", "categorical", "ignore"),
      col("a", "numeric"),
      col("y", "binary", "target"),
    ]);
    const withId = await readCsv(fixture("_id,a,y\nx1,1,0\n"), { schema: s });
    expect(withId.table.names).toEqual(["a", "y"]);
    const without = await readCsv(fixture("a,y\n1,0\n"), { schema: s });
    expect(without.table.names).toEqual(["a", "y"]);
  });

  it("names the columns of a headerless file after the schema", async () => {
    const r = await readCsv(fixture("1,x,0\n2,y,1\n"), { schema, header: false });
    expect(r.table.row(1)).toEqual({ a: 2, s: "y", y: 1 });
  });
});

describe("readCsv without a schema", () => {
  it("types a column as text when text shows up after the rows it first looked at", async () => {
    // 1,500 numeric-looking rows, then text: the column must come back as text, original spelling kept.
    const lines = ["a,b"];
    for (let i = 0; i < 1500; i++) lines.push(`0${i},${i}`);
    lines.push("foo,7");
    const r = await readCsv(fixture(`${lines.join("\n")}\n`));
    expect(r.table.column("a").type).toBe("categorical");
    expect(r.table.value("a", 0)).toBe("00");
    expect(r.table.value("a", 1500)).toBe("foo");
    expect(r.table.column("b").type).toBe("numeric");
    expect(r.rowIssues).toEqual([]);
  });

  it("stops after `limit` rows and reports read progress", async () => {
    const text = `a,b\n${Array.from({ length: 5000 }, (_, i) => `${i},${i % 3}`).join("\n")}\n`;
    const p = fixture(text);
    const r = await readCsv(p, { limit: 10 });
    expect(r.table.nRows).toBe(10);
    expect(r.table.value("a", 9)).toBe(9);
    const progress = new RecordingProgress();
    const all = await readCsv(p, { progress });
    expect(all.table.nRows).toBe(5000);
    const ticks = progress.events.filter((e) => e.event === "tick");
    expect(ticks[ticks.length - 1].value).toBe(Buffer.byteLength(text));
    expect(progress.events.some((e) => e.event === "done")).toBe(true);
  });
});

describe("number parsing", () => {
  const cases = ["0", "-0", "1.5", "1e5", "1E-5", ".5", "5.", "+3", " 7 ", "0.000011", "90909.0902"];
  const more = ["123456789012345678", "-1.7976931348623157e308", "4.9e-324", "0.1", "12345.678901234567"];
  it("reads decimal numbers exactly as Number() does, from text and from bytes", () => {
    for (const s of [...cases, ...more]) {
      const b = Buffer.from(`,${s},`);
      expect(Object.is(parseNumber(s), Number(s))).toBe(true);
      expect(Object.is(parseNumberBytes(b, 1, b.length - 1), Number(s))).toBe(true);
    }
  });

  it("rejects what is not a decimal number", () => {
    for (const s of ["", "-", ".", "1e", "1.2.3", "0x10", "0b1", "Infinity", "NaN", "1,5", "1e400", "abc"]) {
      const b = Buffer.from(s);
      expect(parseNumber(s)).toBeNaN();
      expect(parseNumberBytes(b, 0, b.length)).toBeNaN();
    }
  });

  it("agrees with Number() on many generated decimals (the fast path is exact)", () => {
    let state = 12345;
    const rand = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 4294967296;
    };
    for (let k = 0; k < 10_000; k++) {
      const digits = 1 + Math.floor(rand() * 17);
      let s = "";
      for (let i = 0; i < digits; i++) s += Math.floor(rand() * 10);
      const dot = Math.floor(rand() * (digits + 1));
      s = `${rand() < 0.3 ? "-" : ""}${s.slice(0, dot)}.${s.slice(dot)}`;
      if (rand() < 0.2) s += `e${Math.floor(rand() * 60) - 30}`;
      const b = Buffer.from(s);
      expect(parseNumberBytes(b, 0, b.length)).toBe(Number(s));
    }
  });
});

describe("real data", () => {
  const phishing = join(dataDir(), "phishing_websites.csv");
  const unsw = join(dataDir(), "unsw_nb15_testing.csv.gz");

  it("reads the phishing file with and without a schema", async () => {
    const plain = await readCsv(phishing);
    expect(plain.table.nRows).toBe(11_055);
    expect(plain.table.nCols).toBe(31);
    expect(plain.table.columns.every((c) => c.type === "numeric")).toBe(true);
    expect(classCounts(plain.table, "Result")).toEqual({ "1": 6157, "-1": 4898 });

    const schema = schemaOf(
      plain.header.map((n) => (n === "Result" ? col(n, "binary", "target") : col(n, "numeric"))),
    );
    const typed = await readCsv(phishing, { schema });
    expect(typed.rowIssues).toEqual([]);
    expect(typed.table.nRows).toBe(11_055);
    expect(Array.from(typed.table.numeric("Redirect").values.slice(0, 5))).toEqual(
      Array.from(plain.table.numeric("Redirect").values.slice(0, 5)),
    );
    expect(typed.lineOf[11_054]).toBe(11_056);
  });

  it("reads UNSW-NB15 (gzip) with its text columns and the `-` service as a category", async () => {
    const r = await readCsv(unsw);
    expect(r.compressed).toBe(true);
    expect(r.table.nRows).toBe(82_332);
    expect(r.table.nCols).toBe(45);
    const text = r.table.columns.filter((c) => c.type === "categorical").map((c) => c.name);
    expect(text).toEqual(["proto", "service", "state", "attack_cat"]);
    expect(r.table.categorical("proto").categories).toHaveLength(131);
    expect(classCounts(r.table, "attack_cat")).toEqual({
      Normal: 37_000,
      Generic: 18_871,
      Exploits: 11_132,
      Fuzzers: 6062,
      DoS: 4089,
      Reconnaissance: 3496,
      Analysis: 677,
      Backdoor: 583,
      Shellcode: 378,
      Worms: 44,
    });
    const service = classCounts(r.table, "service");
    expect(service["-"]).toBe(47_153);
    expect(service.dns).toBe(21_367);
    expect(classCounts(r.table, "state")).toEqual({
      FIN: 39_339,
      INT: 34_163,
      CON: 6982,
      REQ: 1842,
      ACC: 4,
      RST: 1,
      CLO: 1,
    });
    expect(classCounts(r.table, "label")).toEqual({ "1": 45_332, "0": 37_000 });
    expect(r.table.value("id", 82_331)).toBe(82_332);

    const schema = schemaOf(
      r.header.map((n) =>
        n === "label"
          ? col(n, "binary", "target")
          : n === "id"
            ? col(n, "numeric", "id")
            : col(n, r.table.column(n).type === "categorical" ? "categorical" : "numeric"),
      ),
    );
    const typed = await readCsv(unsw, { schema, limit: 1000 });
    expect(typed.rowIssues).toEqual([]);
    expect(typed.table.nRows).toBe(1000);
    expect(typed.table.row(999)).toEqual(r.table.row(999));
  });
});
