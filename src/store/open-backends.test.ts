import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  FileMetadataStore,
  LocalArtifactStore,
  MlflowMirrorStore,
  openStores,
  S3ArtifactStore,
} from "./index.js";
import { expectCode } from "./test-support/conformance.js";

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((d) => rm(d, { recursive: true, force: true })));
});

describe("openStores picks the backends from environment variables only", () => {
  it("none set: both embedded; ARTIFACT_STORE=s3://…: S3; MLFLOW_TRACKING_URI: mirrored", async () => {
    const root = await mkdtemp(join(tmpdir(), "nw-open-"));
    roots.push(root);
    const plain = await openStores({ root, env: {} });
    expect(plain.metadata).toBeInstanceOf(FileMetadataStore);
    expect(plain.artifacts).toBeInstanceOf(LocalArtifactStore);

    const s3 = await openStores({
      root,
      env: { ARTIFACT_STORE: "s3://models/team-a?endpoint=http://127.0.0.1:9000", AWS_REGION: "eu-west-1" },
    });
    expect(s3.artifacts).toBeInstanceOf(S3ArtifactStore);
    expect(s3.artifacts.location).toBe("s3://models/team-a (http://127.0.0.1:9000)");
    expect(await (s3.artifacts as S3ArtifactStore).client.config.region()).toBe("eu-west-1");
    await s3.artifacts.close();

    const mirrored = await openStores({ root, env: { MLFLOW_TRACKING_URI: "http://127.0.0.1:5000" } });
    expect(mirrored.metadata).toBeInstanceOf(MlflowMirrorStore);
    expect((mirrored.metadata as MlflowMirrorStore).inner).toBeInstanceOf(FileMetadataStore);
    expect(mirrored.metadata.location).toBe(`${root} (mirrored to MLflow at http://127.0.0.1:5000)`);
  });

  it("malformed settings are NW_BACKEND_CONFIG naming the variable", async () => {
    const cases: [NodeJS.ProcessEnv, string][] = [
      [{ ARTIFACT_STORE: "/mnt/artifacts" }, "ARTIFACT_STORE"],
      [{ ARTIFACT_STORE: "s3://Bad_Bucket/x" }, "ARTIFACT_STORE"],
      [{ DATABASE_URL: "mysql://db/netwarden" }, "DATABASE_URL"],
      [
        { DATABASE_URL: "postgres://db/netwarden", NETWARDEN_DB_AUTO_MIGRATE: "maybe" },
        "NETWARDEN_DB_AUTO_MIGRATE",
      ],
      [{ DATABASE_URL: "postgres://db/netwarden", NETWARDEN_DB_SCHEMA: "bad-name" }, "NETWARDEN_DB_SCHEMA"],
      [{ MLFLOW_TRACKING_URI: "file:///tmp/mlruns" }, "MLFLOW_TRACKING_URI"],
    ];
    for (const [env, where] of cases) {
      const err = await expectCode(openStores({ env }), "NW_BACKEND_CONFIG");
      expect(err.where, JSON.stringify(env)).toBe(where);
    }
  });
});
