import { Readable } from "node:stream";
import multipart from "@fastify/multipart";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { NetwardenError } from "../core/index.js";
import { type CsvChunk, cellValue, csvCell, MISSING_CODE, readCsvChunks } from "../data/index.js";
import type { ServedModel } from "./holder.js";
import { mlflowRecords } from "./inputs.js";
import { mlflowSchema, predictCsvSchema } from "./schemas.js";
import type { Scored } from "./scorer.js";
import type { RouteContext } from "./server.js";

const CSV_TYPES = ["text/csv", "application/csv", "text/plain", "application/gzip", "application/x-gzip"];

export type CsvFormat = "json" | "ndjson" | "csv" | "html";

const FORMAT_TYPES: Record<CsvFormat, string> = {
  json: "application/json; charset=utf-8",
  ndjson: "application/x-ndjson; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  html: "text/html; charset=utf-8",
};

/** `?format=` wins; otherwise the first format `Accept` names; JSON when it names none (or `*\/*`). */
export function chooseFormat(format: string | undefined, accept: string | undefined): CsvFormat {
  if (format !== undefined) {
    if (format in FORMAT_TYPES) return format as CsvFormat;
    throw notAcceptable(`?format=${format.slice(0, 40)}`);
  }
  if (!accept) return "json";
  const wanted = accept
    .split(",")
    .map((p) => p.split(";")[0].trim().toLowerCase())
    .filter(Boolean);
  for (const w of wanted) {
    if (w === "application/json") return "json";
    if (w === "application/x-ndjson" || w === "application/ndjson") return "ndjson";
    if (w === "text/csv") return "csv";
    if (w === "text/html") return "html";
    if (w === "*/*" || w === "application/*") return "json";
    if (w === "text/*") return "csv";
  }
  throw notAcceptable(`Accept: ${accept.slice(0, 80)}`);
}

function notAcceptable(asked: string): NetwardenError {
  return new NetwardenError("NW_SERVE_NOT_ACCEPTABLE", `cannot answer in the format asked for (${asked})`, {
    hint: "Use ?format=json, ndjson, csv or html (or the matching Accept header)",
  });
}

/** The upload's bytes, counted: more than `limit` is a coded 413; a broken stream a coded 400. */
async function* limited(source: AsyncIterable<Uint8Array>, limit: number): AsyncGenerator<Uint8Array> {
  let n = 0;
  try {
    for await (const piece of source) {
      n += piece.length;
      if (n > limit) {
        throw new NetwardenError("NW_SERVE_PAYLOAD_TOO_LARGE", `the upload is larger than ${limit} bytes`, {
          hint: "Split the file, or raise limits.csv_bytes in the serve config",
        });
      }
      yield piece;
    }
  } catch (e) {
    if (e instanceof NetwardenError) throw e;
    const code = (e as { code?: string }).code;
    if (code === "FST_REQ_FILE_TOO_LARGE") {
      throw new NetwardenError("NW_SERVE_PAYLOAD_TOO_LARGE", `the upload is larger than ${limit} bytes`, {
        hint: "Split the file, or raise limits.csv_bytes in the serve config",
      });
    }
    throw new NetwardenError("NW_SERVE_BAD_REQUEST", "the upload was cut off before it ended", {
      hint: "Send the whole file again",
    });
  }
}

/** The CSV bytes of a request: a multipart file part, or the body itself. */
async function uploadSource(req: FastifyRequest, ctx: RouteContext): Promise<AsyncIterable<Uint8Array>> {
  const encoding = String(req.headers["content-encoding"] ?? "identity").toLowerCase();
  if (encoding !== "identity" && encoding !== "gzip" && encoding !== "x-gzip") {
    throw new NetwardenError(
      "NW_SERVE_UNSUPPORTED_MEDIA_TYPE",
      `Content-Encoding ${encoding.slice(0, 40)} is not supported`,
      {
        hint: "Send the CSV as it is or gzip-compressed",
      },
    );
  }
  if (req.isMultipart()) {
    let file: Awaited<ReturnType<FastifyRequest["file"]>>;
    try {
      file = await req.file({ limits: { fileSize: ctx.config.limits.csv_bytes, files: 1, parts: 20 } });
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode) throw e;
      throw new NetwardenError("NW_SERVE_BAD_REQUEST", "the multipart body is malformed", {
        hint: "Send a multipart/form-data body with one file part, e.g. curl -F file=@data.csv",
      });
    }
    if (!file) {
      throw new NetwardenError("NW_SERVE_BAD_REQUEST", "the multipart body has no file", {
        hint: "Attach the CSV as a file field, e.g. curl -F file=@data.csv",
      });
    }
    return limited(file.file, ctx.config.limits.csv_bytes);
  }
  const body = req.body as unknown;
  if (body instanceof Readable) return limited(body, ctx.config.limits.csv_bytes);
  throw new NetwardenError("NW_SERVE_UNSUPPORTED_MEDIA_TYPE", "this route reads CSV, not JSON", {
    hint: "Send Content-Type: text/csv (or a multipart upload); JSON records go to /v1/models/<name>/predict",
  });
}

/**
 * Checks one CSV chunk the way JSON records are checked (cells that are not numbers, short rows,
 * missing values of features that may not be missing, values outside the allowed lists), then scores it.
 */
function scoreChunk(ctx: RouteContext, m: ServedModel, c: CsvChunk, rowsSoFar: number): Scored {
  const where = (i: number) => `line ${c.lineOf[i]}`;
  const problems: string[] = [];
  for (const issue of c.rowIssues) {
    if (problems.length >= 3) break;
    problems.push(
      `line ${issue.line}${issue.column ? `, column \`${issue.column}\`` : ""}: ${issue.reason}${issue.column ? ` (${JSON.stringify(issue.value.slice(0, 40))})` : ""}`,
    );
  }
  for (const input of m.bundle.manifest.inputs) {
    if (input.nullable || problems.length >= 3) continue;
    const col = c.table.column(input.name);
    for (let i = 0; i < c.table.nRows; i++) {
      const missing = col.type === "numeric" ? Number.isNaN(col.values[i]) : col.codes[i] === MISSING_CODE;
      if (missing && !c.rowIssues.some((r) => r.row === i)) {
        problems.push(`${where(i)}, column \`${input.name}\`: is empty, but the model needs a value`);
        break;
      }
    }
  }
  if (problems.length) {
    throw new NetwardenError("NW_SERVE_INVALID_RECORD", `invalid CSV rows: ${problems.join("; ")}`, {
      hint: `Every row needs a value for each feature the model expects (GET /v1/models/${m.name})`,
      details: { issues: c.rowIssues.slice(0, 100) },
    });
  }
  if (rowsSoFar + c.table.nRows > ctx.config.limits.csv_rows) {
    throw new NetwardenError(
      "NW_SERVE_TOO_MANY_ROWS",
      `the upload has more than ${ctx.config.limits.csv_rows} rows`,
      {
        hint: "Split the file, or raise limits.csv_rows in the serve config",
      },
    );
  }
  const proba = ctx.scorer.scoreTable(m, c.table, where);
  return { table: c.table, proba, start: 0, count: c.table.nRows };
}

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Writes the rows of each scored chunk in one format. */
class Writer {
  private readonly classes: readonly string[];
  private readonly names: Record<string, string> | undefined;
  private readonly inputs: string[];
  /** JSON pieces that do not change from row to row. */
  private readonly labelJson: string[];
  private readonly classKeys: string[];
  private rows = 0;

  constructor(
    private readonly format: CsvFormat,
    private readonly m: ServedModel,
    private readonly requestId: string,
  ) {
    this.classes = m.bundle.classes;
    this.names = m.bundle.manifest.target.classNames;
    this.inputs = m.bundle.manifest.inputs.map((i) => i.name);
    this.labelJson = this.classes.map((c) => {
      const name = this.names?.[c];
      return `"label":${JSON.stringify(c)}${name === undefined ? "" : `,"class_name":${JSON.stringify(name)}`}`;
    });
    this.classKeys = this.classes.map((c, k) => `${k ? "," : ""}${JSON.stringify(c)}:`);
  }

  head(): string {
    const { m, classes } = this;
    switch (this.format) {
      case "json":
        return `{"model":${JSON.stringify(m.name)},"version":${m.version},"request_id":${JSON.stringify(this.requestId)},"predictions":[`;
      case "ndjson":
        return "";
      case "csv":
        return `${["row", "label", ...(this.names ? ["class_name"] : []), ...classes.map((c) => `p_${c}`)].map(csvCell).join(",")}\n`;
      case "html": {
        const th = (s: string) => `<th>${htmlEscape(s)}</th>`;
        return (
          `<!doctype html><html><head><meta charset="utf-8"><title>${htmlEscape(m.name)} v${m.version} predictions</title>` +
          "<style>body{font-family:sans-serif}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style>" +
          `</head><body><h1>${htmlEscape(m.name)} v${m.version}</h1><table><thead><tr>${th("row")}${this.inputs.map(th).join("")}${th("label")}${this.names ? th("class") : ""}${classes.map((c) => th(`p(${c})`)).join("")}</tr></thead><tbody>\n`
        );
      }
    }
  }

  chunk(s: Scored): string {
    const K = this.classes.length;
    const parts: string[] = [];
    const cols = this.format === "html" ? this.inputs.map((n) => s.table.column(n)) : [];
    for (let r = 0; r < s.count; r++) {
      const i = s.start + r;
      let best = 0;
      for (let k = 1; k < K; k++) if (s.proba[i * K + k] > s.proba[i * K + best]) best = k;
      const label = this.classes[best];
      const name = this.names?.[label];
      const row = this.rows++;
      switch (this.format) {
        case "json":
        case "ndjson": {
          let probs = "";
          for (let k = 0; k < K; k++) probs += this.classKeys[k] + s.proba[i * K + k];
          const line = `{"row":${row},${this.labelJson[best]},"probabilities":{${probs}}}`;
          parts.push(this.format === "json" ? (row ? `,${line}` : line) : `${line}\n`);
          break;
        }
        case "csv": {
          let line = `${row},${csvCell(label)}${this.names ? `,${csvCell(name ?? "")}` : ""}`;
          for (let k = 0; k < K; k++) line += `,${s.proba[i * K + k]}`;
          parts.push(`${line}\n`);
          break;
        }
        case "html": {
          let line = `<tr><td>${row}</td>`;
          for (const c of cols) {
            const v = cellValue(c, i);
            line += `<td>${v === null ? "" : htmlEscape(String(v))}</td>`;
          }
          line += `<td>${htmlEscape(label)}</td>${this.names ? `<td>${htmlEscape(name ?? "")}</td>` : ""}`;
          for (let k = 0; k < K; k++) line += `<td>${s.proba[i * K + k].toFixed(4)}</td>`;
          parts.push(`${line}</tr>\n`);
          break;
        }
      }
    }
    return parts.join("");
  }

  tail(error?: NetwardenError): string {
    const err = error ? JSON.stringify({ code: error.code, message: error.message, hint: error.hint }) : "";
    switch (this.format) {
      case "json":
        return `],"rows":${this.rows}${error ? `,"error":${err}` : ""}}\n`;
      case "ndjson":
        return error ? `{"error":${err}}\n` : "";
      case "csv":
        return error ? `# error: ${error.code}: ${error.message.replace(/\s+/g, " ")}\n` : "";
      case "html":
        return `</tbody></table><p>${this.rows} rows</p>${error ? `<p style="color:#b00">${htmlEscape(`${error.code}: ${error.message}`)}</p>` : ""}</body></html>\n`;
    }
  }
}

/**
 * Reads, scores and logs the chunks of an upload; `onChunk` gets each scored chunk. The first
 * chunk is scored before anything is sent, so a bad file gets a proper 4xx answer.
 */
async function openScoring(req: FastifyRequest, ctx: RouteContext, m: ServedModel) {
  const source = await uploadSource(req, ctx);
  const it = readCsvChunks(source, {
    schema: m.bundle.inputSchema(),
    chunkRows: ctx.config.limits.csv_chunk_rows,
    label: "the upload",
  })[Symbol.asyncIterator]();
  let rows = 0;
  const next = async (): Promise<Scored | undefined> => {
    const r = await it.next();
    if (r.done) return undefined;
    const s = scoreChunk(ctx, m, r.value, rows);
    await ctx.recordWait(req, m, s, performance.now() - started, rows);
    rows += s.count;
    return s;
  };
  const started = performance.now();
  return { next, close: () => it.return?.(undefined), rows: () => rows };
}

export async function csvRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  // CSV bodies reach the handler as streams: they are parsed while they arrive.
  app.addContentTypeParser(CSV_TYPES, (_req, payload, done) => done(null, payload));
  await app.register(multipart, { limits: { fileSize: ctx.config.limits.csv_bytes, files: 1, parts: 20 } });

  app.post<{ Params: { name: string }; Querystring: { format?: string } }>(
    "/v1/models/:name/predict/csv",
    { schema: predictCsvSchema, config: { auth: "predict" } },
    async (req, reply) => {
      const m = ctx.served(req.params.name);
      req.nwModel = m;
      const format = chooseFormat(req.query.format, req.headers.accept);
      const scoring = await openScoring(req, ctx, m);
      const writer = new Writer(format, m, req.id);
      let first: Scored | undefined;
      try {
        first = await scoring.next();
      } catch (e) {
        await scoring.close();
        throw e;
      }
      async function* body(): AsyncGenerator<string> {
        try {
          yield writer.head();
          for (let s = first; s; s = await scoring.next()) yield writer.chunk(s);
          yield writer.tail();
        } catch (e) {
          // Rows already sent stay sent: the error is the last thing in the answer.
          const err =
            e instanceof NetwardenError
              ? e
              : new NetwardenError("NW_INTERNAL", "scoring stopped on an internal error");
          yield writer.tail(err);
        } finally {
          await scoring.close();
        }
      }
      reply.type(FORMAT_TYPES[format]);
      return reply.send(Readable.from(body()));
    },
  );

  app.post<{ Querystring: { model?: string }; Body: unknown }>(
    "/invocations",
    { schema: mlflowSchema, config: { auth: "predict" } },
    async (req, reply) => {
      const m = ctx.defaultModel(req.query.model);
      req.nwModel = m;
      const numeric = m.bundle.classes.every((c) => c.trim() !== "" && Number.isFinite(Number(c)));
      const labelOf = (c: string) => (numeric ? Number(c) : c);
      const labels = (s: Scored) => {
        const K = m.bundle.classes.length;
        const out: (string | number)[] = new Array(s.count);
        for (let r = 0; r < s.count; r++) {
          const i = s.start + r;
          let best = 0;
          for (let k = 1; k < K; k++) if (s.proba[i * K + k] > s.proba[i * K + best]) best = k;
          out[r] = labelOf(m.bundle.classes[best]);
        }
        return out;
      };
      if (req.body instanceof Readable || req.isMultipart()) {
        const scoring = await openScoring(req, ctx, m);
        const predictions: (string | number)[] = [];
        try {
          for (let s = await scoring.next(); s; s = await scoring.next()) {
            for (const l of labels(s)) predictions.push(l);
          }
        } finally {
          await scoring.close();
        }
        return { predictions };
      }
      const records = mlflowRecords(req.body, m.bundle, ctx.config.limits.records);
      const s = await ctx.scorer.score(m, records);
      ctx.record(req, m, s, reply.elapsedTime);
      return { predictions: labels(s) };
    },
  );
}
