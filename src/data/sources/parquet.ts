/**
 * Parquet files (local or from S3) as a data source, read with hyparquet (pure JavaScript) column
 * by column into the same Table the CSV reader builds. Snappy and uncompressed files are read
 * natively; gzip and brotli through node:zlib; zstd where this Node has it (22.15+).
 */
import { readFile } from "node:fs/promises";
import * as zlib from "node:zlib";
import { type AsyncBuffer, parquetMetadata, parquetRead, parquetSchema } from "hyparquet";
import { NetwardenError, type Progress } from "../../core/index.js";
import type { DataSchema } from "../schema.js";
import { RecordTableBuilder, type SourceReadResult } from "./builder.js";

type Decompress = (input: Uint8Array, outputLength: number) => Uint8Array;

const zstd = (zlib as unknown as { zstdDecompressSync?: (b: Uint8Array) => Buffer }).zstdDecompressSync;

const COMPRESSORS: Record<string, Decompress> = {
  GZIP: (input) => new Uint8Array(zlib.gunzipSync(input)),
  BROTLI: (input) => new Uint8Array(zlib.brotliDecompressSync(input)),
  ...(zstd ? { ZSTD: (input: Uint8Array) => new Uint8Array(zstd(input)) } : {}),
};

/** Reads a local Parquet file. */
export async function readParquetFile(
  path: string,
  options: { schema: DataSchema; progress?: Progress },
): Promise<SourceReadResult> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new NetwardenError(
      "NW_DATA_NOT_FOUND",
      code === "ENOENT" ? `data file ${path} does not exist` : `data file ${path} cannot be read (${code})`,
      { where: path, hint: `Check the path (relative paths start from the config file's folder)`, cause: e },
    );
  }
  return readParquetBytes(bytes, { ...options, label: path });
}

/** Reads Parquet bytes (a whole file) into a Table, typed by the schema. */
export async function readParquetBytes(
  bytes: Uint8Array,
  options: { schema: DataSchema; progress?: Progress; label: string },
): Promise<SourceReadResult> {
  const { label } = options;
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const file: AsyncBuffer = {
    byteLength: buffer.byteLength,
    slice: (start, end) => buffer.slice(start, end),
  };
  let metadata: ReturnType<typeof parquetMetadata>;
  try {
    metadata = parquetMetadata(buffer);
  } catch (e) {
    throw malformed(label, e);
  }
  const top = parquetSchema(metadata).children.map((c) => c.element.name);
  const builder = new RecordTableBuilder({
    schema: options.schema,
    label,
    progress: options.progress,
    implicitId: "_id",
  });
  builder.columns(top);
  const wanted = options.schema.columns.filter((c) => c.role !== "ignore").map((c) => c.name);
  const nRows = Number(metadata.num_rows);
  const data = new Map<string, unknown[]>();
  for (const name of wanted) data.set(name, new Array(nRows));
  const task = options.progress?.task(`reading ${label}`, nRows);
  try {
    await parquetRead({
      file,
      metadata,
      columns: wanted,
      compressors: COMPRESSORS,
      onChunk: ({ columnName, columnData, rowStart }) => {
        const out = data.get(columnName);
        if (!out) return;
        for (let i = 0; i < columnData.length && rowStart + i < nRows; i++) out[rowStart + i] = columnData[i];
      },
    });
  } catch (e) {
    throw malformed(label, e);
  }
  // Rows in file order; each row is the schema's columns at their positions in `top`.
  const at = top.map((n) => data.get(n));
  const row = new Array<unknown>(top.length);
  for (let r = 0; r < nRows; r++) {
    for (let j = 0; j < at.length; j++) row[j] = at[j]?.[r];
    builder.row(row);
  }
  const result = builder.finish();
  task?.done(`${nRows.toLocaleString("en-US")} rows × ${top.length} columns`);
  return result;
}

function malformed(label: string, e: unknown): NetwardenError {
  const message = (e as Error)?.message ?? String(e);
  const codec = /(\b[A-Z0-9_]+\b) compression|unsupported compression|codec/i.exec(message);
  return new NetwardenError("NW_DATA_MALFORMED", `${label} cannot be read as Parquet: ${message}`, {
    where: label,
    hint: codec
      ? "Write the file with snappy, gzip or no compression (zstd needs Node 22.15+)"
      : "Check that it is a complete Parquet file (it ends with the PAR1 magic bytes)",
    cause: e,
  });
}
