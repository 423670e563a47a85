import { gzipSync } from "node:zlib";
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPredictionLog } from "../monitor/index.js";
import type { Stores } from "../store/index.js";
import { createApiKey } from "./auth.js";
import { createServer, type NetwardenServer, type ServerOptions } from "./server.js";
import { gbdt, logreg, phishingCsv, phishingRecords, phishingStore } from "./test-support/fixtures.js";

let stores: Stores;
let server: NetwardenServer;
let records: Record<string, number | string | null>[];
const opened: NetwardenServer[] = [];
const admin = createApiKey("admin");
const predictKey = createApiKey("predict");

async function open(config: ServerOptions["config"] = {}): Promise<NetwardenServer> {
  const s = await createServer({ ...stores, logger: false, config: { poll_ms: 0, ...config } });
  opened.push(s);
  return s;
}

beforeAll(async () => {
  ({ stores } = await phishingStore([gbdt(30), gbdt(10), logreg]));
  await stores.metadata.setAlias("phishing", "linear", 3, { actor: "test", reason: "test" });
  server = await open({ auth: { keys: [admin.hash, predictKey.hash] } });
  records = await phishingRecords(50);
});

afterAll(async () => {
  for (const s of opened) await s.close();
});

const call = (opts: InjectOptions, s = server) => s.app.inject(opts);
const post = (url: string, payload: unknown, s = server) =>
  s.app.inject({ method: "POST", url, payload: payload as Record<string, unknown> });
const probs = (body: { predictions: { probabilities: Record<string, number> }[] }) =>
  body.predictions.map((p) => p.probabilities["-1"]);

describe("JSON predictions", () => {
  it("answers the same probabilities for records, columnar rows and one record at a time", async () => {
    const byRecords = (await post("/v1/models/phishing/predict", { records })).json();
    const columns = Object.keys(records[0]);
    const data = records.map((r) => columns.map((c) => r[c]));
    const byColumns = (await post("/v1/models/phishing/predict", { columns, data })).json();
    expect(probs(byColumns)).toEqual(probs(byRecords));
    // Concurrent single-record requests are scored together; each still gets its own row.
    const singles = await Promise.all(
      records.slice(0, 20).map((r) => post("/v1/models/phishing/predict", r)),
    );
    expect(singles.map((r) => probs(r.json())[0])).toEqual(probs(byRecords).slice(0, 20));
    const bundle = server.holder.get("phishing")!.bundle;
    const direct = bundle.predictTable(bundle.recordsToTable(records));
    expect(probs(byRecords)).toEqual(direct.map((p) => p.probabilities["-1"]));
  });

  it("gives each request of a batch its own error when one of them is invalid", async () => {
    const bad = { ...records[3], SSLfinal_State: "high" };
    const answers = await Promise.all([
      post("/v1/models/phishing/predict", records[0]),
      post("/v1/models/phishing/predict", { records: [records[1], bad] }),
      post("/v1/models/phishing/predict", records[2]),
    ]);
    expect(answers.map((a) => a.statusCode)).toEqual([200, 400, 200]);
    expect(answers[1].json().error.message).toContain(
      'record 1, field `SSLfinal_State`: must be a number, got "high"',
    );
  });

  it("refuses values outside a feature's allowed list, or scores them with unknown_values: unknown", async () => {
    const odd = { ...records[0], URL_Length: 5 };
    const res = await post("/v1/models/phishing/predict", { records: [records[1], odd] });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("NW_SERVE_INVALID_RECORD");
    expect(res.json().error.message).toContain(
      "record 1, field `URL_Length`: 5 is not an allowed value (-1, 0, 1)",
    );
    const lenient = await open({ unknown_values: "unknown" });
    expect((await post("/v1/models/phishing/predict", odd, lenient)).statusCode).toBe(200);
  });

  it("limits the records per request", async () => {
    const small = await open({ limits: { records: 10 } });
    const res = await post("/v1/models/phishing/predict", { records: records.slice(0, 11) }, small);
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe("NW_SERVE_PAYLOAD_TOO_LARGE");
  });

  it("explains with TreeSHAP: contributions add up to the log-odds, top-k by size", async () => {
    const res = await post("/v1/models/phishing/predict?explain=true&top_k=30", records[0]);
    const [p] = res.json().predictions;
    const ex = p.explanation;
    expect(ex.class).toBe("1");
    expect(ex.contributions).toHaveLength(30);
    const total = ex.contributions.reduce((s: number, c: { contribution: number }) => s + c.contribution, 0);
    const p1 = p.probabilities["1"];
    expect(ex.expected_value + total).toBeCloseTo(Math.log(p1 / (1 - p1)), 6);
    const sizes = ex.contributions.map((c: { contribution: number }) => Math.abs(c.contribution));
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    expect(ex.contributions[0].value).toBe(records[0][ex.contributions[0].feature]);
    const top3 = (await post("/v1/models/phishing/predict?explain=true&top_k=3", records[0])).json();
    expect(top3.predictions[0].explanation.contributions).toEqual(ex.contributions.slice(0, 3));
  });

  it("answers a coded 400 when the model family has no explanations", async () => {
    const linear = await open({ alias: "linear" });
    const plain = await post("/v1/models/phishing/predict", records[0], linear);
    expect(plain.json().version).toBe(3);
    const res = await post("/v1/models/phishing/predict?explain=true", records[0], linear);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: "NW_SERVE_NO_EXPLANATIONS" });
    expect(res.json().error.message).toContain("logreg");
  });
});

describe("CSV scoring", () => {
  const csv = phishingCsv(50);
  const url = "/v1/models/phishing/predict/csv";

  it("scores a CSV body like the JSON route, as JSON, NDJSON, CSV or an HTML table", async () => {
    const expected = probs((await post("/v1/models/phishing/predict", { records })).json());
    const json = await call({ method: "POST", url, payload: csv, headers: { "content-type": "text/csv" } });
    expect(json.statusCode).toBe(200);
    expect(json.json().rows).toBe(50);
    expect(json.json().version).toBe(1);
    expect(probs(json.json())).toEqual(expected);

    const nd = await call({
      method: "POST",
      url: `${url}?format=ndjson`,
      payload: csv,
      headers: { "content-type": "text/csv" },
    });
    const lines = nd.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.probabilities["-1"])).toEqual(expected);
    expect(lines[49].row).toBe(49);

    const asCsv = await call({
      method: "POST",
      url,
      payload: csv,
      headers: { "content-type": "text/csv", accept: "text/csv" },
    });
    expect(asCsv.headers["content-type"]).toContain("text/csv");
    const rows = asCsv.body.trim().split("\n");
    expect(rows[0]).toBe("row,label,class_name,p_-1,p_1");
    expect(rows).toHaveLength(51);
    expect(Number(rows[1].split(",")[3])).toBe(expected[0]);

    const html = await call({
      method: "POST",
      url,
      payload: csv,
      headers: { "content-type": "text/csv", accept: "text/html" },
    });
    expect(html.headers["content-type"]).toContain("text/html");
    expect(html.body.match(/<tr>/g)).toHaveLength(51);
    expect(html.body).toContain("<th>SSLfinal_State</th>");
  });

  it("takes gzip bodies and multipart uploads", async () => {
    const expected = probs((await post("/v1/models/phishing/predict", { records })).json());
    const gz = await call({
      method: "POST",
      url,
      payload: gzipSync(csv),
      headers: { "content-type": "text/csv", "content-encoding": "gzip" },
    });
    expect(probs(gz.json())).toEqual(expected);
    const boundary = "----nwtest";
    const form = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="sites.csv"\r\nContent-Type: text/csv\r\n\r\n`,
      ),
      Buffer.from(csv),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const up = await call({
      method: "POST",
      url,
      payload: form,
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    });
    expect(up.statusCode).toBe(200);
    expect(probs(up.json())).toEqual(expected);
  });

  it("answers coded 4xx errors for bad files, formats, types and limits", async () => {
    const lines = csv.split("\n");
    const badCell = [lines[0], lines[1], lines[2].replace(/^-?1,/, "x,"), ""].join("\n");
    const cell = await call({
      method: "POST",
      url,
      payload: badCell,
      headers: { "content-type": "text/csv" },
    });
    expect(cell.statusCode).toBe(400);
    expect(cell.json().error.message).toContain("line 3, column `having_IP_Address`: not a number");
    const noCol = lines.map((l) => l.split(",").slice(1).join(",")).join("\n");
    const missing = await call({
      method: "POST",
      url,
      payload: noCol,
      headers: { "content-type": "text/csv" },
    });
    expect(missing.json().error.code).toBe("NW_SCHEMA_MISSING_COLUMN");
    const fmt = await call({
      method: "POST",
      url: `${url}?format=xml`,
      payload: csv,
      headers: { "content-type": "text/csv" },
    });
    expect([fmt.statusCode, fmt.json().error.code]).toEqual([406, "NW_SERVE_NOT_ACCEPTABLE"]);
    const json = await post(url, { records });
    expect([json.statusCode, json.json().error.code]).toEqual([415, "NW_SERVE_UNSUPPORTED_MEDIA_TYPE"]);
    const small = await open({ limits: { csv_rows: 10, csv_chunk_rows: 1024 } });
    const many = await call(
      { method: "POST", url, payload: csv, headers: { "content-type": "text/csv" } },
      small,
    );
    expect([many.statusCode, many.json().error.code]).toEqual([413, "NW_SERVE_TOO_MANY_ROWS"]);
    const br = await call({
      method: "POST",
      url,
      payload: csv,
      headers: { "content-type": "text/csv", "content-encoding": "br" },
    });
    expect(br.statusCode).toBe(415);
  });
});

describe("MLflow and Open Inference Protocol v2 compatibility", () => {
  it("answers the MLflow scoring protocol's documented request forms", async () => {
    const three = records.slice(0, 3);
    const expected = (await post("/v1/models/phishing/predict", { records: three }))
      .json()
      .predictions.map((p: { label: string }) => Number(p.label));
    const columns = Object.keys(three[0]);
    const bodies = [
      { dataframe_split: { columns, data: three.map((r) => columns.map((c) => r[c])) } },
      { dataframe_split: { index: [0, 1, 2], columns, data: three.map((r) => columns.map((c) => r[c])) } },
      { dataframe_records: three },
      { instances: three },
      { instances: three.map((r) => columns.map((c) => r[c])) },
      { inputs: Object.fromEntries(columns.map((c) => [c, three.map((r) => r[c])])) },
    ];
    for (const body of bodies) {
      const res = await post("/invocations", body);
      expect(res.statusCode, JSON.stringify(res.json())).toBe(200);
      expect(res.json()).toEqual({ predictions: expected });
    }
    const csv = await call({
      method: "POST",
      url: "/invocations",
      payload: phishingCsv(3),
      headers: { "content-type": "text/csv" },
    });
    expect(csv.json()).toEqual({ predictions: expected });
    const two = await post("/invocations", { instances: three, inputs: three });
    expect(two.json().error.code).toBe("NW_SERVE_BAD_REQUEST");
  });

  it("answers Open Inference Protocol v2 health, metadata and infer requests", async () => {
    expect((await call({ url: "/v2/health/live" })).json()).toEqual({ live: true });
    expect((await call({ url: "/v2/health/ready" })).json()).toEqual({ ready: true });
    expect((await call({ url: "/v2/models/phishing/ready" })).json()).toEqual({
      name: "phishing",
      ready: true,
    });
    const meta = (await call({ url: "/v2/models/phishing" })).json();
    expect(meta.inputs).toHaveLength(30);
    expect(meta.inputs[0]).toEqual({ name: "having_IP_Address", datatype: "FP64", shape: [-1] });
    const two = records.slice(0, 2);
    const expected = (await post("/v1/models/phishing/predict", { records: two })).json().predictions;
    const perFeature = {
      id: "req-42",
      inputs: meta.inputs.map((i: { name: string }) => ({
        name: i.name,
        shape: [2],
        datatype: "FP64",
        data: two.map((r) => r[i.name]),
      })),
    };
    const a = (await post("/v2/models/phishing/infer", perFeature)).json();
    expect(a).toMatchObject({ model_name: "phishing", model_version: "1", id: "req-42" });
    expect(a.outputs[0]).toEqual({
      name: "label",
      datatype: "BYTES",
      shape: [2],
      data: expected.map((p: { label: string }) => p.label),
    });
    expect(a.outputs[1].shape).toEqual([2, 2]);
    expect(a.outputs[1].data[0]).toBe(expected[0].probabilities["-1"]);
    const names = meta.inputs.map((i: { name: string }) => i.name);
    const matrix = {
      inputs: [
        {
          name: "input-0",
          shape: [2, 30],
          datatype: "FP64",
          data: two.map((r) => names.map((n: string) => r[n])),
        },
      ],
      outputs: [{ name: "probabilities" }],
    };
    const b = (await post("/v2/models/phishing/infer", matrix)).json();
    expect(b.outputs).toHaveLength(1);
    expect(b.outputs[0].data).toEqual(a.outputs[1].data);
    const wrong = await post("/v2/models/phishing/infer", {
      inputs: [{ name: "nope", shape: [1], datatype: "FP64", data: [1] }],
    });
    expect([wrong.statusCode, wrong.json().error.code]).toEqual([400, "NW_SERVE_INVALID_RECORD"]);
  });
});

describe("several models", () => {
  it("serves every model that has the alias, each by name; /invocations asks which one", async () => {
    const v2 = await stores.metadata.getVersion("phishing", 2);
    const other = await stores.metadata.registerVersion({
      model: "phish-b",
      runId: v2.runId,
      bundleHash: v2.bundleHash,
      metrics: v2.metrics,
      lineage: v2.lineage,
    });
    await stores.metadata.setAlias("phish-b", "production", other.version, { actor: "test", reason: "test" });
    const s = await open();
    const listed = (await call({ url: "/v1/models" }, s))
      .json()
      .models.map((m: { name: string; version: number }) => [m.name, m.version]);
    expect(listed.sort()).toEqual([
      ["phish-b", 1],
      ["phishing", 1],
    ]);
    const a = (await post("/v1/models/phishing/predict", records[0], s)).json();
    const b = (await post("/v1/models/phish-b/predict", records[0], s)).json();
    expect([a.model, b.model]).toEqual(["phishing", "phish-b"]);
    // phish-b v1 is phishing v2's bundle: a different model, so different probabilities.
    expect(b.predictions[0].probabilities["-1"]).not.toBe(a.predictions[0].probabilities["-1"]);
    const which = await post("/invocations", { instances: [records[0]] }, s);
    expect([which.statusCode, which.json().error.code]).toEqual([404, "NW_SERVE_MODEL_NOT_FOUND"]);
    expect(which.json().error.hint).toContain("?model=");
    expect((await post("/invocations?model=phish-b", { instances: [records[0]] }, s)).statusCode).toBe(200);
    expect((await call({ url: "/readyz" }, s)).json().models).toHaveLength(2);
  });
});

describe("model management and jobs", () => {
  const bearer = (k: string) => ({ authorization: `Bearer ${k}` });

  it("requires an admin key for admin routes", async () => {
    const none = await call({ url: "/v1/registry/models" });
    expect([none.statusCode, none.json().error.code]).toEqual([401, "NW_SERVE_UNAUTHORIZED"]);
    const forged = await call({ url: "/v1/registry/models", headers: bearer(`${admin.key.slice(0, -2)}xx`) });
    expect(forged.statusCode).toBe(401);
    const weak = await call({ url: "/v1/registry/models", headers: { "x-api-key": predictKey.key } });
    expect([weak.statusCode, weak.json().error.code]).toEqual([403, "NW_SERVE_FORBIDDEN"]);
    const ok = await call({ url: "/v1/registry/models", headers: bearer(admin.key) });
    expect(ok.statusCode).toBe(200);
    const phishing = ok.json().models.find((m: { name: string }) => m.name === "phishing");
    expect(phishing).toMatchObject({ name: "phishing", latestVersion: 3 });
    const noKeys = await open();
    expect((await call({ url: "/v1/registry/models", headers: bearer(admin.key) }, noKeys)).statusCode).toBe(
      401,
    );
  });

  it("promotes and rolls back through the API, and serves the new version at once", async () => {
    const s = await open({ auth: { keys: [admin.hash] } });
    const detail = (
      await call({ url: "/v1/registry/models/phishing", headers: bearer(admin.key) }, s)
    ).json();
    expect(detail.versions.map((v: { version: number }) => v.version)).toEqual([1, 2, 3]);
    const promote = await call(
      {
        method: "PUT",
        url: "/v1/registry/models/phishing/aliases/production",
        payload: { version: 2, reason: "better" },
        headers: bearer(admin.key),
      },
      s,
    );
    expect(promote.json()).toMatchObject({
      event: { from: 1, to: 2, actor: `api-key:${admin.id}` },
      served_version: 2,
    });
    expect((await post("/v1/models/phishing/predict", records[0], s)).json().version).toBe(2);
    const back = await call(
      {
        method: "POST",
        url: "/v1/registry/models/phishing/aliases/production/rollback",
        headers: bearer(admin.key),
      },
      s,
    );
    expect(back.json()).toMatchObject({ event: { from: 2, to: 1 }, served_version: 1 });
    expect((await post("/v1/models/phishing/predict", records[0], s)).json().version).toBe(1);
    const missing = await call(
      {
        method: "PUT",
        url: "/v1/registry/models/phishing/aliases/production",
        payload: { version: 9 },
        headers: bearer(admin.key),
      },
      s,
    );
    expect([missing.statusCode, missing.json().error.code]).toEqual([404, "NW_STORE_NOT_FOUND"]);
  });

  it("starts training from a stored config and reports the job's progress and result", async () => {
    const { writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { phishingConfig } = await import("./test-support/fixtures.js");
    const file = join(stores.metadata.location, "..", "train-small.yaml");
    writeFileSync(file, phishingConfig(gbdt(5)));
    const s = await open({ auth: { keys: [admin.hash] }, jobs: { train_configs: { small: file } } });
    const unknown = await call(
      { method: "POST", url: "/v1/train", payload: { config: "huge" }, headers: bearer(admin.key) },
      s,
    );
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([400, "NW_JOB_INVALID"]);
    const res = await call(
      { method: "POST", url: "/v1/train", payload: { config: "small" }, headers: bearer(admin.key) },
      s,
    );
    expect(res.statusCode).toBe(202);
    const { id } = res.json();
    expect(res.headers.location).toBe(`/v1/jobs/${id}`);
    await s.jobs.wait(id);
    const job = (await call({ url: `/v1/jobs/${id}`, headers: bearer(admin.key) }, s)).json();
    expect(job.status).toBe("succeeded");
    expect(job.result).toMatchObject({ model: "phishing", version: 4, accepted: true });
    expect(job.progress.tasks.length).toBeGreaterThan(0);
    expect((await stores.metadata.getVersion("phishing", 4)).runId).toBe(job.result.runId);
    const list = (await call({ url: "/v1/jobs?status=succeeded", headers: bearer(admin.key) }, s)).json();
    expect(list.jobs.map((j: { id: string }) => j.id)).toEqual([id]);
    const nope = await call({ url: "/v1/jobs/job-x", headers: bearer(admin.key) }, s);
    expect([nope.statusCode, nope.json().error.code]).toEqual([404, "NW_JOB_NOT_FOUND"]);
  });

  it("can require a key for predictions too", async () => {
    const s = await open({ auth: { keys: [predictKey.hash], predict: true } });
    expect((await post("/v1/models/phishing/predict", records[0], s)).statusCode).toBe(401);
    const ok = await call(
      {
        method: "POST",
        url: "/v1/models/phishing/predict",
        payload: records[0],
        headers: bearer(predictKey.key),
      },
      s,
    );
    expect(ok.statusCode).toBe(200);
    expect((await call({ url: "/healthz" }, s)).statusCode).toBe(200);
  });
});

describe("operations", () => {
  it("exports Prometheus metrics by route, model, version and class, and the log queue", async () => {
    const s = await open();
    await post("/v1/models/phishing/predict", { records: records.slice(0, 10) }, s);
    await post("/v1/models/nope/predict", records[0], s);
    const text = (await call({ url: "/metrics" }, s)).body;
    expect(text).toContain(
      'netwarden_http_requests_total{route="/v1/models/:name/predict",method="POST",status="200",model="phishing",version="1"} 1',
    );
    expect(text).toContain('status="404",model="",version=""} 1');
    expect(text).toMatch(
      /netwarden_http_request_duration_seconds_bucket\{le="0\.005",route="\/v1\/models\/:name\/predict"/,
    );
    const classes = [
      ...text.matchAll(/netwarden_predictions_total\{model="phishing",version="1",class="(-?1)"\} (\d+)/g),
    ];
    expect(classes.reduce((n, m) => n + Number(m[2]), 0)).toBe(10);
    expect(text).toContain('netwarden_model_load_events_total{model="phishing",result="loaded"} 1');
    expect(text).toMatch(/netwarden_prediction_log_queue_rows \d+/);
    expect(text).toContain("netwarden_process_cpu_seconds_total");
  });

  it("writes every answered prediction to the prediction log", async () => {
    const s = await open();
    // Other servers of this file share the store: flush what they hold so only ours is counted.
    for (const o of opened) await o.sink?.flush();
    const before = await countLog();
    await post("/v1/models/phishing/predict", { records: records.slice(0, 7) }, s);
    await post(
      "/v2/models/phishing/infer",
      { inputs: [{ name: "x", shape: [1, 30], datatype: "FP64", data: Object.values(records[0]) }] },
      s,
    );
    await call(
      {
        method: "POST",
        url: "/v1/models/phishing/predict/csv",
        payload: phishingCsv(5),
        headers: { "content-type": "text/csv" },
      },
      s,
    );
    await post("/v1/models/phishing/predict", { records: [{ bad: 1 }] }, s);
    await s.sink!.flush();
    expect((await countLog()) - before).toBe(13);
  });

  it("keeps CORS off unless origins are configured, and rate-limits when asked", async () => {
    const plain = await call({ url: "/healthz", headers: { origin: "https://soc.example" } });
    expect(plain.headers["access-control-allow-origin"]).toBeUndefined();
    const withCors = await open({ cors: { origins: ["https://soc.example"] } });
    const c = await call({ url: "/healthz", headers: { origin: "https://soc.example" } }, withCors);
    expect(c.headers["access-control-allow-origin"]).toBe("https://soc.example");
    const limited = await open({ rate_limit: { enabled: true, max: 3, window_ms: 60_000 } });
    const codes = [];
    for (let i = 0; i < 5; i++)
      codes.push((await post("/v1/models/phishing/predict", records[0], limited)).statusCode);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    const last = await post("/v1/models/phishing/predict", records[0], limited);
    expect(last.json().error.code).toBe("NW_SERVE_RATE_LIMITED");
    expect((await call({ url: "/healthz" }, limited)).statusCode).toBe(200);
  });

  it("serves interactive docs", async () => {
    const res = await call({ url: "/docs/" });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain("swagger");
  });
});

async function countLog(): Promise<number> {
  let n = 0;
  for await (const _ of readPredictionLog(stores.artifacts, "phishing")) n++;
  return n;
}
