export { type ParamDoc, pipelineJsonSchema } from "./jsonschema.js";
export { configHash, type LoadedConfig, loadPipelineConfig, parsePipelineConfig } from "./load.js";
export { closest, describeValue, editDistance, formatPath, type Path } from "./paths.js";
export {
  COLUMN_ROLES,
  COLUMN_TYPES,
  type ColumnConfig,
  type ModelEntryConfig,
  type PipelineConfig,
  type PipelineConfigInput,
  type PreprocessConfig,
  pipelineSchema,
} from "./schema.js";
