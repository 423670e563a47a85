import { describe, expect, it } from "vitest";
import { cli, PHISHING_CSV, phishingConfig, workspace } from "../test-support/workspace.js";
import { parseSchedule } from "./worker.js";

describe("netwarden jobs run", () => {
  it("runs evaluate, batch-score and drift-check in-process on a pipeline file's data", async () => {
    const ws = workspace();
    const cfg = ws.file("phishing.yaml", phishingConfig({ data: PHISHING_CSV }));
    const home = ["--home", ws.home];
    expect((await cli(["train", "-c", cfg, ...home])).code).toBe(0);
    const job = (type: string, ...more: string[]) =>
      cli([
        "jobs",
        "run",
        type,
        "-p",
        cfg,
        "--set",
        "model=phishing",
        "--set",
        "version=1",
        ...more,
        ...home,
      ]);

    const ev = await job("evaluate");
    expect(ev.err).not.toContain("error");
    expect(ev.code).toBe(0);
    expect(ev.out).toMatch(/phishing v1 on phishing \(test, 2,211 rows\)/);
    expect(ev.out).toMatch(/accuracy\s+0\.9\d+\s+\+0/);

    const json = await job("drift-check", "--json");
    expect(json.code).toBe(0);
    const drift = JSON.parse(json.out);
    expect(drift).toMatchObject({ model: "phishing", version: 1, nDrifted: 0, current: { rows: 11055 } });

    const bs = await job("batch-score");
    expect(bs.code).toBe(0);
    expect(bs.out).toContain("scored 11,055 of 11,055 rows of phishing");
    expect(bs.out).toMatch(
      /written to batch-scores\/phishing\/\d{4}-\d{2}-\d{2}\/\d{8}-\d{6}-[0-9a-f]+\.csv/,
    );
  });

  it("refuses unknown job types, malformed --set and --pipeline with a Redis queue", async () => {
    const ws = workspace();
    const bad = await cli(["jobs", "run", "bake", "--home", ws.home]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("NW_CLI_INVALID_ARGUMENT");
    expect(bad.err).toContain("train, evaluate, batch-score, drift-check");
    const set = await cli(["jobs", "run", "evaluate", "--set", "model", "--home", ws.home]);
    expect(set.code).toBe(2);
    expect(set.err).toContain("--set `model` is not key=value");
    const redis = await cli(["jobs", "run", "evaluate", "-p", "x.yaml", "--home", ws.home], {
      env: { REDIS_URL: "redis://127.0.0.1:1" },
    });
    expect(redis.code).toBe(2);
    expect(redis.err).toContain("with REDIS_URL the job runs on a worker");
    // A payload mistake is the job's coded error, naming the field.
    const missing = await cli(["jobs", "run", "drift-check", "--home", ws.home]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("NW_JOB_INVALID");
    expect(missing.err).toContain("payload.model");
  });
});

describe("worker --schedule", () => {
  it("reads <type>[:<config>|:<key>=<value>,...]@<cron>", () => {
    expect(parseSchedule("train:phishing@0 3 * * *")).toEqual({
      id: "train:phishing",
      type: "train",
      payload: { config: "phishing" },
      cron: "0 3 * * *",
    });
    expect(parseSchedule("drift-check:model=phishing,from=2026-11-01@0 * * * *")).toEqual({
      id: "drift-check:model=phishing,from=2026-11-01",
      type: "drift-check",
      payload: { model: "phishing", from: "2026-11-01" },
      cron: "0 * * * *",
    });
    expect(() => parseSchedule("bake@* * * * *")).toThrow(/not <type>/);
    expect(() => parseSchedule("evaluate:=x@* * * * *")).toThrow(/not <type>/);
  });
});
