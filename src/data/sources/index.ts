import type { DataSourceConfig } from "../../config/index.js";
import type { Progress } from "../../core/index.js";
import type { DataSchema } from "../schema.js";
import type { SourceReadResult } from "./builder.js";
import { readMongo } from "./mongodb.js";
import { readPostgres } from "./postgres.js";
import { readS3 } from "./s3.js";

export { RecordTableBuilder, type SourceReadResult } from "./builder.js";
export {
  loadIntoMongo,
  type MongoConnect,
  type MongoConnector,
  type MongoFindOptions,
  type MongoSourceSpec,
  mongoError,
  mongoQuery,
  readMongo,
} from "./mongodb.js";
export { readParquetBytes, readParquetFile } from "./parquet.js";
export {
  loadIntoPostgres,
  type PostgresSourceSpec,
  quoteQualified,
  ROW_ID_COLUMN,
  readPostgres,
  redactUrl,
} from "./postgres.js";
export { parseS3ObjectUrl, readS3, type S3ObjectLocation, type S3SourceSpec } from "./s3.js";

export interface ReadSourceOptions {
  schema: DataSchema;
  progress?: Progress;
  /** CSV settings of the data section, for CSV objects in S3. */
  delimiter?: string;
  header?: boolean | "auto";
  env?: NodeJS.ProcessEnv;
}

/** Reads the dataset a pipeline's `data.source` names into a Table, typed by the schema. */
export function readSource(source: DataSourceConfig, options: ReadSourceOptions): Promise<SourceReadResult> {
  const common = { schema: options.schema, progress: options.progress, where: "data.source" };
  switch (source.kind) {
    case "postgres":
      return readPostgres(
        {
          url: source.url,
          table: source.table,
          query: source.query,
          orderBy: source.order_by,
          batchSize: source.batch_size,
        },
        common,
      );
    case "mongodb":
      return readMongo(
        {
          url: source.url,
          database: source.database,
          collection: source.collection as string,
          filter: source.filter,
          projection: source.projection,
          sort: source.sort,
          batchSize: source.batch_size,
        },
        common,
      );
    case "s3":
      return readS3(
        { url: source.url, format: source.format, delimiter: options.delimiter, header: options.header },
        { ...common, env: options.env },
      );
  }
}
