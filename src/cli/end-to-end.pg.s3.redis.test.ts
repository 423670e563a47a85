import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { dataDir } from "../core/index.js";
import { readPredictionLog } from "../monitor/index.js";
import { createApiKey } from "../serve/index.js";
import { LocalArtifactStore, openStores, type S3ArtifactStore } from "../store/index.js";

/**
 * One end-to-end scenario — train → register → promote → serve → predict → prediction log, then a
 * retrain through the job queue and a tampered bundle — run twice with the same steps: on the
 * embedded default (a local folder) and on PostgreSQL + S3 + Redis. Only environment variables
 * differ between the two; every command is the real `netwarden` binary.
 */
const REPO = join(import.meta.dirname, "..", "..");
const CSV = join(dataDir(), "phishing_websites.csv");
const pgUrl = process.env.NETWARDEN_TEST_DATABASE_URL ?? "";
const s3Endpoint = process.env.NETWARDEN_TEST_S3_ENDPOINT ?? "";
const redisUrl = process.env.NETWARDEN_TEST_REDIS_URL ?? "";
const suffix = randomBytes(4).toString("hex");
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (pgUrl) {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "nw_e2e_${suffix}" CASCADE`);
    await c.end();
  }
});

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["bin/netwarden.js", ...args], {
      cwd: REPO,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** Starts a long-running command; resolves once it printed its JSON line (serve: the URL). */
function start(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; first: Record<string, unknown>; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/netwarden.js", ...args, "--json"], {
      cwd: REPO,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    let err = "";
    let done = false;
    child.stdout.on("data", (d) => {
      out += d;
      if (done) return;
      // --json prints one (pretty-printed) document once the command is up.
      let first: Record<string, unknown>;
      try {
        first = JSON.parse(out.slice(out.indexOf("{")));
      } catch {
        return;
      }
      done = true;
      resolve({ child, first, output: () => out + err });
    });
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => {
      if (!done) reject(new Error(`netwarden ${args[0]} exited (${code}) before starting:\n${out}\n${err}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

function pipelineFile(dir: string): string {
  const text = readFileSync(join(REPO, "examples", "phishing.yaml"), "utf8")
    .replace(/^data:\n {2}path: .*\n/m, `data:\n  path: ${CSV}\n`)
    .replace(
      /^models:\n(?: {2}.*\n| {4}.*\n)+/m,
      "models:\n  - kind: gbdt\n    params: { n_estimators: 20, max_depth: 4 }\n",
    )
    .replace(/^search:\n(?: {2}.*\n)+/m, "search:\n  cv_folds: 2\n")
    .replace(/^ {2}min: 0\.95$/m, "  min: 0.9");
  const file = join(dir, "phishing.yaml");
  writeFileSync(file, text);
  return file;
}

const records = readFileSync(CSV, "utf8")
  .trimEnd()
  .split("\n")
  .slice(1, 6)
  .map((line) => line.split(",").map(Number));

function scenario(label: string, backendEnv: () => Promise<NodeJS.ProcessEnv>) {
  it(`${label}: train → register → promote → serve → predict → log → retrain by job → refuse a tampered bundle`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "nw-e2e-"));
    dirs.push(dir);
    const home = join(dir, ".netwarden");
    const extra = await backendEnv();
    const env: NodeJS.ProcessEnv = { ...process.env, NETWARDEN_ACTOR: "e2e", ...extra };
    const config = pipelineFile(dir);
    const header = readFileSync(CSV, "utf8").split("\n")[0].split(",");

    // train → register
    const trained = await run(["train", "-c", config, "--home", home, "--json"], env);
    expect(trained.code, trained.err).toBe(0);
    const outcome = JSON.parse(trained.out);
    expect(outcome).toMatchObject({ accepted: true, version: 1, model: "phishing" });
    // With the backends selected, nothing lands in the local folder.
    expect(existsSync(join(home, "runs"))).toBe(!extra.DATABASE_URL);
    expect(existsSync(join(home, "artifacts"))).toBe(!extra.ARTIFACT_STORE);

    // promote
    const promoted = await run(
      ["models", "promote", "phishing", "1", "--reason", "e2e", "--home", home],
      env,
    );
    expect(promoted.code, promoted.err).toBe(0);

    // serve → predict
    const server = await start(["serve", "--port", "0", "--home", home, "--poll-ms", "200"], env);
    const url = server.first.url as string;
    expect(server.first.models).toEqual([{ name: "phishing", version: 1 }]);
    const body = {
      records: records.map((r) => Object.fromEntries(header.slice(0, 30).map((h, j) => [h, r[j]]))),
    };
    const res = await fetch(`${url}/v1/models/phishing/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { predictions: { label: string }[]; model: { version: number } };
    expect(answer.predictions).toHaveLength(5);
    const labels = answer.predictions.map((p) => p.label);
    expect(labels.every((l) => l === "-1" || l === "1")).toBe(true);
    await stop(server.child);

    // the prediction log, read back from the same stores
    const stores = await openStores({ root: home, env });
    const logged = [];
    for await (const r of readPredictionLog(stores.artifacts, "phishing")) logged.push(r);
    expect(logged.map((r) => [r.version, r.row, r.label])).toEqual(labels.map((l, i) => [1, i, l]));
    expect(logged[0].features.SSLfinal_State).toBe(records[0][header.indexOf("SSLfinal_State")]);

    // retrain through the server's POST /v1/train: with REDIS_URL the server only enqueues and a
    // `netwarden worker` process trains; without it the server trains in-process (same job code).
    const admin = createApiKey("admin");
    const jobEnv = {
      ...env,
      NETWARDEN_SERVE_TRAIN_CONFIGS: `phishing=${config}`,
      NETWARDEN_SERVE_API_KEYS: admin.hash,
    };
    const trainer = await start(["serve", "--port", "0", "--home", home], jobEnv);
    const auth = { authorization: `Bearer ${admin.key}`, "content-type": "application/json" };
    const jobState = async (id: string) =>
      (await (await fetch(`${trainer.first.url}/v1/jobs/${id}`, { headers: auth })).json()) as {
        status: string;
        result?: unknown;
      };
    const submitted = await fetch(`${trainer.first.url}/v1/train`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ config: "phishing" }),
    });
    expect(submitted.status).toBe(202);
    const job = (await submitted.json()) as { id: string };
    let worker: Awaited<ReturnType<typeof start>> | undefined;
    if (extra.REDIS_URL) {
      // The server only enqueues: nothing runs the job until a worker comes.
      await new Promise((r) => setTimeout(r, 1500));
      expect((await jobState(job.id)).status).toBe("queued");
      worker = await start(["worker", "--home", home], jobEnv);
    }
    const finished = async (id: string) => {
      let state = await jobState(id);
      for (let i = 0; i < 600 && !["succeeded", "failed", "cancelled"].includes(state.status); i++) {
        await new Promise((r) => setTimeout(r, 200));
        state = await jobState(id);
      }
      expect(state.status, `${worker?.output() ?? ""}${trainer.output()}`).toBe("succeeded");
      return state.result as Record<string, unknown>;
    };
    expect(await finished(job.id)).toMatchObject({ accepted: true, version: 2 });

    // evaluate, batch-score and drift-check jobs through POST /v1/jobs, on the same workers.
    const submit = async (type: string, payload: Record<string, unknown>) => {
      const r = await fetch(`${trainer.first.url}/v1/jobs`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ type, payload }),
      });
      expect(r.status).toBe(202);
      return finished(((await r.json()) as { id: string }).id);
    };
    const evaluated = await submit("evaluate", { model: "phishing", config: "phishing" });
    expect(evaluated).toMatchObject({ version: 1, rows: 2211 });
    expect((evaluated.metrics as Record<string, number>)["eval.accuracy"]).toBe(
      outcome.metrics["test.accuracy"],
    );
    const scored = await submit("batch-score", { model: "phishing", config: "phishing" });
    expect(scored).toMatchObject({ rows: 11055, scored: 11055, invalid: 0 });
    const scores = Buffer.from(await stores.artifacts.getObject(scored.key as string)).toString("utf8");
    expect(scores.split("\n")[0]).toBe("row,label,class_name,p_-1,p_1");
    expect(scores.trimEnd().split("\n")).toHaveLength(11056);
    // The five logged predictions are too few for a verdict, but the check runs and says so.
    const drift = await submit("drift-check", { model: "phishing" });
    expect(drift).toMatchObject({ current: { source: "prediction log", rows: 5 }, nInsufficient: 30 });
    await stop(trainer.child);
    if (worker) await stop(worker.child);

    const show = JSON.parse((await run(["models", "show", "phishing", "--home", home, "--json"], env)).out);
    expect(show.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect(show.aliases.production).toBe(1);
    // Same config, same data: the retrained bundle is byte-identical.
    expect(show.versions[1].bundleHash).toBe(outcome.bundleHash);

    // A tampered bundle is refused on load and never served.
    const corrupt = await run(["models", "promote", "phishing", "2", "--reason", "e2e", "--home", home], env);
    expect(corrupt.code).toBe(0);
    await tamper(stores.artifacts, outcome.bundleHash);
    await stores.metadata.close();
    await stores.artifacts.close();
    const again = await start(["serve", "--port", "0", "--home", home], env);
    expect(again.first.models).toEqual([]);
    const ready = await fetch(`${again.first.url}/readyz`);
    expect(ready.status).toBe(503);
    const refused = await fetch(`${again.first.url}/v1/models/phishing/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ records: body.records.slice(0, 1) }),
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    await stop(again.child);
    expect(again.output()).toContain("NW_STORE_CORRUPT");
  });
}

/** Changes one byte of a stored blob behind the store's back: in its folder, or in its bucket. */
async function tamper(artifacts: unknown, hash: string): Promise<void> {
  if (artifacts instanceof LocalArtifactStore) {
    const path = artifacts.blobPath(hash);
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1] ^= 0x01;
    writeFileSync(path, bytes);
    return;
  }
  const s3 = artifacts as S3ArtifactStore;
  const key = s3.blobKey(hash);
  const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  const bytes = await got.Body!.transformToByteArray();
  bytes[bytes.length >> 1] ^= 0x01;
  await s3.client.send(
    new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: bytes, Metadata: got.Metadata }),
  );
}

describe("end to end on the embedded default (no variables)", () => {
  scenario("embedded", async () => ({
    DATABASE_URL: "",
    ARTIFACT_STORE: "",
    REDIS_URL: "",
    MLFLOW_TRACKING_URI: "",
  }));
});

describe.skipIf(!pgUrl || !s3Endpoint || !redisUrl)(
  "end to end on PostgreSQL + S3 + Redis (NETWARDEN_TEST_DATABASE_URL, _S3_ENDPOINT, _REDIS_URL)",
  () => {
    scenario("PostgreSQL + S3 + Redis", async () => {
      const bucket = `nw-e2e-${suffix}`;
      const client = new S3Client({
        region: "us-east-1",
        endpoint: s3Endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: "netwarden", secretAccessKey: "netwarden-secret" },
      });
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      client.destroy();
      return {
        DATABASE_URL: pgUrl,
        NETWARDEN_DB_SCHEMA: `nw_e2e_${suffix}`,
        ARTIFACT_STORE: `s3://${bucket}/netwarden?endpoint=${encodeURIComponent(s3Endpoint)}`,
        AWS_ACCESS_KEY_ID: "netwarden",
        AWS_SECRET_ACCESS_KEY: "netwarden-secret",
        AWS_REGION: "us-east-1",
        REDIS_URL: redisUrl,
        NETWARDEN_QUEUE: `nw-e2e-${suffix}`,
        MLFLOW_TRACKING_URI: "",
      };
    });
  },
);
