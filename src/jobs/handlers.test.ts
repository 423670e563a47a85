import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { dataDir } from "../core/index.js";
import { readCsv, type Table } from "../data/index.js";
import { SegmentLogSink } from "../monitor/index.js";
import { type Bundle, decodeBundle, REFERENCE_ARTIFACT } from "../pipeline/index.js";
import { type ArtifactStore, type MetadataStore, openStores } from "../store/index.js";
import type { BatchScoreJobResult } from "./batch-score.js";
import type { DriftCheckJobResult } from "./drift-check.js";
import type { EvaluateJobResult } from "./evaluate.js";
import { jobHandlers } from "./handlers.js";
import { InProcessJobQueue } from "./in-process.js";
import { writePhishingConfig } from "./test-support/phishing.js";
import type { JobQueue, JobRecord } from "./types.js";

const CSV = join(dataDir(), "phishing_websites.csv");

/** The phishing CSV with `edit` applied to each data row (cells as text, header kept). */
function editedCsv(
  dir: string,
  name: string,
  edit: (cells: string[], i: number) => string[] | null,
  editHeader: (names: string[]) => string[] = (names) => names,
): string {
  const [header, ...rows] = readFileSync(CSV, "utf8").trimEnd().split("\n");
  const out = [editHeader(header.split(",")).join(",")];
  rows.forEach((r, i) => {
    const cells = edit(r.split(","), i);
    if (cells) out.push(cells.join(","));
  });
  const file = join(dir, name);
  writeFileSync(file, `${out.join("\n")}\n`);
  return file;
}

describe("evaluate, batch-score and drift-check jobs (embedded stores, UCI phishing data)", () => {
  let home: string;
  let metadata: MetadataStore;
  let artifacts: ArtifactStore;
  let queue: JobQueue;
  let bundle: Bundle;
  let trainRunId: string;
  const header = readFileSync(CSV, "utf8").split("\n")[0].split(",");
  const col = (name: string) => header.indexOf(name);

  const run = async (type: string, payload: Record<string, unknown>): Promise<JobRecord> =>
    queue.wait((await queue.submit(type, payload)).id);
  const ok = async <T>(type: string, payload: Record<string, unknown>): Promise<T> => {
    const job = await run(type, payload);
    expect(job.error).toBeUndefined();
    expect(job.status).toBe("succeeded");
    return job.result as T;
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "nw-jobs-handlers-"));
    ({ metadata, artifacts } = await openStores({ root: home }));
    const ssl = col("SSLfinal_State");
    const configs: Record<string, string> = {
      phishing: writePhishingConfig(home),
      // Every site's SSL state flipped to "phishing": a feature that has clearly drifted.
      shifted: writePhishingConfig(
        home,
        editedCsv(home, "shifted.csv", (c) => {
          c[ssl] = "-1";
          return c;
        }),
        "shifted.yaml",
      ),
      // No label column and one bad cell: what batch scoring of fresh traffic looks like.
      unlabelled: writePhishingConfig(
        home,
        editedCsv(
          home,
          "unlabelled.csv",
          (c, i) => {
            const row = c.slice(0, -1);
            if (i === 7) row[ssl] = "abc";
            return row;
          },
          (names) => names.slice(0, -1),
        ),
        "unlabelled.yaml",
      ),
    };
    // A third class the binary model never saw (allowed by this config's schema).
    const three = editedCsv(home, "three.csv", (c, i) => {
      if (i % 50 === 0) c[c.length - 1] = "0";
      return c;
    });
    configs.three = writePhishingConfig(home, three, "three.yaml");
    writeFileSync(
      configs.three,
      readFileSync(configs.three, "utf8").replace(
        "Result: { role: target, type: categorical, allowed: [-1, 1] }",
        "Result: { role: target, type: categorical }",
      ),
    );
    queue = new InProcessJobQueue(jobHandlers({ metadata, artifacts, configs, actor: "test" }));
    const trained = await ok<{ runId: string; version: number }>("train", { config: "phishing" });
    expect(trained.version).toBe(1);
    trainRunId = trained.runId;
    bundle = decodeBundle(await artifacts.get((await metadata.getVersion("phishing", 1)).bundleHash));
  });

  it("training stores a reference sample of the train split", async () => {
    const r = await metadata.getRun(trainRunId);
    const ref = r.artifacts.find((a) => a.name === REFERENCE_ARTIFACT);
    expect(ref).toBeDefined();
    const body = JSON.parse(Buffer.from(await artifacts.get(ref!.hash)).toString("utf8"));
    // 80% of 11,055 rows: below the 10,000-row cap, so the whole train split.
    expect(body.rows).toBe(8844);
    expect(body.sampledFrom).toBe(8844);
    expect(body.columns.map((c: { name: string }) => c.name)).toEqual(
      bundle.manifest.inputs.map((i) => i.name),
    );
  });

  it("evaluate on the test split reproduces the training metrics and records a run", async () => {
    const r = await ok<EvaluateJobResult>("evaluate", { model: "phishing", version: 1, config: "phishing" });
    expect(r.rows).toBe(2211);
    expect(r.metrics["eval.accuracy"]).toBe(bundle.manifest.metrics["test.accuracy"]);
    expect(r.metrics["eval.f1_macro"]).toBe(bundle.manifest.metrics["test.f1_macro"]);
    expect(r.change["eval.accuracy"]).toBe(0);
    const evalRun = await metadata.getRun(r.runId);
    expect(evalRun).toMatchObject({
      status: "finished",
      parentRunId: trainRunId,
      tags: { job_type: "evaluate", model: "phishing", model_version: "1" },
      params: { split: "test", config: "phishing" },
    });
    expect(evalRun.metrics["eval.accuracy"]).toBe(r.metrics["eval.accuracy"]);
    expect(evalRun.artifacts.map((a) => a.name)).toEqual(["evaluation.json"]);

    const all = await ok<EvaluateJobResult>("evaluate", {
      model: "phishing",
      alias: "candidate",
      config: "phishing",
      split: "all",
    });
    expect(all.rows).toBe(11055);
    expect(all.metrics["eval.accuracy"]).toBeGreaterThan(0.9);
  });

  it("evaluate refuses data with a class the model never learned", async () => {
    const job = await run("evaluate", { model: "phishing", version: 1, config: "three", split: "all" });
    expect(job.status).toBe("failed");
    expect(job.error).toMatchObject({ code: "NW_JOB_UNSEEN_CLASS" });
    expect(job.error?.message).toContain('"0"');
    const runs = await metadata.listRuns({ pipeline: "phishing", limit: 100 });
    // The job failed before it recorded anything.
    expect(runs.filter((x) => x.tags.job_type === "evaluate" && x.status !== "finished")).toEqual([]);
  });

  it("batch-score writes every valid row's prediction to the artifact store and quarantines bad rows", async () => {
    const r = await ok<BatchScoreJobResult>("batch-score", {
      model: "phishing",
      version: 1,
      config: "unlabelled",
      key: "exports/phishing-scores.csv",
    });
    expect(r).toMatchObject({ rows: 11055, scored: 11054, invalid: 1, key: "exports/phishing-scores.csv" });
    expect(r.labels["-1"] + r.labels["1"]).toBe(11054);
    const bytes = await artifacts.getObject(r.key);
    expect(Buffer.from(await artifacts.get(r.hash)).equals(Buffer.from(bytes))).toBe(true);
    const file = join(home, "scores.csv");
    writeFileSync(file, bytes);
    const scored = await readCsv(file);
    expect(scored.header).toEqual(["row", "label", "class_name", "p_-1", "p_1"]);
    expect(scored.table.nRows).toBe(11054);
    // Row 7 was invalid; the rows around it keep their own row numbers.
    const rows = scored.table.numeric("row").values;
    expect([rows[6], rows[7]]).toEqual([6, 8]);
    // Predictions agree with the bundle on the original rows.
    const original = (await readCsv(CSV)).table as Table;
    const expected = bundle.predictTable(original.take([0, 1, 8, 11054]));
    const p1 = scored.table.numeric("p_1").values;
    expect([p1[0], p1[1], p1[7], p1[11053]]).toEqual(expected.map((e) => e.probabilities["1"]));
    const runRecord = await metadata.getRun(r.runId);
    expect(runRecord.artifacts.map((a) => a.name).sort()).toEqual(["quarantine.jsonl", "scores.csv"]);
    const quarantine = runRecord.artifacts.find((a) => a.name === "quarantine.jsonl")!;
    const line = JSON.parse(Buffer.from(await artifacts.get(quarantine.hash)).toString("utf8"));
    expect(line).toMatchObject({ source: "unlabelled.csv", row: 7 });
  });

  it("drift-check finds no drift in the training data and flags a shifted feature", async () => {
    const same = await ok<DriftCheckJobResult>("drift-check", {
      model: "phishing",
      version: 1,
      config: "phishing",
    });
    expect(same.current).toEqual({ source: "config phishing (all)", rows: 11055 });
    expect(same.reference).toEqual({ rows: 8844, sampledFrom: 8844 });
    expect(same.nDrifted).toBe(0);
    expect(same.features).toHaveLength(30);
    expect(same.prediction.drifted).toBe(false);
    expect(same.prediction.psi).toBeLessThan(0.01);

    const shifted = await ok<DriftCheckJobResult>("drift-check", {
      model: "phishing",
      version: 1,
      config: "shifted",
    });
    expect(shifted.drifted).toEqual(["SSLfinal_State"]);
    expect(shifted.features[0]).toMatchObject({ column: "SSLfinal_State", drifted: true });
    expect(shifted.features[0].psi).toBeGreaterThan(1);
    // With SSL flipped to "phishing", the model calls many more sites phishing.
    expect(shifted.prediction.drifted).toBe(true);
    const phishing = shifted.prediction.shares["-1"];
    expect(phishing.current).toBeGreaterThan(phishing.reference + 0.1);
    const record = await metadata.getRun(shifted.runId);
    expect(record.metrics["drift.n_drifted"]).toBe(1);
    expect(record.artifacts.map((a) => a.name)).toEqual(["drift.json"]);
  });

  it("drift-check reads the model's prediction log by default", async () => {
    const empty = await run("drift-check", { model: "phishing", version: 1 });
    expect(empty.error).toMatchObject({ code: "NW_DRIFT_NO_DATA" });

    // What the server logs: the inputs it was sent. Here, the first 3,000 rows with SSL flipped.
    const original = (await readCsv(CSV)).table;
    const idx = Array.from({ length: 3000 }, (_, i) => i);
    const sent = original.take(idx).select(bundle.manifest.inputs.map((i) => i.name));
    const ssl = sent.numeric("SSLfinal_State").values;
    for (let i = 0; i < ssl.length; i++) ssl[i] = -1;
    const sink = new SegmentLogSink(artifacts, { flushMs: 60_000, segmentRows: 1000 });
    const proba = bundle.predictProba(sent);
    sink.offer({
      model: "phishing",
      version: 1,
      requestId: "req-1",
      time: new Date().toISOString(),
      latencyMs: 1,
      classes: bundle.classes,
      features: sent,
      proba,
      start: 0,
      count: sent.nRows,
    });
    await sink.close();

    const r = await ok<DriftCheckJobResult>("drift-check", { model: "phishing", version: 1, max_rows: 2500 });
    expect(r.current).toEqual({ source: "prediction log", rows: 2500 });
    expect(r.drifted).toContain("SSLfinal_State");
    expect(r.features[0].column).toBe("SSLfinal_State");
    expect(r.prediction.drifted).toBe(true);
    expect(r.prediction.shares["-1"].current).toBeGreaterThan(r.prediction.shares["-1"].reference);
  });

  it("answers coded errors for bad payloads, unknown aliases and models without a reference", async () => {
    const cases: [string, Record<string, unknown>, string, string][] = [
      ["evaluate", { model: "phishing", config: "phishing", splt: "test" }, "NW_JOB_INVALID", "payload.splt"],
      [
        "evaluate",
        { model: "phishing", config: "phishing", split: "half" },
        "NW_JOB_INVALID",
        "payload.split",
      ],
      ["evaluate", { config: "phishing" }, "NW_JOB_INVALID", "payload.model"],
      ["batch-score", { model: "phishing", config: "nope" }, "NW_JOB_INVALID", "payload.config"],
      ["drift-check", { model: "phishing", alias: "production" }, "NW_STORE_NOT_FOUND", "payload.alias"],
      [
        "drift-check",
        { model: "phishing", version: 1, alias: "candidate" },
        "NW_JOB_INVALID",
        "payload.version",
      ],
      ["drift-check", { model: "phishing", version: 1, from: "yesterday" }, "NW_JOB_INVALID", "payload.from"],
      ["drift-check", { model: "phishing", version: 1, psi: -1 }, "NW_JOB_INVALID", "payload.psi"],
    ];
    for (const [type, payload, code, where] of cases) {
      const job = await run(type, payload);
      expect(job.status, JSON.stringify(payload)).toBe("failed");
      expect(job.error?.code, JSON.stringify(payload)).toBe(code);
      expect(JSON.stringify(job.error), JSON.stringify(payload)).toContain(where);
    }

    // A version whose run has no reference sample (as runs from before reference samples).
    const bare = await metadata.createRun({ pipeline: "phishing" });
    await metadata.endRun(bare.id, "finished");
    const v = await metadata.registerVersion({
      model: "phishing",
      runId: bare.id,
      bundleHash: (await metadata.getVersion("phishing", 1)).bundleHash,
      metrics: {},
      lineage: bundle.manifest.lineage,
    });
    const job = await run("drift-check", { model: "phishing", version: v.version, config: "phishing" });
    expect(job.error).toMatchObject({ code: "NW_DRIFT_NO_REFERENCE" });
  });
});
