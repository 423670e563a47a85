import { resolve } from "node:path";
import { loadPipelineConfig } from "../../config/index.js";
import { NetwardenError } from "../../core/index.js";
import { readCsv } from "../../data/index.js";
import { loadIntoMongo, loadIntoPostgres, redactUrl } from "../../data/sources/index.js";
import { toDataSchema } from "../../pipeline/index.js";
import type { Command } from "../command.js";

export const datasetsLoad: Command = {
  name: "datasets load",
  summary: "Push a CSV file into a PostgreSQL table or a MongoDB collection",
  description:
    "Each record keeps its position in the file as `_id` (the table's primary key), so a pipeline reading the\n" +
    "table back (`data.source`) sees the rows in the file's order and trains the same model as from the file.\n" +
    "With --config, columns are typed by the pipeline's schema (categorical columns stay text as written).",
  options: {
    to: { type: "string", value: "postgres|mongodb", description: "Where to load", default: "postgres" },
    url: {
      type: "string",
      value: "url",
      description: "Database URL (default: DATABASE_URL for postgres, MONGODB_URI for mongodb)",
    },
    table: { type: "string", value: "name", description: "postgres: table to create (schema.table allowed)" },
    collection: { type: "string", value: "name", description: "mongodb: collection to fill" },
    database: {
      type: "string",
      value: "name",
      description: "mongodb: database (default: the one in the URL)",
    },
    config: {
      type: "string",
      short: "c",
      value: "file",
      description: "Pipeline config whose schema types the columns",
    },
    replace: { type: "boolean", description: "Drop an existing table or collection of that name first" },
  },
  positionals: [{ name: "file", description: "CSV file (plain or .gz)", required: true }],
  examples: [
    "netwarden datasets load ../shared/data/phishing_websites.csv --table phishing",
    "netwarden datasets load flows.csv.gz --to mongodb --url mongodb://localhost:27017/security --collection flows",
  ],
  async run(ctx) {
    const o = ctx.args.options;
    const to = o.to as string;
    if (to !== "postgres" && to !== "mongodb") {
      throw new NetwardenError("NW_CLI_INVALID_ARGUMENT", `--to must be postgres or mongodb, got \`${to}\``, {
        where: "--to",
        hint: "Use --to postgres (default) or --to mongodb",
      });
    }
    const url =
      (o.url as string | undefined) || (to === "postgres" ? ctx.io.env.DATABASE_URL : ctx.io.env.MONGODB_URI);
    if (!url) {
      throw new NetwardenError("NW_CLI_MISSING_ARGUMENT", `no ${to} database given`, {
        where: "--url",
        hint:
          to === "postgres"
            ? "Pass --url postgres://… or set DATABASE_URL"
            : "Pass --url mongodb://… or set MONGODB_URI",
      });
    }
    const name = (to === "postgres" ? o.table : o.collection) as string | undefined;
    if (!name) {
      throw new NetwardenError(
        "NW_CLI_MISSING_ARGUMENT",
        `--${to === "postgres" ? "table" : "collection"} is required`,
        {
          where: `--${to === "postgres" ? "table" : "collection"}`,
          hint: `Name the ${to === "postgres" ? "table to create" : "collection to fill"}`,
        },
      );
    }
    const file = resolve(ctx.io.cwd, ctx.args.positionals.file as string);
    const loaded = o.config
      ? await loadPipelineConfig(resolve(ctx.io.cwd, o.config as string), ctx.io.env)
      : undefined;
    const schema = loaded ? toDataSchema(loaded.config, loaded.locate) : undefined;
    const read = await readCsv(file, { schema, progress: ctx.progress });
    const replace = o.replace === true;
    const shown = redactUrl(url);
    if (to === "postgres") {
      const r = await loadIntoPostgres(read.table, { url, table: name, replace }, ctx.progress);
      ctx.emit({ to, url: shown, table: name, rows: r.rows, columns: r.columns.length });
      ctx.print(
        `loaded ${r.rows.toLocaleString("en-US")} rows × ${r.columns.length} columns into postgres table ${name} (${shown})`,
      );
    } else {
      const r = await loadIntoMongo(
        read.table,
        { url, database: o.database as string | undefined, collection: name, replace },
        ctx.progress,
      );
      ctx.emit({ to, url: shown, database: r.database, collection: name, rows: r.rows });
      ctx.print(
        `loaded ${r.rows.toLocaleString("en-US")} documents into mongodb ${r.database}.${name} (${shown})`,
      );
    }
  },
};
