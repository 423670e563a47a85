import { isUtf8 } from "node:buffer";
import { once } from "node:events";
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { NetwardenError, type Progress, type ProgressTask } from "../core/index.js";
import { type DataSchema, DEFAULT_MISSING_TOKENS } from "./schema.js";
import { type Column, MISSING_CODE, Table } from "./table.js";

export interface ReadCsvOptions {
  /** Parse straight into the schema's types; without one, each column is typed from its values. */
  schema?: DataSchema;
  /** Single-character field separator; default: detected from the first line among `, ; \t |`. */
  delimiter?: string;
  /** Whether the first row names the columns; "auto" (default) decides from the values. */
  header?: boolean | "auto";
  /** Read at most this many data rows. */
  limit?: number;
  /** Reports bytes read from the file (compressed bytes for gzip files). */
  progress?: Progress;
}

/** A cell or row that could not be read as the schema says; the row is still in the table. */
export interface RowIssue {
  /** 0-based data row index (the table row). */
  row: number;
  /** 1-based line number in the file where the record starts. */
  line: number;
  /** Column name, or null when the whole row is at fault (wrong field count). */
  column: string | null;
  /** The offending text (cut to 200 characters). */
  value: string;
  reason: string;
}

export interface CsvReadResult {
  table: Table;
  rowIssues: RowIssue[];
  /** 1-based file line of each table row. */
  lineOf: Int32Array;
  /** Column names of the file, in file order (generated `col_1..col_n` when it has no header). */
  header: string[];
  hasHeader: boolean;
  delimiter: string;
  /** File columns the schema does not list (not loaded). */
  unexpectedColumns: string[];
  /** Bytes read from the file as stored (compressed bytes for gzip). */
  bytes: number;
  compressed: boolean;
}

const QUOTE = 34;
const LF = 10;
const CR = 13;
const READ_CHUNK = 1 << 20;
/** Rows held back as text to decide the header and the column types before typed parsing starts. */
const SAMPLE_ROWS = 1000;
const AUTO_DELIMITERS = [",", ";", "\t", "|"];
const MAX_ISSUE_TEXT = 200;

/**
 * Reads a delimited text file (optionally gzip-compressed, detected by its magic bytes) into a
 * columnar Table, streaming: only the current chunk and the typed columns are held in memory.
 */
export async function readCsv(path: string, options: ReadCsvOptions = {}): Promise<CsvReadResult> {
  checkOptions(options);
  let forcedText = new Set<number>();
  for (;;) {
    const pass = await readPass(path, options, forcedText);
    if (pass.result) return pass.result;
    // A column typed numeric from the first rows held text further down: read again with it as text.
    forcedText = pass.retry;
  }
}

/** A number written in decimal notation (surrounding spaces allowed); NaN for anything else. */
export function parseNumber(s: string): number {
  const n = s.length;
  if (n === 0) return NaN;
  let i = 0;
  let neg = false;
  if (s.charCodeAt(0) === 45) {
    neg = true;
    i = 1;
  }
  const start = i;
  let v = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    i++;
  }
  // Plain integers of up to 15 digits are exact in a double; everything else goes through Number().
  if (i === n && i > start && i - start <= 15) return neg ? -v : v;
  return parseNumberSlow(s);
}

function parseNumberSlow(s: string): number {
  const t = s.trim();
  if (t.length === 0) return NaN;
  const v = +t;
  if (!Number.isFinite(v)) return NaN;
  // Number() also accepts 0x/0o/0b literals; a data file means decimal.
  if (t.length > 1 && t.charCodeAt(0) === 48) {
    const c1 = t.charCodeAt(1) | 32;
    if (c1 === 120 || c1 === 111 || c1 === 98) return NaN;
  }
  return v;
}

function checkOptions(o: ReadCsvOptions): void {
  if (
    o.delimiter !== undefined &&
    (o.delimiter.length !== 1 || /["\r\n]/.test(o.delimiter) || o.delimiter.charCodeAt(0) > 127)
  ) {
    throw new NetwardenError(
      "NW_CONFIG_INVALID_VALUE",
      `delimiter ${JSON.stringify(o.delimiter)} is not usable`,
      {
        where: "delimiter",
        hint: 'Use a single ASCII character other than a quote or a line break, e.g. "," or ";"',
      },
    );
  }
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 1)) {
    throw new NetwardenError("NW_CONFIG_INVALID_VALUE", `limit must be a whole number ≥ 1, got ${o.limit}`, {
      where: "limit",
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the bytes

interface Source {
  chunks: AsyncIterable<Uint8Array>;
  compressed: boolean;
  size: number;
  /** Bytes read from disk so far. */
  rawBytes(): number;
  close(): void;
}

async function openSource(path: string, countPlain: (n: number) => void): Promise<Source> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw cannotRead(path, e);
  }
  let size: number;
  let compressed: boolean;
  try {
    const st = await fh.stat();
    if (st.isDirectory()) {
      throw new NetwardenError("NW_DATA_NOT_FOUND", `${path} is a folder, not a data file`, {
        where: path,
        hint: "Point the data path at a CSV file (plain or .gz)",
      });
    }
    size = st.size;
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    compressed = bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } catch (e) {
    await fh.close();
    throw e instanceof NetwardenError ? e : cannotRead(path, e);
  }
  const file = fh.createReadStream({ start: 0, highWaterMark: READ_CHUNK });
  if (!compressed) {
    let raw = 0;
    return {
      chunks: countChunks(file, (n) => {
        raw += n;
        countPlain(n);
      }),
      compressed,
      size,
      rawBytes: () => raw,
      close: () => file.destroy(),
    };
  }
  let raw = 0;
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  file.on("data", (c: string | Buffer) => {
    raw += c.length;
    countPlain(c.length);
  });
  file.on("error", (e) => gunzip.destroy(e));
  file.pipe(gunzip);
  return {
    chunks: gunzip,
    compressed,
    size,
    rawBytes: () => raw,
    close: () => {
      file.destroy();
      gunzip.destroy();
    },
  };
}

async function* countChunks(stream: Readable, count: (n: number) => void): AsyncIterable<Uint8Array> {
  for await (const chunk of stream) {
    count((chunk as Buffer).length);
    yield chunk as Buffer;
  }
}

function cannotRead(path: string, e: unknown): NetwardenError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") {
    return new NetwardenError("NW_DATA_NOT_FOUND", `data file ${path} does not exist`, {
      where: path,
      hint: `Check the path (relative paths start from ${process.cwd()})`,
      cause: e,
    });
  }
  return new NetwardenError(
    "NW_DATA_NOT_FOUND",
    `data file ${path} cannot be read: ${(e as Error)?.message ?? String(e)}`,
    { where: path, hint: "Check that the file exists and that you may read it", cause: e },
  );
}

// ---------------------------------------------------------------------------------------------
// Tokenizing: RFC 4180 records straight from the bytes

class MalformedRecord extends Error {
  constructor(
    readonly line: number,
    readonly what: string,
  ) {
    super(what);
  }
}

/** Read access to the fields of one record. */
interface RecordFields {
  readonly n: number;
  str(k: number): string;
  /** The field as a number, NaN when it is not one (same result as `parseNumber(str(k))`). */
  num(k: number): number;
  /** The field's code in a categorical column's dictionary. */
  code(k: number, dict: Dictionary): number;
}

/**
 * Splits bytes into records without making strings: fields are (start, end) offsets into the
 * current buffer, numbers are parsed from the bytes, and only text cells become strings. Bytes
 * are fed in chunks; a record cut by a chunk boundary is completed with the next chunk.
 */
class Tokenizer implements RecordFields {
  /** Line number (1-based) where the next record starts. */
  line = 1;
  stopped = false;
  n = 0;
  private buf: Buffer = Buffer.alloc(0);
  private starts = new Int32Array(64);
  private ends = new Int32Array(64);
  /** Quoted fields are unescaped into strings at once; qflag marks them. */
  private qflag = new Uint8Array(64);
  private quoted: string[] = [];
  private rest: Buffer | null = null;
  private first = true;

  constructor(
    private readonly delim: number,
    private readonly onRecord: (rec: RecordFields, line: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    if (this.first) {
      this.first = false;
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    }
    const pos = this.process(buf, false);
    this.rest = pos < buf.length ? buf.subarray(pos) : null;
  }

  end(): void {
    const buf = this.rest;
    this.rest = null;
    if (buf) this.process(buf, true);
  }

  str(k: number): string {
    return this.qflag[k] ? this.quoted[k] : this.buf.toString("utf8", this.starts[k], this.ends[k]);
  }

  num(k: number): number {
    return this.qflag[k]
      ? parseNumber(this.quoted[k])
      : parseNumberBytes(this.buf, this.starts[k], this.ends[k]);
  }

  code(k: number, dict: Dictionary): number {
    return this.qflag[k]
      ? dict.codeOf(this.quoted[k])
      : dict.codeOfBytes(this.buf, this.starts[k], this.ends[k]);
  }

  private field(k: number, start: number, end: number): void {
    if (k >= this.starts.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
      this.qflag = grow(this.qflag);
    }
    this.starts[k] = start;
    this.ends[k] = end;
    this.qflag[k] = 0;
  }

  private quotedField(k: number, value: string): void {
    this.field(k, 0, 0);
    this.qflag[k] = 1;
    this.quoted[k] = value;
  }

  private emit(buf: Buffer, n: number, lines: number): void {
    this.buf = buf;
    this.n = n;
    this.onRecord(this, this.line);
    this.line += lines;
  }

  /** Consumes whole records; returns where the unconsumed bytes start. */
  private process(buf: Buffer, final: boolean): number {
    const startLine = this.line;
    const n = buf.length;
    const d = this.delim;
    let pos = 0;
    let q = buf.indexOf(QUOTE);
    while (pos < n && !this.stopped) {
      let nl = buf.indexOf(LF, pos);
      if (nl < 0) {
        if (!final) break;
        nl = n;
      }
      if (q !== -1 && q < pos) q = buf.indexOf(QUOTE, pos);
      if (q === -1 || q >= nl) {
        let end = nl;
        if (end > pos && buf[end - 1] === CR) end--;
        if (end > pos) {
          let k = 0;
          let s = pos;
          for (let i = pos; i < end; i++) {
            if (buf[i] === d) {
              this.field(k++, s, i);
              s = i + 1;
            }
          }
          this.field(k++, s, end);
          this.emit(buf, k, 1);
        } else {
          // Blank lines are skipped (as pandas does) but still counted.
          this.line++;
        }
        pos = nl + 1;
      } else {
        const next = this.quotedRecord(buf, pos, final);
        if (next < 0) break;
        pos = next;
      }
    }
    pos = Math.min(pos, n);
    if (!isUtf8(buf.subarray(0, pos))) throw new InvalidUtf8(firstBadLine(buf.subarray(0, pos), startLine));
    return pos;
  }

  /** Parses one record that contains a quote; returns the position after it, or -1 if incomplete. */
  private quotedRecord(buf: Buffer, pos: number, final: boolean): number {
    const n = buf.length;
    const d = this.delim;
    let k = 0;
    let extraLines = 0;
    let i = pos;
    for (;;) {
      if (i < n && buf[i] === QUOTE) {
        let j = i + 1;
        let doubled = false;
        let close: number;
        for (;;) {
          const c = buf.indexOf(QUOTE, j);
          if (c < 0) {
            if (final) throw new MalformedRecord(this.line, "a quoted field is never closed");
            return -1;
          }
          if (c + 1 < n && buf[c + 1] === QUOTE) {
            doubled = true;
            j = c + 2;
            continue;
          }
          if (c + 1 >= n && !final) return -1; // the next chunk may start with a second quote
          close = c;
          break;
        }
        let value = buf.toString("utf8", i + 1, close);
        if (doubled) value = value.replaceAll('""', '"');
        for (let c = buf.indexOf(LF, i + 1); c >= 0 && c < close; c = buf.indexOf(LF, c + 1)) extraLines++;
        i = close + 1;
        // Text between a closing quote and the delimiter is kept (lenient, like Python's csv).
        if (i < n && buf[i] !== d && buf[i] !== LF && !(buf[i] === CR && buf[i + 1] === LF)) {
          const stop = scanField(buf, i, d);
          if (stop >= n && !final) return -1;
          value += buf.toString("utf8", i, trimCr(buf, i, stop));
          i = stop;
        }
        this.quotedField(k++, value);
      } else {
        const stop = scanField(buf, i, d);
        if (stop >= n && !final) return -1;
        this.field(k++, i, trimCr(buf, i, stop));
        i = stop;
      }
      if (i >= n) {
        if (!final) return -1;
        this.emit(buf, k, 1 + extraLines);
        return n;
      }
      const c = buf[i];
      if (c === d) {
        i++;
        if (i >= n && final) {
          this.field(k++, i, i);
          this.emit(buf, k, 1 + extraLines);
          return n;
        }
        continue;
      }
      if (c === CR) i++;
      if (i >= n && !final) return -1;
      this.emit(buf, k, 1 + extraLines);
      return i + 1;
    }
  }
}

/** A record held as strings (the rows looked at before typed parsing starts). */
class StringRecord implements RecordFields {
  constructor(readonly fields: string[]) {}
  get n(): number {
    return this.fields.length;
  }
  str(k: number): string {
    return this.fields[k];
  }
  num(k: number): number {
    return parseNumber(this.fields[k]);
  }
  code(k: number, dict: Dictionary): number {
    return dict.codeOf(this.fields[k]);
  }
}

/** The candidate delimiter seen most often outside quotes in the first line (ties: listed order). */
function detectDelimiter(firstLine: string): string {
  let best = ",";
  let bestCount = 0;
  for (const cand of AUTO_DELIMITERS) {
    let count = 0;
    let inQuote = false;
    for (let i = 0; i < firstLine.length; i++) {
      const ch = firstLine[i];
      if (ch === '"') inQuote = !inQuote;
      else if (!inQuote && ch === cand) count++;
    }
    if (count > bestCount) {
      best = cand;
      bestCount = count;
    }
  }
  return best;
}

class InvalidUtf8 extends Error {
  constructor(readonly line: number) {
    super("invalid UTF-8");
  }
}

function firstBadLine(buf: Buffer, line: number): number {
  let s = 0;
  while (s < buf.length) {
    let e = buf.indexOf(LF, s);
    if (e < 0) e = buf.length;
    if (!isUtf8(buf.subarray(s, e))) return line;
    line++;
    s = e + 1;
  }
  return line;
}

function scanField(buf: Buffer, i: number, d: number): number {
  const n = buf.length;
  while (i < n) {
    const c = buf[i];
    if (c === d || c === LF) break;
    i++;
  }
  return i;
}

/** End of a field that stops at a line break, without the CR of a CRLF. */
function trimCr(buf: Buffer, start: number, stop: number): number {
  return stop > start && buf[stop - 1] === CR && buf[stop] === LF ? stop - 1 : stop;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * `parseNumber` on the bytes buf[s, e) without making a string. Decimals with at most 15
 * significant digits and a power of ten within 1e±22 are one exact multiplication or division of
 * two exactly representable doubles, so the result is correctly rounded: the same double that
 * Number() gives (Clinger's fast path). Anything else goes through the string parser.
 */
export function parseNumberBytes(buf: Uint8Array, s: number, e: number): number {
  if (s >= e) return NaN;
  let i = s;
  let c = buf[i];
  let neg = false;
  if (c === 45) {
    neg = true;
    i++;
  } else if (c === 43) i++;
  let m = 0;
  let sig = 0;
  let digits = 0;
  let scale = 0;
  while (i < e) {
    c = buf[i];
    if (c < 48 || c > 57) break;
    if (m !== 0 || c !== 48) {
      m = m * 10 + (c - 48);
      sig++;
    }
    digits++;
    i++;
  }
  if (i < e && buf[i] === 46) {
    i++;
    while (i < e) {
      c = buf[i];
      if (c < 48 || c > 57) break;
      if (m !== 0 || c !== 48) {
        m = m * 10 + (c - 48);
        sig++;
      }
      scale--;
      digits++;
      i++;
    }
  }
  let exp = 0;
  if (i < e && (buf[i] | 32) === 101 && digits > 0) {
    i++;
    let eneg = false;
    if (i < e && (buf[i] === 45 || buf[i] === 43)) eneg = buf[i++] === 45;
    const es = i;
    while (i < e && buf[i] >= 48 && buf[i] <= 57 && exp < 1000) exp = exp * 10 + (buf[i++] - 48);
    if (i === es) i = -1;
    if (eneg) exp = -exp;
  }
  const total = scale + exp;
  if (i === e && digits > 0 && sig <= 15 && total >= -22 && total <= 22) {
    const v = total === 0 ? m : total > 0 ? m * POW10[total] : m / POW10[-total];
    return neg ? -v : v;
  }
  return parseNumberSlow(Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString("utf8"));
}

// ---------------------------------------------------------------------------------------------
// Building typed columns

interface PassResult {
  result?: CsvReadResult;
  retry: Set<number>;
}

/** What to build for one file column. */
type Plan = { kind: "numeric" } | { kind: "categorical" } | { kind: "skip" };

const BLOCK = 1 << 16;

/** A column's values in fixed-size blocks, so growing never copies; one copy at the end. */
class Blocks<T extends Float64Array | Int32Array> {
  private readonly full: T[] = [];
  cur: T;
  constructor(
    private readonly make: (n: number) => T,
    private readonly size = BLOCK,
  ) {
    this.cur = make(size);
  }
  next(): void {
    this.full.push(this.cur);
    this.cur = this.make(this.size);
  }
  finish(n: number): T {
    const out = this.make(n);
    let off = 0;
    for (const b of this.full) {
      out.set(b, off);
      off += b.length;
    }
    out.set(this.cur.subarray(0, n - off), off);
    return out;
  }
}

/**
 * A categorical column's dictionary. Cells are looked up by a hash of their bytes first, so a
 * value seen before costs no string; categories are in order of first appearance.
 */
class Dictionary {
  readonly categories: string[] = [];
  private readonly byText = new Map<string, number>();
  private readonly byHash = new Map<number, { bytes: Uint8Array; code: number }>();

  constructor(private readonly missing: ReadonlySet<string>) {
    for (const t of missing) this.byText.set(t, MISSING_CODE);
  }

  codeOfBytes(buf: Buffer, s: number, e: number): number {
    let h = 0x811c9dc5;
    for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    const hit = this.byHash.get(h);
    if (hit !== undefined && sameBytes(hit.bytes, buf, s, e)) return hit.code;
    const code = this.codeOf(buf.toString("utf8", s, e));
    if (hit === undefined) this.byHash.set(h, { bytes: new Uint8Array(buf.subarray(s, e)), code });
    return code;
  }

  codeOf(text: string): number {
    let code = this.byText.get(text);
    if (code === undefined) {
      code = this.missing.has(text.trim()) ? MISSING_CODE : this.categories.push(text) - 1;
      this.byText.set(text, code);
    }
    return code;
  }
}

function sameBytes(a: Uint8Array, buf: Uint8Array, s: number, e: number): boolean {
  if (a.length !== e - s) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[s + i]) return false;
  return true;
}

class TableSink {
  private sample: { fields: string[]; line: number }[] = [];
  private ready = false;
  readonly missing: Set<string>;

  names: string[] = [];
  hasHeader = false;
  unexpected: string[] = [];
  private nCols = 0;
  private outOrder: string[] = [];
  private plans: Plan[] = [];

  nRows = 0;
  private lines: Blocks<Int32Array>;
  private numIdx: number[] = [];
  private numVals: Blocks<Float64Array>[] = [];
  private catIdx: number[] = [];
  private catCodes: Blocks<Int32Array>[] = [];
  private dicts: Dictionary[] = [];

  readonly issues: RowIssue[] = [];
  delimiter = ",";
  /** Columns typed numeric from the sample that later held text (schema-less reads only). */
  readonly contradicted = new Set<number>();

  constructor(
    private readonly path: string,
    private readonly opts: ReadCsvOptions,
    private readonly forcedText: Set<number>,
    private readonly limit: number,
    private readonly stop: () => void,
    /** Rows per storage block, a power of two (smaller for chunked reads). */
    private readonly blockRows = BLOCK,
  ) {
    this.missing = new Set(opts.schema?.missingTokens ?? DEFAULT_MISSING_TOKENS);
    this.lines = new Blocks((n) => new Int32Array(n), blockRows);
  }

  onRecord = (rec: RecordFields, line: number): void => {
    if (!this.ready) {
      const fields = new Array<string>(rec.n);
      for (let k = 0; k < rec.n; k++) fields[k] = rec.str(k);
      this.sample.push({ fields, line });
      if (this.sample.length > SAMPLE_ROWS) this.setup();
      return;
    }
    this.addRow(rec, line);
  };

  finish(): void {
    if (!this.ready) this.setup();
  }

  private isMissing(s: string): boolean {
    return this.missing.has(s) || this.missing.has(s.trim());
  }

  private setup(): void {
    this.ready = true;
    const sample = this.sample;
    this.sample = [];
    if (sample.length === 0) {
      throw new NetwardenError("NW_DATA_EMPTY", `${this.path} is empty`, {
        where: this.path,
        hint: "The file must have a header row and at least one data row",
      });
    }
    const schema = this.opts.schema;
    const first = sample[0].fields;
    this.hasHeader = this.decideHeader(sample);
    const data = this.hasHeader ? sample.slice(1) : sample;
    if (this.hasHeader) {
      this.names = this.headerNames(first, sample[0].line);
    } else {
      const width = first.length;
      const all = schema?.columns;
      this.names =
        all && all.length === width
          ? all.map((c) => c.name)
          : Array.from({ length: width }, (_, j) => `col_${j + 1}`);
    }
    this.nCols = this.names.length;
    if (schema) this.planFromSchema(schema);
    else this.planFromValues(data);
    for (let j = 0; j < this.nCols; j++) {
      const p = this.plans[j];
      if (p.kind === "numeric") {
        this.numIdx.push(j);
        this.numVals.push(new Blocks((n) => new Float64Array(n), this.blockRows));
      } else if (p.kind === "categorical") {
        this.catIdx.push(j);
        this.catCodes.push(new Blocks((n) => new Int32Array(n), this.blockRows));
        this.dicts.push(new Dictionary(this.missing));
      }
    }
    for (const r of data) {
      if (this.nRows >= this.limit) break;
      this.addRow(new StringRecord(r.fields), r.line);
    }
  }

  private decideHeader(sample: { fields: string[] }[]): boolean {
    const h = this.opts.header ?? "auto";
    if (h !== "auto") return h;
    const isNum = (s: string) => !Number.isNaN(parseNumber(s));
    const first = sample[0].fields;
    const firstHasNumeric = first.some(isNum);
    if (firstHasNumeric) return false;
    const laterHasNumeric = sample.slice(1).some((r) => r.fields.some(isNum));
    if (laterHasNumeric) return true;
    const trimmed = first.map((s) => s.trim());
    return (
      trimmed.every((s) => s.length > 0 && !this.missing.has(s)) && new Set(trimmed).size === trimmed.length
    );
  }

  private headerNames(cells: string[], line: number): string[] {
    const names = cells.map((s, j) => s.trim() || `col_${j + 1}`);
    const seen = new Set<string>();
    const dupes = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) dupes.add(n);
      seen.add(n);
    }
    if (dupes.size) {
      throw new NetwardenError(
        "NW_DATA_MALFORMED",
        `the header names ${[...dupes].map((d) => `\`${d}\``).join(", ")} more than once`,
        { where: `${this.path}:${line} (header)`, hint: "Give every column a distinct name" },
      );
    }
    return names;
  }

  private planFromSchema(schema: DataSchema): void {
    const byName = new Map(schema.columns.map((c) => [c.name, c]));
    if (byName.size !== schema.columns.length) {
      throw new NetwardenError("NW_SCHEMA_INVALID", "the schema lists a column more than once", {
        hint: "Give every schema column a distinct name",
      });
    }
    const present = new Set(this.names);
    const absent = schema.columns
      .filter((c) => c.role !== "ignore" && !present.has(c.name))
      .map((c) => c.name);
    if (absent.length) throw missingColumnError(this.path, absent, this.names);
    this.unexpected = this.names.filter((n) => !byName.has(n));
    if (this.unexpected.length) {
      const list = this.unexpected.map((n) => `\`${n}\``).join(", ");
      if (schema.unexpectedColumns === "error") {
        throw new NetwardenError(
          "NW_SCHEMA_UNEXPECTED_COLUMN",
          `${this.path} has column${this.unexpected.length > 1 ? "s" : ""} ${list} that the schema does not declare`,
          {
            where: `${this.path} (header)`,
            hint: "Add them to the schema (role: ignore drops them), or set unexpectedColumns: warn",
            details: { unexpected: this.unexpected },
          },
        );
      }
      if (schema.unexpectedColumns === "warn") {
        this.opts.progress?.log(`${this.path}: columns not in the schema, not loaded: ${list}`, "warn");
      }
    }
    this.plans = this.names.map((n): Plan => {
      const spec = byName.get(n);
      if (!spec || spec.role === "ignore") return { kind: "skip" };
      return { kind: spec.type === "categorical" ? "categorical" : "numeric" };
    });
    this.outOrder = schema.columns.filter((c) => c.role !== "ignore").map((c) => c.name);
  }

  private planFromValues(data: { fields: string[] }[]): void {
    this.plans = this.names.map((_, j): Plan => {
      if (this.forcedText.has(j)) return { kind: "categorical" };
      for (const r of data) {
        const s = r.fields[j];
        if (s === undefined) continue;
        if (Number.isNaN(parseNumber(s)) && !this.isMissing(s)) return { kind: "categorical" };
      }
      return { kind: "numeric" };
    });
    this.outOrder = this.names;
  }

  private addRow(rec: RecordFields, line: number): void {
    const r = this.nRows;
    const o = r & (this.blockRows - 1);
    if (o === 0 && r > 0) {
      this.lines.next();
      for (const b of this.numVals) b.next();
      for (const b of this.catCodes) b.next();
    }
    this.nRows = r + 1;
    this.lines.cur[o] = line;
    const nf = rec.n;
    if (nf !== this.nCols) {
      const cells: string[] = [];
      for (let k = 0; k < nf; k++) cells.push(rec.str(k));
      this.issue(r, line, null, cells.join(this.delimiter), `row has ${nf} fields, expected ${this.nCols}`);
    }
    const strict = this.opts.schema !== undefined;
    const numIdx = this.numIdx;
    for (let k = 0; k < numIdx.length; k++) {
      const j = numIdx[k];
      const vals = this.numVals[k].cur;
      if (j >= nf) {
        vals[o] = NaN;
        continue;
      }
      const v = rec.num(j);
      vals[o] = v;
      if (Number.isNaN(v)) {
        const s = rec.str(j);
        if (!this.isMissing(s)) {
          if (strict) this.issue(r, line, this.names[j], s, "not a number");
          else this.contradicted.add(j);
        }
      }
    }
    const catIdx = this.catIdx;
    for (let k = 0; k < catIdx.length; k++) {
      const j = catIdx[k];
      this.catCodes[k].cur[o] = j < nf ? rec.code(j, this.dicts[k]) : MISSING_CODE;
    }
    if (this.nRows >= this.limit) this.stop();
  }

  private issue(row: number, line: number, column: string | null, value: string, reason: string): void {
    const v = value.length > MAX_ISSUE_TEXT ? `${value.slice(0, MAX_ISSUE_TEXT)}…` : value;
    this.issues.push({ row, line, column, value: v, reason });
  }

  lineOf(): Int32Array {
    return this.lines.finish(this.nRows);
  }

  /** Hands over the rows read so far (table, issues, lines) and starts an empty chunk. */
  take(): { table: Table; rowIssues: RowIssue[]; lineOf: Int32Array } {
    const out = { table: this.table(), rowIssues: this.issues.splice(0), lineOf: this.lineOf() };
    this.nRows = 0;
    this.lines = new Blocks((n) => new Int32Array(n), this.blockRows);
    this.numVals = this.numVals.map(() => new Blocks((n) => new Float64Array(n), this.blockRows));
    this.catCodes = this.catCodes.map(() => new Blocks((n) => new Int32Array(n), this.blockRows));
    // A fresh dictionary per chunk keeps memory bounded however many distinct values stream by.
    this.dicts = this.dicts.map(() => new Dictionary(this.missing));
    return out;
  }

  table(): Table {
    const n = this.nRows;
    const byName = new Map<string, Column>();
    for (let k = 0; k < this.numIdx.length; k++) {
      const name = this.names[this.numIdx[k]];
      byName.set(name, { type: "numeric", name, values: this.numVals[k].finish(n) });
    }
    for (let k = 0; k < this.catIdx.length; k++) {
      const name = this.names[this.catIdx[k]];
      const codes = this.catCodes[k].finish(n);
      byName.set(name, { type: "categorical", name, codes, categories: this.dicts[k].categories });
    }
    return new Table(
      this.outOrder.map((name) => byName.get(name)!),
      n,
    );
  }
}

async function readPass(path: string, opts: ReadCsvOptions, forcedText: Set<number>): Promise<PassResult> {
  let task: ProgressTask | undefined;
  const src = await openSource(path, (n) => task?.tick(n));
  task = opts.progress?.task(`read ${path}`, src.size);
  let stopped = false;
  let tok: Tokenizer | null = null;
  const sink = new TableSink(path, opts, forcedText, opts.limit ?? Number.POSITIVE_INFINITY, () => {
    stopped = true;
    if (tok) tok.stopped = true;
  });
  let head: Buffer | null = null;
  let delimiter = opts.delimiter ?? ",";
  const feed = (chunk: Buffer, final: boolean) => {
    if (!tok) {
      // The delimiter is guessed from the first line, so hold bytes back until it is complete.
      head = head ? Buffer.concat([head, chunk]) : chunk;
      const nl = head.indexOf(LF);
      if (nl < 0 && !final) return;
      const firstLine = head.toString("utf8", 0, nl < 0 ? head.length : nl).replace(/^\uFEFF/, "");
      delimiter = opts.delimiter ?? detectDelimiter(firstLine);
      sink.delimiter = delimiter;
      tok = new Tokenizer(delimiter.charCodeAt(0), sink.onRecord);
      chunk = head;
      head = null;
    }
    if (stopped) return;
    tok.push(chunk);
    if (final && !stopped) tok.end();
  };
  const lineNow = () => (tok as Tokenizer | null)?.line ?? 1;
  try {
    for await (const chunk of src.chunks) {
      feed(chunk as Buffer, false);
      if (stopped) break;
    }
    if (!stopped) feed(Buffer.alloc(0), true);
    sink.finish();
  } catch (e) {
    throw readError(path, e, lineNow());
  } finally {
    src.close();
  }
  task?.done();
  if (sink.nRows === 0) {
    throw new NetwardenError(
      "NW_DATA_EMPTY",
      sink.hasHeader ? `${path} has a header but no data rows` : `${path} has no data rows`,
      { where: path, hint: "The file must have a header row and at least one data row" },
    );
  }
  if (sink.contradicted.size) return { retry: new Set([...forcedText, ...sink.contradicted]) };
  return {
    retry: forcedText,
    result: {
      table: sink.table(),
      rowIssues: sink.issues,
      lineOf: sink.lineOf(),
      header: sink.names,
      hasHeader: sink.hasHeader,
      delimiter,
      unexpectedColumns: sink.unexpected,
      bytes: src.rawBytes(),
      compressed: src.compressed,
    },
  };
}

/** One piece of a CSV stream read by `readCsvChunks`. */
export interface CsvChunk {
  table: Table;
  /** Problems in this chunk; `row` is the row in this chunk's table. */
  rowIssues: RowIssue[];
  /** 1-based line of each row in the stream. */
  lineOf: Int32Array;
  /** Index of the chunk's first row among all data rows of the stream. */
  firstRow: number;
  /** Column names of the stream, in stream order. */
  header: string[];
  /** Stream columns the schema does not list (not loaded). */
  unexpectedColumns: string[];
}

export interface ReadCsvChunksOptions extends Omit<ReadCsvOptions, "schema" | "progress" | "limit"> {
  /** The columns to read and their types (a stream is read once, so types cannot be guessed). */
  schema: DataSchema;
  /** Rows per chunk, about (default 4096): a chunk ends at the first input piece boundary after it. */
  chunkRows?: number;
  /** Names the stream in error messages (default "upload"). */
  label?: string;
}

/**
 * Reads CSV text arriving in pieces (an HTTP upload) as a sequence of typed tables of about
 * `chunkRows` rows each, so memory stays bounded whatever the stream's length. gzip input is
 * recognised by its magic bytes. The consumer's pace sets the reading pace (back-pressure).
 */
export async function* readCsvChunks(
  source: AsyncIterable<Uint8Array>,
  options: ReadCsvChunksOptions,
): AsyncGenerator<CsvChunk> {
  checkOptions(options);
  const label = options.label ?? "upload";
  const chunkRows = Math.max(1, options.chunkRows ?? 4096);
  let blockRows = 1024;
  while (blockRows < chunkRows && blockRows < BLOCK) blockRows *= 2;
  const sink = new TableSink(label, options, new Set(), Number.POSITIVE_INFINITY, () => {}, blockRows);
  let tok: Tokenizer | null = null;
  let head: Buffer | null = null;
  let firstRow = 0;
  const feed = (chunk: Buffer, final: boolean) => {
    if (!tok) {
      head = head ? Buffer.concat([head, chunk]) : chunk;
      const nl = head.indexOf(LF);
      if (nl < 0 && !final) return;
      const firstLine = head.toString("utf8", 0, nl < 0 ? head.length : nl).replace(/^\uFEFF/, "");
      const delimiter = options.delimiter ?? detectDelimiter(firstLine);
      sink.delimiter = delimiter;
      tok = new Tokenizer(delimiter.charCodeAt(0), sink.onRecord);
      chunk = head;
      head = null;
    }
    tok.push(chunk);
    if (final) tok.end();
  };
  const take = (): CsvChunk => {
    const part = sink.take();
    const out = { ...part, firstRow, header: sink.names, unexpectedColumns: sink.unexpected };
    firstRow += part.table.nRows;
    return out;
  };
  const lineNow = () => (tok as Tokenizer | null)?.line ?? 1;
  try {
    for await (const piece of maybeGunzip(source)) {
      feed(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength), false);
      if (sink.nRows >= chunkRows) yield take();
    }
    feed(Buffer.alloc(0), true);
    sink.finish();
  } catch (e) {
    throw readError(label, e, lineNow());
  }
  if (sink.nRows > 0) yield take();
  if (firstRow === 0) {
    throw new NetwardenError(
      "NW_DATA_EMPTY",
      sink.hasHeader ? `${label} has a header but no data rows` : `${label} has no data rows`,
      { where: label, hint: "Send a header row and at least one data row" },
    );
  }
}

/** The bytes of `source`, decompressed when they start with the gzip magic bytes. */
async function* maybeGunzip(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length < 2) {
    // Too short to tell yet: join with the next piece.
    const next = await it.next();
    if (next.done) break;
    first = { done: false, value: Buffer.concat([first.value, next.value]) };
  }
  if (first.done) return;
  const rest: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => it };
  if (first.value[0] !== 0x1f || first.value[1] !== 0x8b) {
    yield first.value;
    yield* rest;
    return;
  }
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  const pump = (async () => {
    try {
      if (!gunzip.write(first.value)) await once(gunzip, "drain");
      for await (const piece of rest) if (!gunzip.write(piece)) await once(gunzip, "drain");
      gunzip.end();
    } catch (e) {
      gunzip.destroy(e as Error);
    }
  })();
  try {
    for await (const out of gunzip) yield out as Buffer;
  } finally {
    // The pump may wait for a drain that never comes once the consumer stopped: do not wait for it.
    gunzip.destroy();
    pump.catch(() => {});
  }
}

function readError(path: string, e: unknown, line: number): NetwardenError {
  if (e instanceof NetwardenError) return e;
  if (e instanceof MalformedRecord) {
    return new NetwardenError(
      "NW_DATA_MALFORMED",
      `${path}: ${e.what} (the record starts at line ${e.line})`,
      {
        where: `${path}:${e.line}`,
        hint: 'Close the quote, or double any quote inside a quoted field ("")',
        details: { line: e.line },
      },
    );
  }
  const code = (e as NodeJS.ErrnoException)?.code ?? "";
  if (code.startsWith("Z_")) {
    return new NetwardenError(
      "NW_DATA_MALFORMED",
      `${path} is not valid gzip data (${(e as Error).message}; read up to line ${line})`,
      {
        where: `${path}:${line}`,
        hint: "The file starts like gzip but is corrupt or truncated; download or compress it again",
        details: { line },
        cause: e,
      },
    );
  }
  if (e instanceof InvalidUtf8) {
    return new NetwardenError("NW_DATA_MALFORMED", `${path} is not valid UTF-8 text (line ${e.line})`, {
      where: `${path}:${e.line}`,
      hint: "Convert the file to UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
      details: { line: e.line },
    });
  }
  return cannotRead(path, e);
}

function missingColumnError(path: string, absent: string[], present: string[]): NetwardenError {
  const suggestions: Record<string, string> = {};
  for (const a of absent) {
    const s = closestName(a, present);
    if (s) suggestions[a] = s;
  }
  const first = absent[0];
  const more =
    absent.length > 1
      ? ` (also missing: ${absent
          .slice(1)
          .map((a) => `\`${a}\``)
          .join(", ")})`
      : "";
  const guess = suggestions[first] ? `Did you mean \`${suggestions[first]}\`? ` : "";
  return new NetwardenError(
    "NW_SCHEMA_MISSING_COLUMN",
    `column \`${first}\` is in the schema but not in ${path}${more}; the file has: ${present.join(", ")}`,
    {
      where: `${path} (header)`,
      hint: `${guess}Fix the name in the schema or in the file's header, or give the column role: ignore`,
      details: { missing: absent, available: present, suggestions },
    },
  );
}

/** The present name closest to `name` (case-insensitive edit distance), if it is close enough. */
export function closestName(name: string, present: readonly string[]): string | undefined {
  const a = name.toLowerCase();
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const p of present) {
    const d = editDistance(a, p.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = p;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** A value as one CSV field: quoted, inner quotes doubled, when it holds a comma, quote or line break. */
export function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
