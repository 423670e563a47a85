/**
 * A minimal Parquet writer for tests (no Parquet writer is among the dependencies): one row group,
 * one v1 data page per column, PLAIN encoding, OPTIONAL columns with RLE definition levels, no or
 * GZIP compression. Enough to turn the real datasets into Parquet files that an independent reader
 * (hyparquet) must read back; it follows the format spec (parquet-format, Thrift compact protocol).
 */
import { gzipSync } from "node:zlib";

export type ParquetColumnType = "INT64" | "DOUBLE" | "UTF8";

export interface ParquetColumn {
  name: string;
  type: ParquetColumnType;
  /** null marks a missing value. */
  values: readonly (number | string | null)[];
}

const TYPE = { INT64: 2, DOUBLE: 5, UTF8: 6 } as const; // physical types (UTF8 is BYTE_ARRAY)
const CODEC = { none: 0, gzip: 2 } as const;

/** Thrift compact protocol, just the parts the file metadata needs. */
class Compact {
  private readonly bytes: number[] = [];
  private last: number[] = [0];

  private varint(n: bigint): void {
    let v = n;
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }
  private zigzag(n: number | bigint): void {
    const v = BigInt(n);
    this.varint(v >= 0n ? v * 2n : -v * 2n - 1n);
  }
  private header(id: number, type: number): void {
    const delta = id - this.last[this.last.length - 1];
    if (delta > 0 && delta <= 15) this.bytes.push((delta << 4) | type);
    else {
      this.bytes.push(type);
      this.zigzag(id);
    }
    this.last[this.last.length - 1] = id;
  }
  i32(id: number, v: number): this {
    this.header(id, 5);
    this.zigzag(v);
    return this;
  }
  i64(id: number, v: number): this {
    this.header(id, 6);
    this.zigzag(v);
    return this;
  }
  string(id: number, s: string): this {
    this.header(id, 8);
    const b = Buffer.from(s, "utf8");
    this.varint(BigInt(b.length));
    for (const x of b) this.bytes.push(x);
    return this;
  }
  struct(id: number, body: (c: this) => void): this {
    this.header(id, 12);
    this.last.push(0);
    body(this);
    this.bytes.push(0);
    this.last.pop();
    return this;
  }
  list<T>(
    id: number,
    elemType: "i32" | "string" | "struct",
    items: readonly T[],
    write: (c: this, item: T) => void,
  ): this {
    this.header(id, 9);
    const t = { i32: 5, string: 8, struct: 12 }[elemType];
    if (items.length < 15) this.bytes.push((items.length << 4) | t);
    else {
      this.bytes.push(0xf0 | t);
      this.varint(BigInt(items.length));
    }
    for (const item of items) {
      if (elemType === "struct") {
        this.last.push(0);
        write(this, item);
        this.bytes.push(0);
        this.last.pop();
      } else write(this, item);
    }
    return this;
  }
  /** A list element (no field header). */
  rawI32(v: number): void {
    this.zigzag(v);
  }
  rawString(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.varint(BigInt(b.length));
    for (const x of b) this.bytes.push(x);
  }
  end(): Buffer {
    this.bytes.push(0);
    return Buffer.from(this.bytes);
  }
}

/** RLE runs of the definition levels (bit width 1), with the 4-byte length prefix of v1 pages. */
function definitionLevels(values: readonly unknown[]): Buffer {
  const runs: number[] = [];
  let i = 0;
  while (i < values.length) {
    const level = values[i] === null ? 0 : 1;
    let j = i;
    while (j < values.length && (values[j] === null ? 0 : 1) === level) j++;
    const header: number[] = [];
    let h = (j - i) << 1;
    while (h >= 0x80) {
      header.push((h & 0x7f) | 0x80);
      h >>>= 7;
    }
    header.push(h);
    runs.push(...header, level);
    i = j;
  }
  const body = Buffer.from(runs);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length);
  return Buffer.concat([len, body]);
}

function plainValues(col: ParquetColumn): Buffer {
  const present = col.values.filter((v) => v !== null);
  if (col.type === "UTF8") {
    return Buffer.concat(
      present.map((v) => {
        const b = Buffer.from(String(v), "utf8");
        const len = Buffer.alloc(4);
        len.writeUInt32LE(b.length);
        return Buffer.concat([len, b]);
      }),
    );
  }
  const out = Buffer.alloc(present.length * 8);
  present.forEach((v, k) => {
    if (col.type === "INT64") out.writeBigInt64LE(BigInt(v as number), k * 8);
    else out.writeDoubleLE(v as number, k * 8);
  });
  return out;
}

export function writeParquet(
  columns: readonly ParquetColumn[],
  options: { compression?: "none" | "gzip" } = {},
): Buffer {
  const codec = options.compression ?? "none";
  const nRows = columns[0]?.values.length ?? 0;
  const parts: Buffer[] = [Buffer.from("PAR1")];
  let offset = 4;
  const chunks: { name: string; type: number; offset: number; size: number; uncompressed: number }[] = [];
  for (const col of columns) {
    const raw = Buffer.concat([definitionLevels(col.values), plainValues(col)]);
    const data = codec === "gzip" ? gzipSync(raw) : raw;
    const header = new Compact()
      .i32(1, 0) // DATA_PAGE
      .i32(2, raw.length)
      .i32(3, data.length)
      .struct(5, (c) => {
        c.i32(1, col.values.length).i32(2, 0).i32(3, 3).i32(4, 3); // PLAIN values, RLE levels
      })
      .end();
    chunks.push({
      name: col.name,
      type: TYPE[col.type],
      offset,
      size: header.length + data.length,
      uncompressed: header.length + raw.length,
    });
    parts.push(header, data);
    offset += header.length + data.length;
  }
  const meta = new Compact()
    .i32(1, 1)
    .list(2, "struct", [null, ...columns], (c, col) => {
      if (col === null) {
        c.string(4, "schema").i32(5, columns.length);
        return;
      }
      c.i32(1, TYPE[col.type]).i32(3, 1).string(4, col.name); // OPTIONAL
      if (col.type === "UTF8") c.i32(6, 0); // converted type UTF8
    })
    .i64(3, nRows)
    .list(4, "struct", [0], (c) => {
      c.list(1, "struct", chunks, (cc, ch) => {
        cc.i64(2, ch.offset).struct(3, (m) => {
          m.i32(1, ch.type)
            .list(2, "i32", [0, 3], (x, e) => x.rawI32(e))
            .list(3, "string", [ch.name], (x, p) => x.rawString(p))
            .i32(4, CODEC[codec])
            .i64(5, nRows)
            .i64(6, ch.uncompressed)
            .i64(7, ch.size)
            .i64(9, ch.offset);
        });
      });
      c.i64(
        2,
        chunks.reduce((s, ch) => s + ch.uncompressed, 0),
      ).i64(3, nRows);
    })
    .string(6, "netwarden test writer")
    .end();
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(meta.length);
  parts.push(meta, tail, Buffer.from("PAR1"));
  return Buffer.concat(parts);
}
