export { type ParamDoc, pipelineJsonSchema } from "./jsonschema.js";
export { configHash, type LoadedConfig, loadPipelineConfig, parsePipelineConfig } from "./load.js";
export { closest, describeValue, editDistance, formatPath, type Path } from "./paths.js";
export {
  COLUMN_ROLES,
  COLUMN_TYPES,
  type ColumnConfig,
  type DataSourceConfig,
  type ImbalanceConfig,
  type ModelEntryConfig,
  type PipelineConfig,
  type PipelineConfigInput,
  type PreprocessConfig,
  pipelineSchema,
  SOURCE_KEYS,
  SOURCE_KINDS,
} from "./schema.js";
export {
  API_KEY_HASH_PATTERN,
  loadServeConfig,
  parseServeConfig,
  SERVE_ENV,
  type ServeConfig,
  type ServeConfigInput,
  serveSchema,
} from "./serve.js";
