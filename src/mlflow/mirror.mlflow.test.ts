import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parsePipelineConfig } from "../config/index.js";
import { dataDir, NetwardenError, sha256, silentProgress } from "../core/index.js";
import { runTraining } from "../pipeline/index.js";
import { MLFLOW_RUN_TAG, MlflowMirrorStore, openStores } from "../store/index.js";
import { MlflowClient } from "./index.js";

// Runs against a real MLflow tracking server (started by .ci/run): NETWARDEN_TEST_MLFLOW_URI.
const uri = process.env.NETWARDEN_TEST_MLFLOW_URI ?? "";
const REPO = join(import.meta.dirname, "..", "..");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** examples/phishing.yaml, trained small and fast, under a name no other test uses. */
function phishingConfig(name: string) {
  const text = readFileSync(join(REPO, "examples", "phishing.yaml"), "utf8")
    .replace(/^name: phishing$/m, `name: ${name}`)
    .replace(/^data:\n {2}path: .*\n/m, `data:\n  path: ${join(dataDir(), "phishing_websites.csv")}\n`)
    .replace(
      /^models:\n(?: {2}.*\n| {4}.*\n)+/m,
      "models:\n  - kind: gbdt\n    params: { n_estimators: 20, max_depth: 4 }\n",
    )
    .replace(/^search:\n(?: {2}.*\n)+/m, "search:\n  cv_folds: 2\n")
    .replace(/^ {2}min: 0\.95$/m, "  min: 0.9");
  return parsePipelineConfig(text, join(REPO, "examples", "phishing.yaml"), {});
}

describe.skipIf(!uri)("MLflow mirror (NETWARDEN_TEST_MLFLOW_URI)", () => {
  it("a training run and its registered, promoted version appear in MLflow with metrics and alias", async () => {
    const root = mkdtempSync(join(tmpdir(), "nw-mlflow-"));
    dirs.push(root);
    const name = `phishing-mlflow-${randomBytes(4).toString("hex")}`;
    const stores = await openStores({ root, env: { MLFLOW_TRACKING_URI: uri } });
    expect(stores.metadata).toBeInstanceOf(MlflowMirrorStore);
    const outcome = await runTraining(phishingConfig(name), {
      ...stores,
      progress: silentProgress,
      actor: "ci",
    });
    expect(outcome.accepted).toBe(true);
    await stores.metadata.setAlias(name, "production", outcome.version ?? 0, {
      actor: "alice",
      reason: "go live",
    });

    const run = await stores.metadata.getRun(outcome.runId);
    const mlflowRunId = run.tags[MLFLOW_RUN_TAG];
    expect(mlflowRunId).toMatch(/^[0-9a-f]{32}$/);

    const client = new MlflowClient({ trackingUri: uri });
    const mirrored = await client.getRun(mlflowRunId);
    expect(mirrored.info.status).toBe("FINISHED");
    expect(mirrored.info.runName).toBe(run.id);
    expect(mirrored.info.experimentId).toBe(await client.getExperimentIdByName(name));
    expect(mirrored.tags["netwarden.run_id"]).toBe(run.id);
    expect(mirrored.tags.config_hash).toBe(run.tags.config_hash);
    expect(mirrored.tags.data_fingerprint).toBe(run.tags.data_fingerprint);
    expect(mirrored.params["split.seed"]).toBe("42");
    expect(mirrored.params["split.method"]).toBe("stratified");
    // Every latest metric of the netwarden run, with the same value.
    for (const [key, value] of Object.entries(run.metrics)) {
      expect(mirrored.metrics[key]?.value, key).toBe(value);
    }
    expect(mirrored.metrics["test.accuracy"].value).toBeGreaterThan(0.9);

    // Per-iteration metrics keep their steps.
    const stepped = Object.keys(run.metrics).find((k) => k.startsWith("fit."));
    expect(stepped).toBeDefined();
    const ours = await stores.metadata.metricHistory(run.id, stepped as string);
    const theirs = await client.metricHistory(mlflowRunId, stepped as string);
    expect(theirs.map((m) => [m.step, m.value])).toEqual(ours.map((p) => [p.step, p.value]));
    expect(theirs.length).toBeGreaterThan(1);

    // Artifacts: the same names, and the bundle's bytes are the registered ones.
    const files = await client.listArtifacts(mlflowRunId);
    expect(files.map((f) => f.path).sort()).toEqual(run.artifacts.map((a) => a.name).sort());
    const bundle = await client.downloadArtifact(mirrored.info, "bundle.json");
    expect(sha256(bundle)).toBe(outcome.bundleHash);

    // The registered version, linked to the run, with its alias.
    const versions = await client.listModelVersions(name);
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({
      name,
      runId: mlflowRunId,
      source: `${mirrored.info.artifactUri}/bundle.json`,
      tags: { "netwarden.version": String(outcome.version), "netwarden.bundle_hash": outcome.bundleHash },
    });
    expect(versions[0].aliases.sort()).toEqual(["candidate", "production"]);
    expect((await client.getVersionByAlias(name, "production"))?.version).toBe(versions[0].version);

    await stores.metadata.deleteAlias(name, "candidate", { actor: "alice", reason: "promoted" });
    expect(await client.getVersionByAlias(name, "candidate")).toBeUndefined();
    await stores.metadata.close();
    await stores.artifacts.close();
  });

  it("a failed run is mirrored as FAILED with its error code", async () => {
    const root = mkdtempSync(join(tmpdir(), "nw-mlflow-"));
    dirs.push(root);
    const stores = await openStores({
      root,
      env: { MLFLOW_TRACKING_URI: uri, MLFLOW_EXPERIMENT_NAME: "netwarden-tests" },
    });
    const run = await stores.metadata.createRun({ pipeline: "p", params: { lr: 0.1, note: null } });
    await stores.metadata.logMetrics(run.id, { loss: Number.NaN, up: Number.POSITIVE_INFINITY }, 0);
    await stores.metadata.endRun(run.id, "failed", { code: "NW_DATA_EMPTY", message: "no rows" });
    const client = new MlflowClient({ trackingUri: uri });
    const mirrored = await client.getRun((await stores.metadata.getRun(run.id)).tags[MLFLOW_RUN_TAG]);
    expect(mirrored.info.status).toBe("FAILED");
    expect(mirrored.info.experimentId).toBe(await client.getExperimentIdByName("netwarden-tests"));
    expect(mirrored.params).toEqual({ lr: "0.1", note: "null" });
    expect(mirrored.tags["netwarden.error_code"]).toBe("NW_DATA_EMPTY");
    expect(mirrored.metrics.loss.value).toBeNaN();
    // MLflow's SQL store keeps +Infinity as the largest double.
    expect(mirrored.metrics.up.value).toBe(Number.MAX_VALUE);
    await stores.metadata.close();
  });

  it("MLflow's refusals are NW_MLFLOW_REJECTED with its error code", async () => {
    const client = new MlflowClient({ trackingUri: uri });
    const err = await client.getRun("0".repeat(32)).catch((e) => e);
    expect(err).toBeInstanceOf(NetwardenError);
    expect(err.code).toBe("NW_MLFLOW_REJECTED");
    expect(err.details.mlflowErrorCode).toBe("RESOURCE_DOES_NOT_EXIST");
  });
});

describe("MLflow client without a server", () => {
  it("refuses a tracking URI that is not http(s)", () => {
    for (const bad of ["file:///tmp/mlruns", "databricks", "mlruns"]) {
      expect(() => new MlflowClient({ trackingUri: bad })).toThrow(
        expect.objectContaining({ code: "NW_BACKEND_CONFIG" }) as unknown as Error,
      );
    }
  });

  it("reports a server nobody runs as NW_BACKEND_UNAVAILABLE after its retries", async () => {
    const client = new MlflowClient({ trackingUri: "http://127.0.0.1:1", maxAttempts: 2, backoffMs: 1 });
    const err = await client.ensureExperiment("x").catch((e) => e);
    expect(err.code).toBe("NW_BACKEND_UNAVAILABLE");
    expect(err.where).toBe("MLFLOW_TRACKING_URI");
  });
});
