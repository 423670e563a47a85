import { NetwardenError } from "../core/index.js";
import { FileMetadataStore, type FileMetadataStoreOptions } from "./file-metadata.js";
import { DEFAULT_STORE_ROOT } from "./fs-util.js";
import { LocalArtifactStore } from "./local-artifacts.js";
import { MlflowMirrorStore } from "./mlflow-mirror.js";
import { PgMetadataStore } from "./pg-metadata.js";
import { parseS3Url, S3ArtifactStore } from "./s3-artifacts.js";
import type { ArtifactStore, MetadataStore } from "./types.js";

export interface Stores {
  metadata: MetadataStore;
  artifacts: ArtifactStore;
}

export interface OpenStoresOptions extends FileMetadataStoreOptions {
  /** Folder of the embedded stores (default `./.netwarden`). */
  root?: string;
  /** Where the backend variables are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The stores a command works with, chosen by environment variables only:
 *
 * - `DATABASE_URL=postgres://…` → metadata in PostgreSQL (tables in `NETWARDEN_DB_SCHEMA`, default
 *   public; pending migrations applied on open unless `NETWARDEN_DB_AUTO_MIGRATE=false`);
 * - `ARTIFACT_STORE=s3://bucket/prefix` → artifacts in S3 (see `parseS3Url` for its settings);
 * - `MLFLOW_TRACKING_URI=http://…` → runs and registry changes are also mirrored to MLflow;
 * - neither → both embedded in the local folder `root`.
 */
export async function openStores(options: OpenStoresOptions = {}): Promise<Stores> {
  const env = options.env ?? process.env;
  const root = options.root ?? DEFAULT_STORE_ROOT;
  const artifacts = openArtifacts(env, root);
  let metadata: MetadataStore;
  try {
    metadata = env.DATABASE_URL
      ? await PgMetadataStore.open(env.DATABASE_URL, {
          schema: env.NETWARDEN_DB_SCHEMA || undefined,
          migrate: autoMigrate(env),
        })
      : new FileMetadataStore(root, {
          lockTimeoutMs: options.lockTimeoutMs,
          lockStaleMs: options.lockStaleMs,
        });
    if (env.MLFLOW_TRACKING_URI) {
      metadata = MlflowMirrorStore.wrap(metadata, artifacts, {
        trackingUri: env.MLFLOW_TRACKING_URI,
        experiment: env.MLFLOW_EXPERIMENT_NAME || undefined,
        token: env.MLFLOW_TRACKING_TOKEN || undefined,
      });
    }
  } catch (e) {
    await artifacts.close();
    throw e;
  }
  return { metadata, artifacts };
}

function openArtifacts(env: NodeJS.ProcessEnv, root: string): ArtifactStore {
  const where = env.ARTIFACT_STORE;
  if (!where) return new LocalArtifactStore(root);
  if (where.startsWith("s3://")) {
    // Keys given in `env` win; otherwise the SDK's own chain (process environment, profile, role).
    const credentials =
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          }
        : undefined;
    return new S3ArtifactStore(parseS3Url(where, env), credentials ? { credentials } : {});
  }
  throw new NetwardenError("NW_BACKEND_CONFIG", `ARTIFACT_STORE \`${where}\` is not an s3:// location`, {
    where: "ARTIFACT_STORE",
    hint: "Set it to s3://bucket/prefix, or unset it to keep artifacts in the local store folder",
  });
}

function autoMigrate(env: NodeJS.ProcessEnv): boolean {
  const v = env.NETWARDEN_DB_AUTO_MIGRATE;
  if (v === undefined || v === "" || v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new NetwardenError(
    "NW_BACKEND_CONFIG",
    `NETWARDEN_DB_AUTO_MIGRATE must be true or false, got \`${v}\``,
    {
      where: "NETWARDEN_DB_AUTO_MIGRATE",
      hint: "Unset it (migrations run on start) or set it to false (run `netwarden db migrate` yourself)",
    },
  );
}
