import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePipelineConfig } from "../config/index.js";
import { dataDir, silentProgress } from "../core/index.js";
import { readCsv } from "../data/index.js";
import { runTraining } from "../pipeline/index.js";
import { openStores, type Stores } from "../store/index.js";
import { createServer, type NetwardenServer } from "./server.js";

const REPO = join(import.meta.dirname, "..", "..");
const CSV = join(dataDir(), "phishing_websites.csv");

function smallConfig(): string {
  return readFileSync(join(REPO, "examples", "phishing.yaml"), "utf8")
    .replace(/^data:\n {2}path: .*\n/m, `data:\n  path: ${CSV}\n`)
    .replace(
      /^models:\n(?: {2}.*\n| {4}.*\n)+/m,
      "models:\n  - kind: gbdt\n    params: { n_estimators: 30, max_depth: 5, n_threads: 1 }\n",
    )
    .replace(/^search:\n(?: {2}.*\n)+/m, "search:\n  cv_folds: 2\n")
    .replace(/^ {2}min: 0\.95$/m, "  min: 0.9");
}

let stores: Stores;
let server: NetwardenServer;
let records: Record<string, number | string | null>[];

beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), "nw-serve-"));
  stores = await openStores({ root: home });
  const loaded = parsePipelineConfig(smallConfig(), join(home, "p.yaml"), {});
  const ctx = { ...stores, progress: silentProgress, actor: "test" };
  const first = await runTraining(loaded, ctx);
  await runTraining(loaded, ctx);
  await stores.metadata.setAlias("phishing", "production", first.version as number, {
    actor: "test",
    reason: "test",
  });
  server = await createServer({ ...stores, pollMs: 0, logger: false });
  const sample = await readCsv(CSV, { limit: 5 });
  records = [0, 1, 2, 3, 4].map((i) => {
    const r = sample.table.row(i);
    delete r.Result;
    return r;
  });
});

afterAll(async () => {
  await server.close();
});

const post = (url: string, payload: unknown) =>
  server.app.inject({ method: "POST", url, payload: payload as Record<string, unknown> });

describe("prediction server", () => {
  it("answers health and readiness", async () => {
    expect((await server.app.inject({ url: "/healthz" })).json()).toEqual({ status: "ok" });
    const ready = await server.app.inject({ url: "/readyz" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true, models: [{ name: "phishing", version: 1 }] });
  });

  it("predicts one record: label, class probabilities, model version", async () => {
    const res = await post("/v1/models/phishing/predict", records[0]);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ model: "phishing", version: 1 });
    expect(res.headers["x-request-id"]).toBe(body.request_id);
    const [p] = body.predictions;
    expect(p.label).toBe("-1"); // the first row of the file is a phishing site
    expect(p.class_name).toBe("phishing");
    expect(p.probabilities["-1"] + p.probabilities["1"]).toBeCloseTo(1, 12);
    expect(p.probabilities["-1"]).toBeGreaterThan(0.5);
  });

  it("scores a batch exactly as the bundle does on the same rows (no train/serve skew)", async () => {
    const res = await post("/v1/models/phishing/predict", { records });
    expect(res.statusCode).toBe(200);
    const served = res.json().predictions;
    const bundle = server.holder.get("phishing")!.bundle;
    const sample = await readCsv(CSV, { limit: 5 });
    const direct = bundle.predictTable(sample.table);
    expect(served.map((p: { probabilities: unknown }) => p.probabilities)).toEqual(
      direct.map((p) => p.probabilities),
    );
  });

  it("names the record, field and problem of invalid input", async () => {
    const missing = { ...records[0] };
    delete missing.SSLfinal_State;
    const a = await post("/v1/models/phishing/predict", { records: [records[1], missing] });
    expect(a.statusCode).toBe(400);
    expect(a.json().error.code).toBe("NW_SERVE_INVALID_RECORD");
    expect(a.json().error.message).toContain("record 1, field `SSLfinal_State`: is missing");
    const wrong = await post("/v1/models/phishing/predict", { ...records[0], URL_Length: "long" });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.message).toContain('field `URL_Length`: must be a number, got "long"');
    const notObj = await post("/v1/models/phishing/predict", { records: [42] });
    expect(notObj.json().error.message).toContain("record 0, field `(record)`: must be an object");
  });

  it("gives coded 4xx errors for malformed requests and unknown models or routes", async () => {
    const broken = await server.app.inject({
      method: "POST",
      url: "/v1/models/phishing/predict",
      headers: { "content-type": "application/json" },
      payload: '{"records": [',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe("NW_SERVE_BAD_REQUEST");
    expect(broken.body).not.toMatch(/\/work\/|at .*\.js/);
    const list = await post("/v1/models/phishing/predict", [1, 2]);
    expect(list.json().error.code).toBe("NW_SERVE_BAD_REQUEST");
    const empty = await post("/v1/models/phishing/predict", { records: [] });
    expect(empty.json().error.code).toBe("NW_SERVE_BAD_REQUEST");
    const unknown = await post("/v1/models/nope/predict", records[0]);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe("NW_SERVE_MODEL_NOT_FOUND");
    const route = await server.app.inject({ url: "/v2/whatever" });
    expect(route.statusCode).toBe(404);
    expect(route.json().error.code).toBe("NW_SERVE_NOT_FOUND");
  });

  it("follows alias moves, and never swaps in a bundle that fails to load", async () => {
    await stores.metadata.setAlias("phishing", "production", 2, { actor: "test", reason: "test" });
    expect(await server.holder.refresh("phishing")).toBe(true);
    expect((await post("/v1/models/phishing/predict", records[0])).json().version).toBe(2);

    // A version whose bundle is not a bundle: registered, promoted, but never served.
    const { hash } = await stores.artifacts.put(Buffer.from('{"format":"something else"}'));
    const runId = (await stores.metadata.listRuns())[0].id;
    const bad = await stores.metadata.registerVersion({
      model: "phishing",
      runId,
      bundleHash: hash,
      metrics: {},
      lineage: { dataFingerprint: "x", configHash: "y", codeVersion: "0" },
    });
    await stores.metadata.setAlias("phishing", "production", bad.version, { actor: "test", reason: "test" });
    await server.holder.loadAll();
    expect(server.holder.get("phishing")?.version).toBe(2);
    expect((await post("/v1/models/phishing/predict", records[0])).statusCode).toBe(200);
    // A refused bundle is not tried again on every poll; concurrent refreshes do not race.
    await Promise.all([
      server.holder.loadAll(),
      server.holder.refresh("phishing"),
      server.holder.refresh("phishing"),
    ]);
    const metrics = (await server.app.inject({ url: "/metrics" })).body;
    expect(metrics).toContain('netwarden_model_load_events_total{model="phishing",result="failed"} 1');
    expect(metrics).toContain('netwarden_model_load_events_total{model="phishing",result="loaded"} 2');
    expect(metrics).toContain('netwarden_served_model_version{model="phishing"} 2');
  });

  it("describes a served model", async () => {
    const res = await server.app.inject({ url: "/v1/models/phishing" });
    const body = res.json();
    expect(body.inputs).toHaveLength(30);
    expect(body.target).toMatchObject({ name: "Result", classes: ["-1", "1"], positiveClass: "-1" });
    expect(body.lineage.dataFingerprint).toMatch(/^[0-9a-f]{64}$/);
  });
});
