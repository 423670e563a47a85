import { FileMetadataStore, type FileMetadataStoreOptions } from "./file-metadata.js";
import { DEFAULT_STORE_ROOT } from "./fs-util.js";
import { LocalArtifactStore } from "./local-artifacts.js";
import type { ArtifactStore, MetadataStore } from "./types.js";

export interface Stores {
  metadata: MetadataStore;
  artifacts: ArtifactStore;
}

export interface OpenStoresOptions extends FileMetadataStoreOptions {
  /** Folder of the embedded stores (default `./.netwarden`). */
  root?: string;
}

/**
 * The stores a command works with. Today both are embedded in one local folder; this is the one
 * place that will pick PostgreSQL and S3 instead when they are configured.
 */
export async function openStores(options: OpenStoresOptions = {}): Promise<Stores> {
  const root = options.root ?? DEFAULT_STORE_ROOT;
  return {
    metadata: new FileMetadataStore(root, {
      lockTimeoutMs: options.lockTimeoutMs,
      lockStaleMs: options.lockStaleMs,
    }),
    artifacts: new LocalArtifactStore(root),
  };
}
