import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStores } from "../store/index.js";
import { InProcessJobQueue } from "./in-process.js";
import { writePhishingConfig } from "./test-support/phishing.js";
import { trainJob } from "./train.js";
import type { JobHandler } from "./types.js";

const writeConfig = writePhishingConfig;

const sleepJob: JobHandler = async (payload, ctx) => {
  const task = ctx.progress.task("sleep", 2);
  task.tick(1, "half");
  await new Promise((r) => setTimeout(r, Number(payload.ms ?? 10)));
  task.tick(1);
  task.done();
  ctx.progress.log("slept");
  return { slept: payload.ms };
};

describe("in-process job queue", () => {
  it("runs a train job from a stored config and registers the model, with progress", async () => {
    const home = mkdtempSync(join(tmpdir(), "nw-jobs-"));
    const stores = await openStores({ root: home });
    const queue = new InProcessJobQueue({
      train: trainJob({ ...stores, configs: { phishing: writeConfig(home) }, actor: "test" }),
    });
    const job = await queue.submit("train", { config: "phishing" }, { submittedBy: "ops" });
    expect(job).toMatchObject({ type: "train", status: "queued", payload: { config: "phishing" } });
    const done = await queue.wait(job.id);
    expect(done.error).toBeUndefined();
    expect(done.status).toBe("succeeded");
    const result = done.result as { model: string; version: number; accepted: boolean; runId: string };
    expect(result).toMatchObject({ model: "phishing", version: 1, accepted: true });
    const v = await stores.metadata.getVersion("phishing", 1);
    expect(v.runId).toBe(result.runId);
    expect(done.progress.tasks.length).toBeGreaterThan(0);
    expect(done.progress.tasks.every((t) => t.finished)).toBe(true);
    expect(done.startedAt! >= done.createdAt).toBe(true);
    await queue.close();
  });

  it("answers coded errors for unknown types, unsupported types, unknown configs and failures", async () => {
    const home = mkdtempSync(join(tmpdir(), "nw-jobs-"));
    const stores = await openStores({ root: home });
    const queue = new InProcessJobQueue({
      train: trainJob({
        ...stores,
        configs: { broken: writeConfig(home, join(home, "no-such.csv")) },
      }),
    });
    await expect(queue.submit("bake", {})).rejects.toMatchObject({ code: "NW_JOB_INVALID" });
    await expect(queue.submit("drift-check", {})).rejects.toMatchObject({ code: "NW_JOB_UNSUPPORTED" });
    await expect(queue.get("job-nope")).rejects.toMatchObject({ code: "NW_JOB_NOT_FOUND" });

    const unknown = await queue.wait((await queue.submit("train", { config: "phishing" })).id);
    expect(unknown.status).toBe("failed");
    expect(unknown.error).toMatchObject({ code: "NW_JOB_INVALID" });
    expect(unknown.error?.hint).toContain("broken");

    const failed = await queue.wait((await queue.submit("train", { config: "broken" })).id);
    expect(failed.status).toBe("failed");
    expect(failed.error?.code).toBe("NW_DATA_NOT_FOUND");
    await queue.close();
  });

  it("runs jobs in order, `concurrency` at a time; cancels queued ones; lists newest first", async () => {
    const queue = new InProcessJobQueue({ evaluate: sleepJob }, { concurrency: 1 });
    const a = await queue.submit("evaluate", { ms: 50 });
    const b = await queue.submit("evaluate", { ms: 10 });
    const c = await queue.submit("evaluate", { ms: 10 });
    await new Promise((r) => setTimeout(r, 5));
    expect((await queue.get(a.id)).status).toBe("running");
    expect((await queue.get(b.id)).status).toBe("queued");
    expect((await queue.cancel(c.id)).status).toBe("cancelled");
    const bDone = await queue.wait(b.id);
    const aDone = await queue.get(a.id);
    expect(aDone.status).toBe("succeeded");
    expect(bDone.startedAt! >= aDone.endedAt!).toBe(true);
    expect(aDone.result).toEqual({ slept: 50 });
    expect(aDone.progress.tasks).toEqual([
      { label: "sleep", total: 2, done: 2, note: "half", finished: true },
    ]);
    expect(aDone.progress.messages.map((m) => m.message)).toEqual(["slept"]);
    expect((await queue.list()).map((j) => j.id)).toEqual([c.id, b.id, a.id]);
    expect((await queue.list({ status: "cancelled" })).map((j) => j.id)).toEqual([c.id]);
    await queue.close();
    await expect(queue.submit("evaluate", {})).rejects.toMatchObject({ code: "NW_SERVE_SHUTTING_DOWN" });
  });
});
