import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dataDir } from "../core/index.js";
import { FileMetadataStore, LocalArtifactStore, openStores } from "./index.js";

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((d) => rm(d, { recursive: true, force: true })));
});

describe("openStores", () => {
  it("opens both embedded stores in one folder, which carry a model from training to serving", async () => {
    const root = await mkdtemp(join(tmpdir(), "nw-open-"));
    roots.push(root);
    const { metadata, artifacts } = await openStores({ root });
    expect(metadata).toBeInstanceOf(FileMetadataStore);
    expect(artifacts).toBeInstanceOf(LocalArtifactStore);
    expect(metadata.location).toBe(root);
    expect(artifacts.location).toBe(root);

    // What a training run does: store the bundle, record it, register, promote.
    const bundle = await readFile(join(dataDir(), "phishing_websites.csv"));
    const run = await metadata.createRun({ pipeline: "phishing", params: { seed: 42 } });
    const put = await artifacts.put(bundle);
    await metadata.addArtifact(run.id, { name: "bundle", mediaType: "text/csv", ...put });
    await metadata.endRun(run.id, "finished");
    await metadata.registerVersion({
      model: "phishing",
      runId: run.id,
      bundleHash: put.hash,
      metrics: { auc: 0.99 },
      lineage: { dataFingerprint: put.hash, configHash: "c".repeat(64), codeVersion: "0.1.0" },
    });
    await metadata.setAlias("phishing", "production", 1, { actor: "ci", reason: "passed the gate" });

    // What a server does, from a second pair of store objects on the same folder.
    const later = await openStores({ root });
    const served = await later.metadata.resolveAlias("phishing", "production");
    expect(served?.bundleHash).toBe("685e9fbdbe08c8b23fdb82e06cf5e154a8516e93f7b07f8a67328f17f86d0d72");
    const bytes = await later.artifacts.get(served?.bundleHash ?? "");
    expect(bytes.byteLength).toBe(bundle.byteLength);
    expect((await later.metadata.getRun(run.id)).artifacts).toEqual([
      { name: "bundle", hash: put.hash, size: bundle.byteLength, mediaType: "text/csv" },
    ]);
    await Promise.all([metadata.close(), artifacts.close(), later.metadata.close(), later.artifacts.close()]);
  });

  it("defaults to ./.netwarden", async () => {
    const { metadata, artifacts } = await openStores();
    expect(metadata.location).toBe("./.netwarden");
    expect(artifacts.location).toBe("./.netwarden");
  });
});
