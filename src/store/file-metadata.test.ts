import { type ChildProcess, spawn } from "node:child_process";
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TMP_PREFIX } from "../core/index.js";
import { FileMetadataStore } from "./file-metadata.js";
import { RUN_ID_PATTERN } from "./rules.js";
import { expectCode, metadataStoreConformance } from "./test-support/conformance.js";
import type { Lineage } from "./types.js";

const roots: string[] = [];
async function tempRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "nw-meta-"));
  roots.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(roots.map((d) => rm(d, { recursive: true, force: true })));
});

const HASH = "a".repeat(64);
const LINEAGE: Lineage = {
  dataFingerprint: "d".repeat(64),
  configHash: "c".repeat(64),
  codeVersion: "0.1.0",
};

metadataStoreConformance("FileMetadataStore", async () => new FileMetadataStore(await tempRoot()), {
  reopen: async (store) => new FileMetadataStore((store as FileMetadataStore).root),
});

/** Every file and folder under `dir`, as paths relative to it. */
async function walk(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    out.push(rel);
    if (entry.isDirectory()) out.push(...(await walk(join(dir, entry.name), rel)));
  }
  return out;
}

describe("FileMetadataStore files", () => {
  it("keeps runs and models in the documented layout and leaves no temp files or locks", async () => {
    const root = await tempRoot();
    const store = new FileMetadataStore(root);
    const run = await store.createRun({ pipeline: "phishing", params: { seed: 7 } });
    expect(run.id).toMatch(RUN_ID_PATTERN);
    const t = run.startedAt; // 2025-01-02T03:04:05.678Z -> 20250102-030405-xxxxxx
    expect(run.id.slice(0, 15)).toBe(
      `${t.slice(0, 4)}${t.slice(5, 7)}${t.slice(8, 10)}-${t.slice(11, 13)}${t.slice(14, 16)}${t.slice(17, 19)}`,
    );
    await store.logMetrics(run.id, { loss: 0.5 }, 0);
    await store.logMetrics(run.id, { loss: 0.25, auc: 0.9 }, 1);
    await store.registerVersion({
      model: "phish",
      runId: run.id,
      bundleHash: HASH,
      metrics: {},
      lineage: LINEAGE,
    });
    await store.setAlias("phish", "production", 1, { actor: "alice", reason: "first" });

    expect((await walk(root)).sort()).toEqual(
      [
        "locks",
        "models",
        "models/phish.json",
        "runs",
        `runs/${run.id}`,
        `runs/${run.id}/metrics.jsonl`,
        `runs/${run.id}/run.json`,
      ].sort(),
    );
    const runJson = JSON.parse(await readFile(join(root, "runs", run.id, "run.json"), "utf8"));
    expect(runJson).toMatchObject({
      format: 1,
      id: run.id,
      pipeline: "phishing",
      metrics: { loss: 0.25, auc: 0.9 },
    });
    const lines = (await readFile(join(root, "runs", run.id, "metrics.jsonl"), "utf8")).split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe("");
    expect(JSON.parse(lines[1])).toMatchObject({ step: 1, metrics: { loss: 0.25, auc: 0.9 } });
    const model = JSON.parse(await readFile(join(root, "models", "phish.json"), "utf8"));
    expect(model).toMatchObject({ format: 1, name: "phish", aliases: { production: 1 } });
    expect(model.versions).toHaveLength(1);
    expect(model.events).toHaveLength(1);
  });

  it("reads a folder that does not exist as empty, without creating it", async () => {
    const root = join(await tempRoot(), "not-yet");
    const store = new FileMetadataStore(root);
    expect(await store.listRuns()).toEqual([]);
    expect(await store.listModels()).toEqual([]);
    await expectCode(store.listVersions("phish"), "NW_STORE_NOT_FOUND");
    await expect(stat(root)).rejects.toThrow();
  });

  it("names its location relative to the working directory when it can", () => {
    expect(new FileMetadataStore(".netwarden-never-created").location).toBe("./.netwarden-never-created");
    expect(new FileMetadataStore(join(tmpdir(), "x")).location).toBe(join(tmpdir(), "x"));
  });

  it("ignores what a crashed writer left behind: temp files and half-made run folders", async () => {
    const root = await tempRoot();
    const store = new FileMetadataStore(root);
    const run = await store.createRun({ pipeline: "p" });
    await store.registerVersion({
      model: "phish",
      runId: run.id,
      bundleHash: HASH,
      metrics: {},
      lineage: LINEAGE,
    });
    await writeFile(join(root, "models", `${TMP_PREFIX}0123456789ab`), '{"format":1,"name":"phi');
    await mkdir(join(root, "runs", `${TMP_PREFIX}ba9876543210`));
    await writeFile(join(root, "runs", `${TMP_PREFIX}ba9876543210`, "run.json"), '{"format":1,"id":');
    await writeFile(join(root, "runs", "README.txt"), "not a run");
    expect((await store.listModels()).map((m) => m.name)).toEqual(["phish"]);
    expect((await store.listRuns()).map((r) => r.id)).toEqual([run.id]);
    expect(
      (
        await store.registerVersion({
          model: "phish",
          runId: run.id,
          bundleHash: HASH,
          metrics: {},
          lineage: LINEAGE,
        })
      ).version,
    ).toBe(2);
  });

  it("ignores a metric line a crash cut short, and the next append removes it", async () => {
    const root = await tempRoot();
    const store = new FileMetadataStore(root);
    const run = await store.createRun({ pipeline: "p" });
    await store.logMetrics(run.id, { loss: 0.9 }, 0);
    await store.logMetrics(run.id, { loss: 0.8 }, 1);
    const file = join(root, "runs", run.id, "metrics.jsonl");
    await appendFile(file, '{"step":2,"at":"2025-01-');
    expect((await store.metricHistory(run.id, "loss")).map((p) => p.value)).toEqual([0.9, 0.8]);
    await store.logMetrics(run.id, { loss: 0.7 }, 2);
    expect((await store.metricHistory(run.id, "loss")).map((p) => p.value)).toEqual([0.9, 0.8, 0.7]);
    const text = await readFile(file, "utf8");
    expect(
      text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).step),
    ).toEqual([0, 1, 2]);
  });

  it("orders runs that started in the same second by their start time, not by id", async () => {
    const root = await tempRoot();
    // 40 runs in one second whose random id parts sort against their start times, then 30 older.
    const planted: { id: string; startedAt: string }[] = [];
    for (let i = 0; i < 40; i++) {
      const hex = (0xffffff - i * 1000).toString(16);
      planted.push({
        id: `20250102-030405-${hex}`,
        startedAt: `2025-01-02T03:04:05.${String(100 + i * 20).padStart(3, "0")}Z`,
      });
    }
    for (let i = 0; i < 30; i++) {
      const hex = (0x100000 + i).toString(16);
      planted.push({
        id: `20250102-030404-${hex}`,
        startedAt: `2025-01-02T03:04:04.${String(100 + i).padStart(3, "0")}Z`,
      });
    }
    for (const { id, startedAt } of planted) {
      await mkdir(join(root, "runs", id), { recursive: true });
      const run = {
        format: 1,
        id,
        pipeline: "p",
        status: "finished",
        startedAt,
        params: {},
        metrics: {},
        tags: {},
        artifacts: [],
      };
      await writeFile(join(root, "runs", id, "run.json"), JSON.stringify(run));
    }
    const newestFirst = [...planted].sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1)).map((r) => r.id);
    const store = new FileMetadataStore(root);
    expect((await store.listRuns({ limit: 20 })).map((r) => r.id)).toEqual(newestFirst.slice(0, 20));
    expect((await store.listRuns({ limit: 35 })).map((r) => r.id)).toEqual(newestFirst.slice(0, 35));
    expect((await store.listRuns({ limit: 45 })).map((r) => r.id)).toEqual(newestFirst.slice(0, 45));
    expect((await store.listRuns({ limit: 100 })).map((r) => r.id)).toEqual(newestFirst);
  });

  it("refuses a model name that only differs in case from the file it finds", async () => {
    const root = await tempRoot();
    const store = new FileMetadataStore(root);
    const run = await store.createRun({ pipeline: "p" });
    await store.registerVersion({
      model: "phish",
      runId: run.id,
      bundleHash: HASH,
      metrics: {},
      lineage: LINEAGE,
    });
    // What a case-insensitive file system (macOS, Windows) shows when asked for "Phish.json".
    await writeFile(join(root, "models", "Phish.json"), await readFile(join(root, "models", "phish.json")));
    const err = await expectCode(store.listVersions("Phish"), "NW_STORE_INVALID_ARGUMENT");
    expect(err.message).toContain("`phish`");
  });

  it("reports unreadable records as NW_STORE_CORRUPT, naming the file", async () => {
    const root = await tempRoot();
    const store = new FileMetadataStore(root);
    const run = await store.createRun({ pipeline: "p" });
    await store.logMetrics(run.id, { loss: 0.9 }, 0);
    await store.registerVersion({
      model: "phish",
      runId: run.id,
      bundleHash: HASH,
      metrics: {},
      lineage: LINEAGE,
    });

    const metrics = join(root, "runs", run.id, "metrics.jsonl");
    await appendFile(metrics, "not json\n");
    const lineErr = await expectCode(store.metricHistory(run.id, "loss"), "NW_STORE_CORRUPT");
    expect(lineErr.where).toMatch(/metrics\.jsonl:2$/);

    const modelFile = join(root, "models", "phish.json");
    const good = await readFile(modelFile, "utf8");
    await writeFile(modelFile, good.slice(0, good.length >> 1));
    const modelErr = await expectCode(store.listVersions("phish"), "NW_STORE_CORRUPT");
    expect(modelErr.where).toContain(join("models", "phish.json"));
    await expectCode(store.listModels(), "NW_STORE_CORRUPT");

    const reordered = JSON.parse(good);
    reordered.versions[0].version = 2;
    await writeFile(modelFile, JSON.stringify(reordered));
    await expectCode(store.getVersion("phish", 1), "NW_STORE_CORRUPT");

    const newer = JSON.parse(good);
    newer.format = 2;
    await writeFile(modelFile, JSON.stringify(newer));
    const newerErr = await expectCode(store.resolveAlias("phish", "production"), "NW_STORE_CORRUPT");
    expect(newerErr.message).toContain("newer netwarden");

    await writeFile(join(root, "runs", run.id, "run.json"), "{");
    const runErr = await expectCode(store.getRun(run.id), "NW_STORE_CORRUPT");
    expect(runErr.where).toContain(join(run.id, "run.json"));
    await expectCode(store.listRuns(), "NW_STORE_CORRUPT");
    await rm(join(root, "runs", run.id, "run.json"));
    await expectCode(store.getRun(run.id), "NW_STORE_CORRUPT");
  });
});

/**
 * Real processes racing on one store. Node 20 cannot run TypeScript, and no TS runner is installed,
 * so the store's own sources are compiled once with the project's compiler into a temp folder, and
 * child processes import that JavaScript: the code under test is the real FileMetadataStore and
 * lock, not a re-implementation of the protocol.
 */
describe("FileMetadataStore across processes", () => {
  let dist: string;
  let childScript: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dist = await tempRoot();
    const tsc = join(
      dirname(createRequire(import.meta.url).resolve("typescript/package.json")),
      "bin",
      "tsc",
    );
    const args = [
      tsc,
      "--ignoreConfig",
      ...["--outDir", dist, "--rootDir", "src", "--module", "nodenext", "--moduleResolution", "nodenext"],
      ...["--target", "es2023", "--types", "node", "--skipLibCheck"],
      "src/store/file-metadata.ts",
      "src/store/lock.ts",
    ];
    const out = await run(process.execPath, args);
    await stat(join(dist, "store", "file-metadata.js")).catch(() => {
      throw new Error(`compiling the store failed:\n${out}`);
    });
    await writeFile(join(dist, "package.json"), '{"type":"module"}\n');
    childScript = join(dist, "child.mjs");
    await writeFile(childScript, CHILD_SCRIPT);
  });

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  });

  function child(...args: string[]): ChildProcess & { lines: AsyncIterator<string> } {
    const c = spawn(process.execPath, [childScript, dist, ...args], { stdio: ["pipe", "pipe", "inherit"] });
    children.push(c);
    return Object.assign(c, { lines: lineReader(c) });
  }

  it("versions registered by four processes at once are distinct and consecutive", async () => {
    const root = await tempRoot();
    const store = new FileMetadataStore(root, { lockTimeoutMs: 60_000 });
    const run = await store.createRun({ pipeline: "p" });
    const perProcess = 15;
    const racers = ["c1", "c2", "c3"].map((tag) =>
      child("race", root, "race", run.id, String(perProcess), tag),
    );
    for (const r of racers) expect((await r.lines.next()).value).toBe("ready");
    for (const r of racers) r.stdin?.write("go\n");
    const mine: { version: number; description: string }[] = [];
    for (let i = 0; i < perProcess; i++) {
      const v = await store.registerVersion({
        model: "race",
        runId: run.id,
        bundleHash: HASH,
        metrics: { i },
        lineage: LINEAGE,
        description: `parent-${i}`,
      });
      await store.setAlias("race", "production", v.version, { actor: "parent", reason: `parent-${i}` });
      mine.push({ version: v.version, description: `parent-${i}` });
    }
    const theirs: { version: number; description: string }[] = [];
    for (const r of racers) theirs.push(...JSON.parse((await r.lines.next()).value as string));
    for (const r of racers) expect(await exited(r)).toBe(0);

    const total = 4 * perProcess;
    const versions = await store.listVersions("race");
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const claimed = [...mine, ...theirs];
    expect(claimed).toHaveLength(total);
    for (const c of claimed) expect(versions[c.version - 1].description).toBe(c.description);
    expect(new Set(versions.map((v) => v.description)).size).toBe(total);

    const history = await store.aliasHistory("race", "production");
    expect(history).toHaveLength(total);
    expect(history[0].from).toBeUndefined();
    for (let i = 1; i < total; i++) expect(history[i].from).toBe(history[i - 1].to);
    expect((await store.resolveAlias("race", "production"))?.version).toBe(history[total - 1].to);
    expect(await readdir(join(root, "locks"))).toEqual([]);
  });

  it("a lock held by a live process blocks; once that process is killed it is broken", async () => {
    const root = await tempRoot();
    const store = new FileMetadataStore(root, { lockTimeoutMs: 300 });
    const run = await store.createRun({ pipeline: "p" });
    const lockDir = join(root, "locks", "model-phish.lock");
    const holder = child("hold", lockDir);
    expect((await holder.lines.next()).value).toBe("held");
    const owner = JSON.parse(await readFile(join(lockDir, "owner.json"), "utf8"));
    expect(owner.pid).toBe(holder.pid);

    const register = () =>
      store.registerVersion({
        model: "phish",
        runId: run.id,
        bundleHash: HASH,
        metrics: {},
        lineage: LINEAGE,
      });
    const err = await expectCode(register(), "NW_STORE_LOCKED");
    expect(err.where).toBe(lockDir);
    expect(err.message).toContain(`pid ${holder.pid}`);
    expect(err.details?.owner).toMatchObject({ pid: holder.pid });
    expect(await store.listModels()).toEqual([]);

    holder.kill("SIGKILL"); // a crash: no chance to release
    expect(await exited(holder)).toBe("SIGKILL");
    expect((await register()).version).toBe(1);
    expect(await readdir(join(root, "locks"))).toEqual([]);
  });
});

const CHILD_SCRIPT = `
import { join } from "node:path";
import { pathToFileURL } from "node:url";
const [dist, mode, ...args] = process.argv.slice(2);
const load = (file) => import(pathToFileURL(join(dist, "store", file)).href);

if (mode === "hold") {
  const { withLock } = await load("lock.js");
  await withLock(args[0], () => new Promise(() => {
    setInterval(() => {}, 60_000);
    process.stdout.write("held\\n");
  }));
} else if (mode === "race") {
  const { FileMetadataStore } = await load("file-metadata.js");
  const [root, model, runId, count, tag] = args;
  const store = new FileMetadataStore(root, { lockTimeoutMs: 60_000 });
  const lineage = { dataFingerprint: "d".repeat(64), configHash: "c".repeat(64), codeVersion: "0.1.0" };
  process.stdout.write("ready\\n");
  await new Promise((resolve) => process.stdin.once("data", resolve));
  const out = [];
  for (let i = 0; i < Number(count); i++) {
    const description = tag + "-" + i;
    const v = await store.registerVersion({ model, runId, bundleHash: "a".repeat(64), metrics: { i }, lineage, description });
    await store.setAlias(model, "production", v.version, { actor: tag, reason: description });
    out.push({ version: v.version, description });
  }
  process.stdout.write(JSON.stringify(out) + "\\n");
  process.exit(0);
}
`;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    c.stdout.on("data", (d) => {
      out += d;
    });
    c.stderr.on("data", (d) => {
      out += d;
    });
    c.on("error", reject);
    c.on("close", () => resolve(out));
  });
}

function lineReader(c: ChildProcess): AsyncIterator<string> {
  const lines: string[] = [];
  const waiting: ((r: IteratorResult<string>) => void)[] = [];
  let buffer = "";
  let ended = false;
  c.stdout?.on("data", (d: Buffer) => {
    buffer += d.toString("utf8");
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const w = waiting.shift();
      if (w) w({ value: line, done: false });
      else lines.push(line);
    }
  });
  c.stdout?.on("end", () => {
    ended = true;
    for (const w of waiting.splice(0)) w({ value: undefined, done: true });
  });
  return {
    next: () =>
      new Promise((resolve) => {
        const line = lines.shift();
        if (line !== undefined) resolve({ value: line, done: false });
        else if (ended) resolve({ value: undefined, done: true });
        else waiting.push(resolve);
      }),
  };
}

/** The exit code, or the signal that ended the process, once the OS has reaped it. */
function exited(c: ChildProcess): Promise<number | string | null> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(c.exitCode ?? c.signalCode);
  return new Promise((resolve) => c.once("exit", (code, signal) => resolve(code ?? signal)));
}
