import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type LoadedConfig, parsePipelineConfig } from "../config/index.js";
import { dataDir, NetwardenError, silentProgress } from "../core/index.js";
import { openStores } from "../store/index.js";
import { decodeBundle } from "./bundle.js";
import { buildCandidates } from "./candidates.js";
import { applyThresholds } from "./checks.js";
import { ingest } from "./ingest.js";
import { toDataSchema } from "./schema.js";
import { runTraining } from "./train.js";

const REPO = join(import.meta.dirname, "..", "..");
const CSV = join(dataDir(), "phishing_websites.csv");

function phishing(edit: (text: string) => string = (t) => t): LoadedConfig {
  const text = readFileSync(join(REPO, "examples", "phishing.yaml"), "utf8")
    .replace(/^data:\n {2}path: .*\n/m, `data:\n  path: ${CSV}\n`)
    .replace(
      /^models:\n(?: {2}.*\n| {4}.*\n)+/m,
      "models:\n  - kind: gbdt\n    params: { n_estimators: 30, max_depth: 5 }\n",
    )
    .replace(/^search:\n(?: {2}.*\n)+/m, "search:\n  cv_folds: 2\n")
    .replace(/^ {2}min: 0\.95$/m, "  min: 0.9");
  return parsePipelineConfig(edit(text), join(REPO, "examples", "phishing.yaml"), {});
}

describe("ingestion and splits on the phishing data", () => {
  it("a plain stratified split keeps class shares and leaks duplicates into test", async () => {
    const loaded = phishing();
    const ds = await ingest(loaded.config, toDataSchema(loaded.config, loaded.locate), silentProgress);
    expect([ds.train.nRows, ds.test.nRows]).toEqual([8844, 2211]);
    expect(ds.classes).toEqual(["-1", "1"]);
    const share = (y: Int32Array) => y.reduce((s, v) => s + (v === 0 ? 1 : 0), 0) / y.length;
    expect(share(ds.yTrain)).toBeCloseTo(4898 / 11055, 3);
    expect(share(ds.yTest)).toBeCloseTo(4898 / 11055, 2);
    expect(ds.checks.duplicates.leakage?.testRows).toBeGreaterThan(1000);
    const checks = applyThresholds(loaded.config, ds.checks);
    expect(checks.find((c) => c.check === "duplicate_leakage")?.level).toBe("warn");
  });

  it("dedupe: group keeps every copy of a row on one side, so nothing leaks", async () => {
    const loaded = phishing((t) => t.replace("dedupe: none", "dedupe: group"));
    const ds = await ingest(loaded.config, toDataSchema(loaded.config, loaded.locate), silentProgress);
    expect(ds.train.nRows + ds.test.nRows).toBe(11055);
    expect(ds.checks.duplicates.leakage?.testRows).toBe(0);
    expect(ds.split.method).toBe("group");
  });

  it("dedupe: drop removes the 5,206 exact repeats before splitting", async () => {
    const loaded = phishing((t) => t.replace("dedupe: none", "dedupe: drop"));
    const ds = await ingest(loaded.config, toDataSchema(loaded.config, loaded.locate), silentProgress);
    expect(ds.split.droppedDuplicates).toBe(5206);
    expect(ds.train.nRows + ds.test.nRows).toBe(5849);
  });

  it("a leakage fail threshold stops the run with the reason", async () => {
    const loaded = phishing((t) =>
      t.replace("duplicate_leakage: { warn: 0, fail: null }", "duplicate_leakage: { warn: 0, fail: 0.1 }"),
    );
    const ds = await ingest(loaded.config, toDataSchema(loaded.config, loaded.locate), silentProgress);
    const fail = applyThresholds(loaded.config, ds.checks).filter((c) => c.level === "fail");
    expect(fail).toHaveLength(1);
    expect(fail[0]).toMatchObject({ check: "duplicate_leakage", limit: 0.1 });
    expect(fail[0].message).toContain("split.dedupe: group");
  });
});

describe("candidates", () => {
  it("expands grids and reports a bad grid value at its line", () => {
    const ok = phishing((t) =>
      t.replace(
        "params: { n_estimators: 30, max_depth: 5 }",
        "params: { n_estimators: 30 }\n    grid: { max_depth: [3, 5], learning_rate: [0.1, 0.3] }",
      ),
    );
    const c = buildCandidates(ok);
    expect(c.map((x) => x.name)).toEqual([
      "gbdt#1 (learning_rate=0.1, max_depth=3)",
      "gbdt#2 (learning_rate=0.1, max_depth=5)",
      "gbdt#3 (learning_rate=0.3, max_depth=3)",
      "gbdt#4 (learning_rate=0.3, max_depth=5)",
    ]);
    expect(c[0].preprocess.categorical.encode).toBe("ordinal");
    const bad = phishing((t) =>
      t.replace(
        "params: { n_estimators: 30, max_depth: 5 }",
        "params: { n_estimators: 30 }\n    grid: { max_depth: [3, -5] }",
      ),
    );
    try {
      buildCandidates(bad);
      throw new Error("expected a config error");
    } catch (e) {
      expect(e).toBeInstanceOf(NetwardenError);
      expect((e as NetwardenError).code).toBe("NW_CONFIG_INVALID_VALUE");
      expect((e as NetwardenError).where).toMatch(/phishing\.yaml:\d+:\d+/);
      expect((e as NetwardenError).message).toContain("max_depth");
    }
  });
});

describe("bundles", () => {
  it("round-trip through the artifact store and refuse tampered content", async () => {
    const stores = await openStores({ root: mkdtempSync(join(tmpdir(), "nw-pipe-")) });
    const outcome = await runTraining(phishing(), { ...stores, progress: silentProgress, actor: "test" });
    const bytes = await stores.artifacts.get(outcome.bundleHash);
    const bundle = decodeBundle(bytes);
    expect(bundle.manifest).toMatchObject({
      name: "phishing",
      task: "binary",
      format: "netwarden.bundle/v1",
    });
    expect(bundle.manifest.metrics["test.accuracy"]).toBe(outcome.metrics["test.accuracy"]);
    expect(bundle.manifest.lineage.dataFingerprint).toBe(outcome.data.fingerprint);

    const text = Buffer.from(bytes).toString("utf8");
    const tampered = text.replace(/"value":\[([-\d.e]+)/, (_m, v) => `"value":[${Number(v) + 1}`);
    expect(tampered).not.toBe(text);
    expect(() => decodeBundle(Buffer.from(tampered))).toThrow(
      expect.objectContaining({ code: "NW_STORE_CORRUPT" }),
    );
    expect(() => decodeBundle(Buffer.from("{}"))).toThrow(
      expect.objectContaining({ code: "NW_MODEL_FORMAT" }),
    );
  });
});

describe("imbalance handling", () => {
  it("SMOTE resamples only the training rows of each fit and records the class counts", async () => {
    const stores = await openStores({ root: mkdtempSync(join(tmpdir(), "nw-pipe-")) });
    const loaded = phishing((t) => `${t}\nimbalance:\n  method: smote\n  k_neighbors: 3\n`);
    const outcome = await runTraining(loaded, { ...stores, progress: silentProgress, actor: "test" });
    const run = await stores.metadata.getRun(outcome.runId);
    expect(run.params["imbalance.method"]).toBe("smote");
    // 8,844 train rows: 3,918 phishing and 4,926 legitimate; SMOTE grows the minority to the majority.
    expect(run.metrics["imbalance.before.-1"]).toBe(3918);
    expect(run.metrics["imbalance.before.1"]).toBe(4926);
    expect(run.metrics["imbalance.after.-1"]).toBe(4926);
    expect(run.metrics["imbalance.after.1"]).toBe(4926);
    // The test split is never resampled.
    expect(outcome.metrics["test.rows"]).toBe(2211);
    expect(outcome.metrics["test.accuracy"]).toBeGreaterThan(0.93);
  });
});

describe("model selection in parallel", () => {
  it("gives the same fold scores on worker threads as one after the other", async () => {
    const grid = (t: string) =>
      t.replace(
        "params: { n_estimators: 30, max_depth: 5 }",
        "params: { n_estimators: 15 }\n    grid: { max_depth: [3, 5] }\n  - kind: logreg\n    params: { C: 0.5 }",
      );
    const serial = phishing((t) => grid(t).replace("  cv_folds: 2\n", "  cv_folds: 2\n  n_jobs: 1\n"));
    const parallel = phishing((t) => grid(t).replace("  cv_folds: 2\n", "  cv_folds: 2\n  n_jobs: 2\n"));
    const run = async (loaded: LoadedConfig) => {
      const stores = await openStores({ root: mkdtempSync(join(tmpdir(), "nw-pipe-")) });
      return runTraining(loaded, { ...stores, progress: silentProgress, actor: "test" });
    };
    const a = await run(serial);
    const b = await run(parallel);
    expect(a.cv.map((c) => c.name)).toEqual(["gbdt#1 (max_depth=3)", "gbdt#2 (max_depth=5)", "logreg"]);
    expect(b.cv).toEqual(a.cv);
    expect(b.bundleHash).toBe(a.bundleHash);
  });
});
