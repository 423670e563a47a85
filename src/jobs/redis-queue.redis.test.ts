import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { dataDir, NetwardenError } from "../core/index.js";
import { FileMetadataStore } from "../store/index.js";
import { RedisJobQueue } from "./redis-queue.js";
import type { JobRecord } from "./types.js";

// Runs against a real Redis: NETWARDEN_TEST_REDIS_URL (set by .ci/run).
const url = process.env.NETWARDEN_TEST_REDIS_URL ?? "";
const REPO = join(import.meta.dirname, "..", "..");
const queues: RedisJobQueue[] = [];
const children: ChildProcess[] = [];
const dirs: string[] = [];

function queueName(): string {
  return `nw-test-${randomBytes(4).toString("hex")}`;
}

async function open(
  options: Partial<Parameters<typeof RedisJobQueue.open>[0]> & { name: string },
): Promise<RedisJobQueue> {
  const q = await RedisJobQueue.open({ url, backoffMs: 10, ...options });
  queues.push(q);
  return q;
}

afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close({ abort: true })));
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function until(
  id: string,
  q: RedisJobQueue,
  status: JobRecord["status"],
  timeoutMs = 60_000,
): Promise<JobRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await q.get(id);
    if (r.status === status) return r;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${r.status}, never ${status}`);
    await sleep(50);
  }
}

describe.skipIf(!url)("RedisJobQueue (NETWARDEN_TEST_REDIS_URL)", () => {
  it("a worker runs a submitter's job and records progress and result", async () => {
    const name = queueName();
    const submitter = await open({ name });
    const worker = await open({
      name,
      handlers: {
        "batch-score": async (payload, ctx) => {
          const t = ctx.progress.task("scoring", 3);
          for (let i = 0; i < 3; i++) t.tick(1, `chunk ${i}`);
          t.done("3 chunks");
          ctx.progress.log("2 rows quarantined", "warn");
          return { scored: (payload.rows as number) * 2 };
        },
      },
    });
    const job = await submitter.submit("batch-score", { rows: 21 }, { submittedBy: "alice" });
    expect(job).toMatchObject({
      type: "batch-score",
      status: "queued",
      payload: { rows: 21 },
      submittedBy: "alice",
    });
    expect(job.id).toMatch(/^job-[0-9a-f-]{36}$/);
    const done = await submitter.wait(job.id);
    expect(done).toMatchObject({ status: "succeeded", result: { scored: 42 } });
    expect(done.progress.tasks).toEqual([
      { label: "scoring", total: 3, done: 3, note: "3 chunks", finished: true },
    ]);
    expect(done.progress.messages.map((m) => [m.level, m.message])).toEqual([["warn", "2 rows quarantined"]]);
    expect(Date.parse(done.endedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(done.startedAt ?? ""));
    expect((await worker.list({ status: "succeeded" })).map((j) => j.id)).toEqual([job.id]);
    expect(await submitter.list({ type: "train" })).toEqual([]);
  });

  it("retries a job failing for a passing reason, with backoff, and fails bad input at once", async () => {
    const name = queueName();
    let calls = 0;
    const q = await open({
      name,
      attempts: 3,
      handlers: {
        evaluate: async (payload) => {
          calls++;
          if (payload.kind === "flaky" && calls < 3) {
            throw new NetwardenError("NW_BACKEND_UNAVAILABLE", "S3 did not answer");
          }
          if (payload.kind === "bad")
            throw new NetwardenError("NW_DATA_EMPTY", "the test split is empty", { hint: "add rows" });
          return { ok: true };
        },
      },
    });
    const flaky = await q.wait((await q.submit("evaluate", { kind: "flaky" })).id);
    expect(flaky.status).toBe("succeeded");
    expect(calls).toBe(3);
    calls = 0;
    const bad = await q.wait((await q.submit("evaluate", { kind: "bad" })).id);
    expect(bad).toMatchObject({
      status: "failed",
      error: { code: "NW_DATA_EMPTY", message: "the test split is empty", hint: "add rows" },
    });
    expect(calls).toBe(1);
  });

  it("a job type no worker handles fails with NW_JOB_UNSUPPORTED; unknown types are refused", async () => {
    const name = queueName();
    const q = await open({ name, handlers: { train: async () => null } });
    const r = await q.wait((await q.submit("drift-check", {})).id);
    expect(r.error?.code).toBe("NW_JOB_UNSUPPORTED");
    await expect(q.submit("mine-bitcoin", {})).rejects.toMatchObject({ code: "NW_JOB_INVALID" });
    await expect(q.get("job-nope")).rejects.toMatchObject({ code: "NW_JOB_NOT_FOUND" });
  });

  it("cancels a queued job; the record stays readable", async () => {
    const q = await open({ name: queueName() });
    const job = await q.submit("train", { config: "phishing" });
    const cancelled = await q.cancel(job.id);
    expect(cancelled.status).toBe("cancelled");
    expect((await q.get(job.id)).status).toBe("cancelled");
  });

  it("a schedule makes repeated jobs that workers run", async () => {
    const name = queueName();
    let runs = 0;
    const q = await open({ name, handlers: { "drift-check": async () => ({ run: ++runs }) } });
    // Six-field cron: every second.
    const s = await q.schedule("drift-check:phishing", "* * * * * *", "drift-check", { model: "phishing" });
    expect(s.id).toBe("drift-check:phishing");
    expect((await q.schedules()).map((x) => [x.id, x.cron, x.type])).toEqual([
      ["drift-check:phishing", "* * * * * *", "drift-check"],
    ]);
    const deadline = Date.now() + 20_000;
    while (runs < 2 && Date.now() < deadline) await sleep(100);
    expect(runs).toBeGreaterThanOrEqual(2);
    const ran = await q.list({ type: "drift-check", status: "succeeded" });
    expect(ran[0]).toMatchObject({
      payload: { model: "phishing" },
      submittedBy: "schedule drift-check:phishing",
    });
    expect(await q.unschedule("drift-check:phishing")).toBe(true);
    expect(await q.schedules()).toEqual([]);
    await expect(q.schedule("x", "not a cron", "train", {})).rejects.toMatchObject({
      code: "NW_JOB_INVALID",
    });
  });

  it("a training job whose worker is killed (SIGKILL) mid-job completes on another worker", async () => {
    const name = queueName();
    const home = mkdtempSync(join(tmpdir(), "nw-worker-"));
    dirs.push(home);
    // A training run long enough to be caught in the middle.
    const pipeline = readFileSync(join(REPO, "examples", "phishing.yaml"), "utf8")
      .replace(/^data:\n {2}path: .*\n/m, `data:\n  path: ${join(dataDir(), "phishing_websites.csv")}\n`)
      .replace(
        /^models:\n(?: {2}.*\n| {4}.*\n)+/m,
        "models:\n  - kind: gbdt\n    params: { n_estimators: 150, max_depth: 6 }\n",
      )
      .replace(/^search:\n(?: {2}.*\n)+/m, "search:\n  cv_folds: 4\n")
      .replace(/^ {2}min: 0\.95$/m, "  min: 0.9");
    const config = join(home, "phishing.yaml");
    writeFileSync(config, pipeline);
    const startWorker = (label: string) => {
      const child = spawn(
        process.execPath,
        ["bin/netwarden.js", "worker", "--home", home, "--lock-ms", "2000"],
        {
          cwd: REPO,
          env: {
            ...process.env,
            REDIS_URL: url,
            NETWARDEN_QUEUE: name,
            NETWARDEN_SERVE_TRAIN_CONFIGS: `phishing=${config}`,
            NETWARDEN_ACTOR: label,
          },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      children.push(child);
      let out = "";
      child.stdout?.on("data", (d) => (out += d));
      child.stderr?.on("data", (d) => (out += d));
      return { child, output: () => out };
    };

    const submitter = await open({ name });
    const a = startWorker("worker-a");
    const job = await submitter.submit("train", { config: "phishing" }, { submittedBy: "ci" });
    const running = await until(job.id, submitter, "running");
    expect(running.startedAt).toBeDefined();
    // Let it get into the training itself, then kill the worker outright.
    const deadline = Date.now() + 30_000;
    while ((await submitter.get(job.id)).progress.tasks.length < 2 && Date.now() < deadline) await sleep(50);
    a.child.kill("SIGKILL");
    await new Promise((resolve) => a.child.once("exit", resolve));
    expect(a.child.signalCode).toBe("SIGKILL");
    expect((await submitter.get(job.id)).status).not.toBe("succeeded");

    const b = startWorker("worker-b");
    const done = await submitter.wait(job.id);
    expect(done.status, b.output()).toBe("succeeded");
    const result = done.result as {
      runId: string;
      accepted: boolean;
      version: number | null;
      metrics: Record<string, number>;
    };
    expect(result.accepted).toBe(true);
    expect(result.version).toBe(1);
    expect(result.metrics["test.accuracy"]).toBeGreaterThan(0.9);
    expect(b.output()).toContain(`job ${job.id} (train) succeeded`);
    expect(a.output()).not.toContain("succeeded");

    // Worker A's run was cut off (still "running"); worker B's finished and registered v1.
    const store = new FileMetadataStore(home);
    const runs = await store.listRuns({ pipeline: "phishing" });
    expect(runs.map((r) => r.status).sort()).toEqual(["finished", "running"]);
    expect((await store.getRun(result.runId)).status).toBe("finished");
    expect((await store.listVersions("phishing")).map((v) => v.runId)).toEqual([result.runId]);
    b.child.kill("SIGTERM");
  });
});

describe("RedisJobQueue without a server", () => {
  it("refuses a URL that is not redis:// and reports a server that does not answer", async () => {
    await expect(RedisJobQueue.open({ url: "http://localhost:6379" })).rejects.toMatchObject({
      code: "NW_BACKEND_CONFIG",
    });
    const err = await RedisJobQueue.open({
      url: "redis://:hunter2@127.0.0.1:1",
      connectTimeoutMs: 1000,
    }).catch((e) => e);
    expect(err.code).toBe("NW_BACKEND_UNAVAILABLE");
    expect(err.message).toContain("redis://@127.0.0.1:1");
    expect(err.message).not.toContain("hunter2");
  });
});
