/**
 * The contract of MetadataStore and ArtifactStore as Vitest suites. Every implementation (the
 * embedded files, PostgreSQL, S3) runs the same suites from its own test file:
 *
 *   metadataStoreConformance("FileMetadataStore", async () => new FileMetadataStore(await tempDir()));
 *
 * `makeStore` must return a fresh, empty store each time it is called.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dataDir, type ErrorCode, NetwardenError, Rng, sha256 } from "../../core/index.js";
import type { ArtifactStore, Lineage, MetadataStore, ModelVersion } from "../types.js";

/** Awaits `promise`, expects it to reject with a NetwardenError of `code`, and returns the error. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<NetwardenError> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(NetwardenError);
  const err = caught as NetwardenError;
  expect(err.code, err.message).toBe(code);
  return err;
}

/** Waits until the clock has moved on, so runs created one after another have distinct start times. */
async function nextMillisecond(): Promise<void> {
  const t = Date.now();
  while (Date.now() <= t) await sleep(1);
}

const PHISHING_SHA256 = "685e9fbdbe08c8b23fdb82e06cf5e154a8516e93f7b07f8a67328f17f86d0d72";
const HASH_A = "a".repeat(64);
const HASH_B = "b".repeat(64);
const LINEAGE: Lineage = {
  dataFingerprint: PHISHING_SHA256,
  configHash: "c".repeat(64),
  codeVersion: "0.1.0",
};

export interface MetadataConformanceHooks {
  /**
   * A second, independent handle on the same data as `store` (another process would open one the
   * same way), so races run between two writers rather than inside one object.
   */
  reopen(store: MetadataStore): Promise<MetadataStore>;
}

export function metadataStoreConformance(
  name: string,
  makeStore: () => Promise<MetadataStore>,
  hooks: MetadataConformanceHooks,
): void {
  describe(`MetadataStore conformance: ${name}`, () => {
    let store: MetadataStore;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    async function register(model: string, runId: string, description?: string): Promise<ModelVersion> {
      return store.registerVersion({
        model,
        runId,
        bundleHash: HASH_A,
        metrics: { auc: 0.97 },
        lineage: LINEAGE,
        ...(description === undefined ? {} : { description }),
      });
    }

    describe("runs", () => {
      it("createRun starts a running run with its params, tags and parent", async () => {
        const before = Date.now();
        const run = await store.createRun({
          pipeline: "phishing",
          params: { learningRate: 0.1, maxDepth: 6, learner: "gbm", balanced: true, note: null },
          tags: { owner: "soc" },
        });
        const after = Date.now();
        expect(run).toMatchObject({
          pipeline: "phishing",
          status: "running",
          params: { learningRate: 0.1, maxDepth: 6, learner: "gbm", balanced: true, note: null },
          metrics: {},
          tags: { owner: "soc" },
          artifacts: [],
        });
        expect(run.endedAt).toBeUndefined();
        expect(run.parentRunId).toBeUndefined();
        expect(Date.parse(run.startedAt)).toBeGreaterThanOrEqual(before);
        expect(Date.parse(run.startedAt)).toBeLessThanOrEqual(after);
        expect(await store.getRun(run.id)).toEqual(run);

        const child = await store.createRun({ pipeline: "phishing-retrain", parentRunId: run.id });
        expect(child.id).not.toBe(run.id);
        expect((await store.getRun(child.id)).parentRunId).toBe(run.id);
        expect(child.params).toEqual({});
        expect(child.tags).toEqual({});
      });

      it("params, metrics and tags merge, later values winning", async () => {
        const run = await store.createRun({ pipeline: "p", params: { lr: 0.1, depth: 6 }, tags: { a: "1" } });
        await store.logParams(run.id, { lr: 0.05, seed: 7 });
        await store.logMetrics(run.id, { auc: 0.9, f1: 0.8 });
        await store.logMetrics(run.id, { auc: 0.95 });
        await store.setTags(run.id, { b: "2" });
        await store.setTags(run.id, { a: "3" });
        const got = await store.getRun(run.id);
        expect(got.params).toEqual({ lr: 0.05, depth: 6, seed: 7 });
        expect(got.metrics).toEqual({ auc: 0.95, f1: 0.8 });
        expect(got.tags).toEqual({ a: "3", b: "2" });
        expect(got.status).toBe("running");
      });

      it("metric history keeps every step, per key, in step order", async () => {
        const run = await store.createRun({ pipeline: "p" });
        await store.logMetrics(run.id, { loss: 0.7, acc: 0.5 }, 0);
        await store.logMetrics(run.id, { loss: 0.5 }, 1);
        await store.logMetrics(run.id, { loss: 0.4, acc: 0.8 }, 2);
        await store.logMetrics(run.id, { loss: 0.39 }); // no step: latest value only
        await store.logMetrics(run.id, { lr: 0.01 }, 10);
        await store.logMetrics(run.id, { lr: 0.02 }, 4);

        const loss = await store.metricHistory(run.id, "loss");
        expect(loss.map((p) => [p.key, p.step, p.value])).toEqual([
          ["loss", 0, 0.7],
          ["loss", 1, 0.5],
          ["loss", 2, 0.4],
        ]);
        for (const p of loss) expect(Number.isNaN(Date.parse(p.timestamp))).toBe(false);
        expect((await store.metricHistory(run.id, "acc")).map((p) => [p.step, p.value])).toEqual([
          [0, 0.5],
          [2, 0.8],
        ]);
        expect((await store.metricHistory(run.id, "lr")).map((p) => p.step)).toEqual([4, 10]);
        expect(await store.metricHistory(run.id, "never-logged")).toEqual([]);
        expect((await store.getRun(run.id)).metrics).toEqual({ loss: 0.39, acc: 0.8, lr: 0.02 });
      });

      it("NaN and infinite metric values survive the round trip", async () => {
        const run = await store.createRun({ pipeline: "p" });
        await store.logMetrics(
          run.id,
          { loss: Number.NaN, up: Number.POSITIVE_INFINITY, down: -Infinity },
          0,
        );
        const got = await store.getRun(run.id);
        expect(got.metrics.loss).toBeNaN();
        expect(got.metrics.up).toBe(Number.POSITIVE_INFINITY);
        expect(got.metrics.down).toBe(Number.NEGATIVE_INFINITY);
        const [point] = await store.metricHistory(run.id, "loss");
        expect(point.value).toBeNaN();
      });

      it("artifacts are listed in order; logging a name again replaces it", async () => {
        const run = await store.createRun({ pipeline: "p" });
        const report = {
          name: "validation-report.json",
          hash: HASH_A,
          size: 120,
          mediaType: "application/json",
        };
        const bundle = { name: "bundle", hash: HASH_B, size: 5000, mediaType: "application/octet-stream" };
        await store.addArtifact(run.id, report);
        await store.addArtifact(run.id, bundle);
        expect((await store.getRun(run.id)).artifacts).toEqual([report, bundle]);
        const report2 = { ...report, hash: HASH_B, size: 130 };
        await store.addArtifact(run.id, report2);
        expect((await store.getRun(run.id)).artifacts).toEqual([report2, bundle]);
      });

      it("endRun records the status, the end time and the error", async () => {
        const ok = await store.createRun({ pipeline: "p" });
        const ended = await store.endRun(ok.id, "finished");
        expect(ended.status).toBe("finished");
        expect(Date.parse(ended.endedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(ok.startedAt));
        expect(ended.error).toBeUndefined();
        expect(await store.getRun(ok.id)).toEqual(ended);

        const bad = await store.createRun({ pipeline: "p" });
        const failed = await store.endRun(bad.id, "failed", { code: "NW_DATA_EMPTY", message: "no rows" });
        expect(failed).toMatchObject({
          status: "failed",
          error: { code: "NW_DATA_EMPTY", message: "no rows" },
        });
        expect((await store.getRun(bad.id)).error).toEqual({ code: "NW_DATA_EMPTY", message: "no rows" });

        const gated = await store.createRun({ pipeline: "p" });
        expect((await store.endRun(gated.id, "rejected")).status).toBe("rejected");
      });

      it("bad input is refused with NW_STORE_INVALID_ARGUMENT and changes nothing", async () => {
        const run = await store.createRun({ pipeline: "p", params: { lr: 0.1 } });
        await expectCode(store.createRun({ pipeline: "" }), "NW_STORE_INVALID_ARGUMENT");
        await expectCode(
          store.logParams(run.id, { lr: { nested: 1 } as unknown as number }),
          "NW_STORE_INVALID_ARGUMENT",
        );
        await expectCode(store.logParams(run.id, { lr: Number.NaN }), "NW_STORE_INVALID_ARGUMENT");
        await expectCode(
          store.logMetrics(run.id, { auc: "0.9" as unknown as number }),
          "NW_STORE_INVALID_ARGUMENT",
        );
        await expectCode(store.logMetrics(run.id, { auc: 0.9 }, -1), "NW_STORE_INVALID_ARGUMENT");
        await expectCode(store.logMetrics(run.id, { auc: 0.9 }, 1.5), "NW_STORE_INVALID_ARGUMENT");
        await expectCode(store.setTags(run.id, { a: 1 as unknown as string }), "NW_STORE_INVALID_ARGUMENT");
        await expectCode(
          store.addArtifact(run.id, { name: "bundle", hash: "abc", size: 1, mediaType: "x" }),
          "NW_STORE_INVALID_ARGUMENT",
        );
        await expectCode(store.endRun(run.id, "running" as "finished"), "NW_STORE_INVALID_ARGUMENT");
        await expectCode(store.listRuns({ limit: 0 }), "NW_STORE_INVALID_ARGUMENT");
        await expectCode(store.listRuns({ status: "done" as "finished" }), "NW_STORE_INVALID_ARGUMENT");
        expect(await store.getRun(run.id)).toEqual(run);
        expect(await store.metricHistory(run.id, "auc")).toEqual([]);
      });

      it("unknown runs are NW_STORE_NOT_FOUND", async () => {
        const missing = "20000101-000000-abcdef";
        const err = await expectCode(store.getRun(missing), "NW_STORE_NOT_FOUND");
        expect(err.message).toContain(missing);
        await expectCode(store.getRun("../../etc/passwd"), "NW_STORE_NOT_FOUND");
        await expectCode(store.logParams(missing, { a: 1 }), "NW_STORE_NOT_FOUND");
        await expectCode(store.logMetrics(missing, { a: 1 }, 0), "NW_STORE_NOT_FOUND");
        await expectCode(store.setTags(missing, { a: "1" }), "NW_STORE_NOT_FOUND");
        await expectCode(
          store.addArtifact(missing, { name: "bundle", hash: HASH_A, size: 1, mediaType: "x" }),
          "NW_STORE_NOT_FOUND",
        );
        await expectCode(store.endRun(missing, "finished"), "NW_STORE_NOT_FOUND");
        await expectCode(store.metricHistory(missing, "a"), "NW_STORE_NOT_FOUND");
        expect(await store.listRuns()).toEqual([]);
      });

      it("concurrent updates of one run lose nothing", async () => {
        const run = await store.createRun({ pipeline: "p" });
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            i % 2 === 0
              ? store.logMetrics(run.id, { [`m${i}`]: i, shared: i }, i)
              : store.logParams(run.id, { [`p${i}`]: i }),
          ),
        );
        const got = await store.getRun(run.id);
        expect(Object.keys(got.metrics).sort()).toEqual(
          ["shared", ...Array.from({ length: 10 }, (_, k) => `m${2 * k}`)].sort(),
        );
        expect(Object.keys(got.params).sort()).toEqual(
          Array.from({ length: 10 }, (_, k) => `p${2 * k + 1}`).sort(),
        );
        const shared = await store.metricHistory(run.id, "shared");
        expect(shared.map((p) => p.step)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
      });
    });

    describe("listRuns", () => {
      it("lists newest first, filtered by pipeline and status, up to the limit", async () => {
        const a = await store.createRun({ pipeline: "phishing" });
        await nextMillisecond();
        const b = await store.createRun({ pipeline: "unsw" });
        await nextMillisecond();
        const c = await store.createRun({ pipeline: "phishing" });
        await nextMillisecond();
        const d = await store.createRun({ pipeline: "phishing" });
        await store.endRun(b.id, "finished");
        await store.endRun(c.id, "failed", { code: "NW_INTERNAL", message: "boom" });

        const ids = async (filter?: Parameters<MetadataStore["listRuns"]>[0]) =>
          (await store.listRuns(filter)).map((r) => r.id);
        expect(await ids()).toEqual([d.id, c.id, b.id, a.id]);
        expect(await ids({ pipeline: "phishing" })).toEqual([d.id, c.id, a.id]);
        expect(await ids({ status: "failed" })).toEqual([c.id]);
        expect(await ids({ status: "running" })).toEqual([d.id, a.id]);
        expect(await ids({ pipeline: "phishing", status: "running" })).toEqual([d.id, a.id]);
        expect(await ids({ limit: 2 })).toEqual([d.id, c.id]);
        expect(await ids({ pipeline: "phishing", limit: 1 })).toEqual([d.id]);
        expect(await ids({ pipeline: "no-such-pipeline" })).toEqual([]);
        const [latest] = await store.listRuns({ status: "finished" });
        expect(latest).toEqual(await store.getRun(b.id));
      });

      it("returns 50 runs unless asked for more", async () => {
        const runs = await Promise.all(
          Array.from({ length: 52 }, () => store.createRun({ pipeline: "bulk" })),
        );
        expect(new Set(runs.map((r) => r.id)).size).toBe(52);
        expect(await store.listRuns()).toHaveLength(50);
        const all = await store.listRuns({ limit: 1000 });
        expect(all.map((r) => r.id).sort()).toEqual(runs.map((r) => r.id).sort());
        for (let i = 1; i < all.length; i++) expect(all[i - 1].startedAt >= all[i].startedAt).toBe(true);
      });
    });

    describe("registry", () => {
      it("numbers versions 1..n per model and keeps what was registered", async () => {
        const run = await store.createRun({ pipeline: "phishing" });
        const v1 = await register("phish", run.id, "first");
        const v2 = await store.registerVersion({
          model: "phish",
          runId: run.id,
          bundleHash: HASH_B,
          metrics: { auc: 0.98, f1: 0.95 },
          lineage: { ...LINEAGE, gitCommit: "abc1234", parentRunId: run.id },
        });
        const other = await register("unsw-nb15.multiclass_v2", run.id);
        expect([v1.version, v2.version, other.version]).toEqual([1, 2, 1]);
        expect(v1).toMatchObject({
          model: "phish",
          runId: run.id,
          bundleHash: HASH_A,
          metrics: { auc: 0.97 },
          lineage: LINEAGE,
          description: "first",
        });
        expect(v2.description).toBeUndefined();
        expect(v2.lineage).toEqual({ ...LINEAGE, gitCommit: "abc1234", parentRunId: run.id });
        expect(Date.parse(v2.createdAt)).toBeGreaterThanOrEqual(Date.parse(v1.createdAt));
        expect(await store.getVersion("phish", 2)).toEqual(v2);
        expect(await store.listVersions("phish")).toEqual([v1, v2]);
        expect(await store.listVersions("unsw-nb15.multiclass_v2")).toEqual([other]);
      });

      it("listModels summarises every model, by name", async () => {
        expect(await store.listModels()).toEqual([]);
        const run = await store.createRun({ pipeline: "p" });
        await register("unsw", run.id);
        await register("phish", run.id);
        await register("phish", run.id);
        const event = await store.setAlias("phish", "production", 1, { actor: "alice", reason: "first" });
        const models = await store.listModels();
        expect(models.map(({ updatedAt: _, ...m }) => m)).toEqual([
          { name: "phish", latestVersion: 2, aliases: { production: 1 } },
          { name: "unsw", latestVersion: 1, aliases: {} },
        ]);
        expect(models[0].updatedAt).toBe(event.at);
      });

      it("registration needs an existing run, a valid model name, a sha256 and a lineage", async () => {
        const run = await store.createRun({ pipeline: "p" });
        await expectCode(register("phish", "20000101-000000-abcdef"), "NW_STORE_NOT_FOUND");
        for (const bad of ["", "bad name", "-leading-dash", ".hidden", "a/b", "../escape", "x".repeat(129)]) {
          await expectCode(register(bad, run.id), "NW_STORE_INVALID_ARGUMENT");
        }
        await expectCode(
          store.registerVersion({
            model: "phish",
            runId: run.id,
            bundleHash: "abc",
            metrics: {},
            lineage: LINEAGE,
          }),
          "NW_STORE_INVALID_ARGUMENT",
        );
        await expectCode(
          store.registerVersion({
            model: "phish",
            runId: run.id,
            bundleHash: HASH_A,
            metrics: {},
            lineage: { configHash: "x" } as Lineage,
          }),
          "NW_STORE_INVALID_ARGUMENT",
        );
        expect(await store.listModels()).toEqual([]);
      });

      it("unknown models and versions are NW_STORE_NOT_FOUND", async () => {
        const run = await store.createRun({ pipeline: "p" });
        await register("phish", run.id);
        await register("phish", run.id);
        const err = await expectCode(store.listVersions("nope"), "NW_STORE_NOT_FOUND");
        expect(err.message).toContain("nope");
        await expectCode(store.getVersion("nope", 1), "NW_STORE_NOT_FOUND");
        await expectCode(store.getVersion("phish", 3), "NW_STORE_NOT_FOUND");
        await expectCode(store.getVersion("phish", 0), "NW_STORE_NOT_FOUND");
        await expectCode(store.getVersion("phish", 1.5), "NW_STORE_NOT_FOUND");
        await expectCode(store.aliasHistory("nope"), "NW_STORE_NOT_FOUND");
        await expectCode(store.resolveAlias("nope", "production"), "NW_STORE_NOT_FOUND");
        await expectCode(
          store.setAlias("nope", "production", 1, { actor: "a", reason: "r" }),
          "NW_STORE_NOT_FOUND",
        );
      });
    });

    describe("aliases", () => {
      it("setAlias creates and moves an alias, recording who, why, from and to", async () => {
        const run = await store.createRun({ pipeline: "p" });
        const v1 = await register("phish", run.id);
        const v2 = await register("phish", run.id);
        const e1 = await store.setAlias("phish", "production", 1, { actor: "alice", reason: "first model" });
        expect(e1).toMatchObject({
          model: "phish",
          alias: "production",
          to: 1,
          actor: "alice",
          reason: "first model",
        });
        expect(e1.from).toBeUndefined();
        expect(await store.resolveAlias("phish", "production")).toEqual(v1);
        const e2 = await store.setAlias("phish", "production", 2, { actor: "bob", reason: "better recall" });
        expect(e2).toMatchObject({ from: 1, to: 2, actor: "bob", reason: "better recall" });
        expect(Date.parse(e2.at)).toBeGreaterThanOrEqual(Date.parse(e1.at));
        expect(await store.resolveAlias("phish", "production")).toEqual(v2);
        const e3 = await store.setAlias("phish", "staging", 1, { actor: "ci", reason: "" });
        expect(await store.aliasHistory("phish")).toEqual([e1, e2, e3]);
        expect(await store.aliasHistory("phish", "production")).toEqual([e1, e2]);
        expect(await store.aliasHistory("phish", "canary")).toEqual([]);
        expect(await store.resolveAlias("phish", "canary")).toBeUndefined();
        // Names of Object.prototype members are ordinary, absent aliases.
        expect(await store.resolveAlias("phish", "constructor")).toBeUndefined();
      });

      it("deleteAlias removes it and records the deletion", async () => {
        const run = await store.createRun({ pipeline: "p" });
        await register("phish", run.id);
        await register("phish", run.id);
        await store.setAlias("phish", "production", 2, { actor: "alice", reason: "go" });
        const del = await store.deleteAlias("phish", "production", { actor: "bob", reason: "incident 42" });
        expect(del).toMatchObject({
          model: "phish",
          alias: "production",
          from: 2,
          actor: "bob",
          reason: "incident 42",
        });
        expect(del.to).toBeUndefined();
        expect(await store.resolveAlias("phish", "production")).toBeUndefined();
        expect((await store.listModels())[0].aliases).toEqual({});
        expect((await store.aliasHistory("phish", "production")).map((e) => [e.from, e.to])).toEqual([
          [undefined, 2],
          [2, undefined],
        ]);
        await expectCode(
          store.deleteAlias("phish", "production", { actor: "bob", reason: "again" }),
          "NW_STORE_NOT_FOUND",
        );
      });

      it("an alias cannot point to a missing version or have a bad name, and nothing changes", async () => {
        const run = await store.createRun({ pipeline: "p" });
        await register("phish", run.id);
        const ok = await store.setAlias("phish", "production", 1, { actor: "alice", reason: "go" });
        await expectCode(
          store.setAlias("phish", "production", 2, { actor: "alice", reason: "typo" }),
          "NW_STORE_NOT_FOUND",
        );
        await expectCode(
          store.setAlias("phish", "production", 0, { actor: "alice", reason: "typo" }),
          "NW_STORE_NOT_FOUND",
        );
        for (const bad of ["", "3", "bad alias", "-x"]) {
          await expectCode(
            store.setAlias("phish", bad, 1, { actor: "alice", reason: "r" }),
            "NW_STORE_INVALID_ARGUMENT",
          );
        }
        await expectCode(
          store.setAlias("phish", "production", 1, { actor: "", reason: "r" }),
          "NW_STORE_INVALID_ARGUMENT",
        );
        expect(await store.aliasHistory("phish")).toEqual([ok]);
        expect((await store.resolveAlias("phish", "production"))?.version).toBe(1);
      });
    });

    describe("concurrency", () => {
      it("concurrent registrations get distinct consecutive versions", async () => {
        const run = await store.createRun({ pipeline: "p" });
        const n = 24;
        const made = await Promise.all(
          Array.from({ length: n }, (_, i) => register("phish", run.id, `job-${i}`)),
        );
        expect(made.map((v) => v.version).sort((x, y) => x - y)).toEqual(
          Array.from({ length: n }, (_, i) => i + 1),
        );
        const stored = await store.listVersions("phish");
        expect(stored).toHaveLength(n);
        for (const v of made) expect(stored[v.version - 1]).toEqual(v);
      });

      it("concurrent alias moves leave one alias and an unbroken history", async () => {
        const run = await store.createRun({ pipeline: "p" });
        for (let i = 0; i < 5; i++) await register("phish", run.id);
        const rng = new Rng(42);
        const targets = Array.from({ length: 30 }, () => 1 + rng.int(5));
        const events = await Promise.all(
          targets.map((to, i) =>
            store.setAlias("phish", "production", to, { actor: `w${i}`, reason: `move ${i}` }),
          ),
        );
        const history = await store.aliasHistory("phish", "production");
        expect(history).toHaveLength(30);
        expect(history.map((e) => e.reason).sort()).toEqual(events.map((e) => e.reason).sort());
        expect(history[0].from).toBeUndefined();
        for (let i = 1; i < history.length; i++) expect(history[i].from).toBe(history[i - 1].to);
        for (const e of history) expect(e.to).toBe(targets[Number(e.reason.slice(5))]);
        expect((await store.resolveAlias("phish", "production"))?.version).toBe(history[29].to);
      });

      it("two promoters racing through separate handles leave a consistent registry and audit log", async () => {
        const other = await hooks.reopen(store);
        try {
          const run = await store.createRun({ pipeline: "p" });
          for (let i = 0; i < 3; i++) await register("phish", run.id);
          await store.setAlias("phish", "production", 1, { actor: "setup", reason: "first" });
          const rounds = 15;
          for (let i = 0; i < rounds; i++) {
            // Both promoters read the alias, then move it: the classic lost-update race.
            const [a, b] = await Promise.all([
              store.setAlias("phish", "production", 2, { actor: "alice", reason: `round ${i}` }),
              other.setAlias("phish", "production", 3, { actor: "bob", reason: `round ${i}` }),
            ]);
            expect([a.to, b.to].sort()).toEqual([2, 3]);
          }
          for (const handle of [store, other]) {
            const history = await handle.aliasHistory("phish", "production");
            expect(history).toHaveLength(1 + 2 * rounds);
            expect(history.filter((e) => e.actor === "alice")).toHaveLength(rounds);
            expect(history.filter((e) => e.actor === "bob")).toHaveLength(rounds);
            // Every move starts where the previous one ended: no write was lost or reordered.
            expect(history[0]).toMatchObject({ actor: "setup", to: 1 });
            expect(history[0].from).toBeUndefined();
            for (let i = 1; i < history.length; i++) {
              expect(history[i].from).toBe(history[i - 1].to);
              expect(Date.parse(history[i].at)).toBeGreaterThanOrEqual(Date.parse(history[i - 1].at));
            }
            const last = history[history.length - 1];
            expect((await handle.resolveAlias("phish", "production"))?.version).toBe(last.to);
            expect((await handle.listModels())[0]).toMatchObject({
              name: "phish",
              latestVersion: 3,
              aliases: { production: last.to },
            });
          }
        } finally {
          await other.close();
        }
      });

      it("registrations racing through separate handles get distinct consecutive versions", async () => {
        const other = await hooks.reopen(store);
        try {
          const run = await store.createRun({ pipeline: "p" });
          const made = await Promise.all(
            Array.from({ length: 16 }, (_, i) =>
              (i % 2 ? other : store).registerVersion({
                model: "phish",
                runId: run.id,
                bundleHash: HASH_A,
                metrics: { auc: i / 100 },
                lineage: LINEAGE,
                description: `job-${i}`,
              }),
            ),
          );
          expect(made.map((v) => v.version).sort((x, y) => x - y)).toEqual(
            Array.from({ length: 16 }, (_, i) => i + 1),
          );
          expect(await other.listVersions("phish")).toEqual(await store.listVersions("phish"));
          for (const v of made) expect(await other.getVersion("phish", v.version)).toEqual(v);
        } finally {
          await other.close();
        }
      });

      it("registrations and alias moves interleaved on one model stay consistent", async () => {
        const run = await store.createRun({ pipeline: "p" });
        await register("phish", run.id);
        const jobs: Promise<unknown>[] = [];
        for (let i = 0; i < 12; i++) {
          jobs.push(register("phish", run.id, `r${i}`));
          jobs.push(store.setAlias("phish", "staging", 1, { actor: "ci", reason: `s${i}` }));
        }
        await Promise.all(jobs);
        expect((await store.listVersions("phish")).map((v) => v.version)).toEqual(
          Array.from({ length: 13 }, (_, i) => i + 1),
        );
        expect(await store.aliasHistory("phish", "staging")).toHaveLength(12);
      });
    });
  });
}

export interface ArtifactConformanceHooks {
  /** Changes the stored bytes of `hash` behind the store's back (flip a byte, truncate). */
  corrupt(store: ArtifactStore, hash: string): Promise<void>;
}

export function artifactStoreConformance(
  name: string,
  makeStore: () => Promise<ArtifactStore>,
  hooks: ArtifactConformanceHooks,
): void {
  describe(`ArtifactStore conformance: ${name}`, () => {
    let store: ArtifactStore;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it("put returns the sha256 and size; get returns the same bytes", async () => {
      const put = await store.put(new TextEncoder().encode("abc"));
      // FIPS 180-2 test vector.
      expect(put).toEqual({
        hash: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        size: 3,
      });
      const got = await store.get(put.hash);
      expect(got).toBeInstanceOf(Uint8Array);
      expect(new TextDecoder().decode(got)).toBe("abc");
    });

    it("stores a real dataset file under its published sha256", async () => {
      const bytes = await readFile(join(dataDir(), "phishing_websites.csv"));
      const put = await store.put(bytes);
      expect(put).toEqual({ hash: PHISHING_SHA256, size: bytes.byteLength });
      const got = await store.get(PHISHING_SHA256);
      expect(Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), bytes)).toBe(0);
    });

    it("put is idempotent and has() tells what is stored", async () => {
      const bytes = new TextEncoder().encode('{"model":"gbm"}');
      const hash = sha256(bytes);
      expect(await store.has(hash)).toBe(false);
      const first = await store.put(bytes);
      expect(first).toEqual({ hash, size: 15 });
      const second = await store.put(bytes);
      expect(second).toEqual(first);
      expect(await store.has(first.hash)).toBe(true);
      expect(await store.has(HASH_A)).toBe(false);
      expect(new TextDecoder().decode(await store.get(first.hash))).toBe('{"model":"gbm"}');
    });

    it("stores the empty blob", async () => {
      const put = await store.put(new Uint8Array(0));
      expect(put).toEqual({
        hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        size: 0,
      });
      expect((await store.get(put.hash)).byteLength).toBe(0);
    });

    it("keeps its own copy of the bytes", async () => {
      const bytes = new Uint8Array([1, 2, 3, 4]);
      const { hash } = await store.put(bytes);
      bytes[0] = 99;
      expect(Array.from(await store.get(hash))).toEqual([1, 2, 3, 4]);
    });

    it("a missing blob is NW_STORE_NOT_FOUND; a malformed hash is NW_STORE_INVALID_ARGUMENT", async () => {
      const err = await expectCode(store.get(HASH_B), "NW_STORE_NOT_FOUND");
      expect(err.message).toContain(HASH_B);
      for (const bad of ["abc", HASH_A.toUpperCase(), "../../etc/passwd", `${HASH_A}0`]) {
        await expectCode(store.get(bad), "NW_STORE_INVALID_ARGUMENT");
        await expectCode(store.has(bad), "NW_STORE_INVALID_ARGUMENT");
      }
      await expectCode(store.put("text" as unknown as Uint8Array), "NW_STORE_INVALID_ARGUMENT");
    });

    it("detects changed bytes, and putting the original again repairs them", async () => {
      const bytes = await readFile(join(dataDir(), "phishing_websites.csv"));
      const { hash } = await store.put(bytes);
      await hooks.corrupt(store, hash);
      const err = await expectCode(store.get(hash), "NW_STORE_CORRUPT");
      expect(err.message).toContain(hash);
      expect(err.hint).toMatch(/re-run training|backup/i);
      await store.put(bytes);
      expect((await store.get(hash)).byteLength).toBe(bytes.byteLength);
    });

    it("named objects: put replaces, get returns, list filters by prefix in key order", async () => {
      const enc = (t: string) => new TextEncoder().encode(t);
      await store.putObject("predictions/phish/2026-11-21/000002.jsonl", enc("b"));
      await store.putObject("predictions/phish/2026-11-21/000001.jsonl", enc("a"));
      await store.putObject("predictions/phishing/2026-11-21/000001.jsonl", enc("c"));
      await store.putObject("reports/drift.json", enc("{}"));
      await store.putObject("predictions/phish/2026-11-21/000001.jsonl", enc("a2"));
      expect(
        new TextDecoder().decode(await store.getObject("predictions/phish/2026-11-21/000001.jsonl")),
      ).toBe("a2");
      expect(await store.listObjects("predictions/phish/")).toEqual([
        "predictions/phish/2026-11-21/000001.jsonl",
        "predictions/phish/2026-11-21/000002.jsonl",
      ]);
      expect(await store.listObjects("predictions/phish")).toHaveLength(3);
      expect(await store.listObjects("")).toHaveLength(4);
      expect(await store.listObjects("nothing/here/")).toEqual([]);
      await expectCode(store.getObject("reports/none.json"), "NW_STORE_NOT_FOUND");
      for (const bad of ["../escape", "/abs", "a//b", "a/../b", ""]) {
        await expectCode(store.putObject(bad, enc("x")), "NW_STORE_INVALID_ARGUMENT");
      }
    });
  });
}
