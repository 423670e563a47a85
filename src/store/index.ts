export { FileMetadataStore, type FileMetadataStoreOptions } from "./file-metadata.js";
export { DEFAULT_STORE_ROOT } from "./fs-util.js";
export { LocalArtifactStore } from "./local-artifacts.js";
export { LATEST_MIGRATION, MIGRATIONS, type MigrationStatus } from "./migrations/index.js";
export { MLFLOW_RUN_TAG, type MlflowMirrorOptions, MlflowMirrorStore } from "./mlflow-mirror.js";
export { type OpenStoresOptions, openStores, type Stores } from "./open.js";
export { type PgTarget, pgTarget } from "./pg-connection.js";
export { PgMetadataStore, type PgMetadataStoreOptions, type RegistryAuditEntry } from "./pg-metadata.js";
export { HASH_PATTERN, NAME_PATTERN, RUN_ID_PATTERN } from "./rules.js";
export {
  parseS3Url,
  S3ArtifactStore,
  type S3ArtifactStoreOptions,
  type S3Location,
  s3Error,
} from "./s3-artifacts.js";
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
