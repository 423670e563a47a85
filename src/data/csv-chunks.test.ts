import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { dataDir } from "../core/index.js";
import { readCsv, readCsvChunks } from "./csv.js";
import type { DataSchema } from "./schema.js";
import { cellValue } from "./table.js";

const UNSW = join(dataDir(), "unsw_nb15_testing.csv.gz");

const schema: DataSchema = {
  columns: [
    { name: "dur", role: "feature", type: "numeric", nullable: true },
    { name: "proto", role: "feature", type: "categorical", nullable: true },
    { name: "service", role: "feature", type: "categorical", nullable: true },
    { name: "sbytes", role: "feature", type: "numeric", nullable: true },
  ],
  unexpectedColumns: "ignore",
  missingTokens: [""],
};

/** Bytes in pieces of `size`, as a socket would deliver them. */
async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, Math.min(bytes.length, i + size));
}

describe("readCsvChunks (streamed uploads)", () => {
  it("reads the gzip UNSW-NB15 file in bounded chunks that add up to the whole file", async () => {
    const whole = (await readCsv(UNSW, { schema })).table;
    let rows = 0;
    let chunks = 0;
    let biggest = 0;
    const protoSeen: string[] = [];
    for await (const c of readCsvChunks(pieces(readFileSync(UNSW), 7001), { schema, chunkRows: 5000 })) {
      expect(c.firstRow).toBe(rows);
      expect(c.unexpectedColumns).toContain("attack_cat");
      expect(c.rowIssues).toEqual([]);
      const t = c.table;
      for (const i of [0, t.nRows - 1]) {
        expect(cellValue(t.column("sbytes"), i)).toBe(cellValue(whole.column("sbytes"), rows + i));
        expect(cellValue(t.column("service"), i)).toBe(cellValue(whole.column("service"), rows + i));
      }
      expect(c.lineOf[0]).toBe(rows + 2);
      protoSeen.push(cellValue(t.column("proto"), 0) as string);
      rows += t.nRows;
      biggest = Math.max(biggest, t.nRows);
      chunks++;
    }
    expect(rows).toBe(82_332);
    expect(chunks).toBeGreaterThan(10);
    expect(biggest).toBeLessThan(10_000);
    expect(protoSeen[0]).toBe("udp");
  });

  it("reads plain text split anywhere, even inside a quoted field", async () => {
    const text = 'proto,service,dur,sbytes\n"tcp",http,0.5,10\n"u,dp","-",1e-3,20\nicmp,"a""b",,30\n';
    const out = [];
    for await (const c of readCsvChunks(pieces(Buffer.from(text), 3), { schema, chunkRows: 1 })) {
      for (let i = 0; i < c.table.nRows; i++) out.push(c.table.row(i));
    }
    expect(out).toEqual([
      { dur: 0.5, proto: "tcp", service: "http", sbytes: 10 },
      { dur: 0.001, proto: "u,dp", service: "-", sbytes: 20 },
      { dur: null, proto: "icmp", service: 'a"b', sbytes: 30 },
    ]);
  });

  it("reports bad cells as row issues and structural problems as coded errors", async () => {
    const bad = "proto,service,dur,sbytes\ntcp,http,fast,10\ntcp,http,1\n";
    const [c] = await collect(Buffer.from(bad));
    expect(c.rowIssues.map((r) => [r.row, r.line, r.column, r.reason])).toEqual([
      [0, 2, "dur", "not a number"],
      [1, 3, null, "row has 3 fields, expected 4"],
    ]);
    await expect(collect(Buffer.from("proto,dur\ntcp,1\n"))).rejects.toMatchObject({
      code: "NW_SCHEMA_MISSING_COLUMN",
    });
    await expect(collect(Buffer.from('proto,service,dur,sbytes\n"tcp,http,1,2\n'))).rejects.toMatchObject({
      code: "NW_DATA_MALFORMED",
    });
    await expect(collect(Buffer.from("proto,service,dur,sbytes\n"))).rejects.toMatchObject({
      code: "NW_DATA_EMPTY",
    });
    const gz = readFileSync(UNSW);
    await expect(collect(gz.subarray(0, 5000))).rejects.toMatchObject({ code: "NW_DATA_MALFORMED" });
    // The truncated file's text up to the cut still parses.
    expect(gunzipSync(gz).subarray(0, 100).toString()).toContain("id,dur,proto");
  });
});

async function collect(bytes: Uint8Array) {
  const out = [];
  for await (const c of readCsvChunks(pieces(bytes, 1000), { schema })) out.push(c);
  return out;
}
