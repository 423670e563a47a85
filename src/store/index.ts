export { FileMetadataStore, type FileMetadataStoreOptions } from "./file-metadata.js";
export { DEFAULT_STORE_ROOT } from "./fs-util.js";
export { LocalArtifactStore } from "./local-artifacts.js";
export { type OpenStoresOptions, openStores, type Stores } from "./open.js";
export { HASH_PATTERN, NAME_PATTERN, RUN_ID_PATTERN } from "./rules.js";
export type {
  AliasEvent,
  ArtifactRef,
  ArtifactStore,
  Lineage,
  MetadataStore,
  MetricPoint,
  ModelSummary,
  ModelVersion,
  ParamValue,
  RunError,
  RunFilter,
  RunRecord,
  RunStatus,
} from "./types.js";
