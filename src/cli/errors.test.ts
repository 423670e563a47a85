import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  cli,
  halfWritten,
  PHISHING_CSV,
  phishingConfig,
  phishingLines,
  workspace,
} from "./test-support/workspace.js";

/** The error contract: one paragraph on stderr with a stable code, a non-zero exit, no stack trace. */
function expectCleanFailure(r: { code: number; out: string; err: string }, code: string, exit: number): void {
  expect(r.code).toBe(exit);
  const lines = r.err.trimEnd().split("\n");
  const last = lines[lines.length - 1];
  expect(last.startsWith(`error: ${code}: `)).toBe(true);
  expect(r.err).not.toMatch(/\n\s+at /); // no stack frames
  expect(r.err).not.toContain("Error:");
  expect(last.length).toBeGreaterThan(40); // says what, where and what to do
}

describe("netwarden train: bad input gets a coded one-paragraph error and leaves nothing half-written", () => {
  it("missing data file", async () => {
    const ws = workspace();
    const cfg = ws.file("p.yaml", phishingConfig({ data: join(ws.dir, "nope.csv") }));
    const r = await cli(["train", "-c", cfg, "--home", ws.home]);
    expectCleanFailure(r, "NW_DATA_NOT_FOUND", 3);
    expect(r.err).toContain("nope.csv");
    expect(halfWritten(ws.home)).toEqual([]);
  });

  it("malformed YAML", async () => {
    const ws = workspace();
    const cfg = ws.file("p.yaml", "name: broken\ndata:\n  path: [unclosed\nschema: {}\n");
    const r = await cli(["train", "-c", cfg, "--home", ws.home]);
    expectCleanFailure(r, "NW_CONFIG_YAML", 2);
    expect(r.err).toMatch(/p\.yaml:\d+:\d+/);
    expect(halfWritten(ws.home)).toEqual([]);
  });

  it("unknown config key, with its line and a suggestion", async () => {
    const ws = workspace();
    const text = phishingConfig({ data: PHISHING_CSV }).replace("  test_size: 0.2", "  test_sise: 0.2");
    const cfg = ws.file("p.yaml", text);
    const r = await cli(["train", "-c", cfg, "--home", ws.home]);
    expectCleanFailure(r, "NW_CONFIG_UNKNOWN_KEY", 2);
    expect(r.err).toContain("test_sise");
    expect(r.err).toContain("Did you mean `test_size`?");
    expect(halfWritten(ws.home)).toEqual([]);
  });

  it("unknown hyper-parameter in a model entry", async () => {
    const ws = workspace();
    const text = phishingConfig({ data: PHISHING_CSV }).replace("n_estimators: 20", "n_estimator: 20");
    const cfg = ws.file("p.yaml", text);
    const r = await cli(["train", "-c", cfg, "--home", ws.home]);
    expectCleanFailure(r, "NW_CONFIG_UNKNOWN_KEY", 2);
    expect(r.err).toContain("n_estimator");
    expect(r.err).toContain("n_estimators");
    expect(halfWritten(ws.home)).toEqual([]);
  });

  it("CSV missing a schema column", async () => {
    const ws = workspace();
    const { header, rows } = phishingLines();
    const cols = header.split(",");
    const drop = cols.indexOf("port");
    const strip = (line: string) =>
      line
        .split(",")
        .filter((_, i) => i !== drop)
        .join(",");
    const data = ws.file("d.csv", `${[strip(header), ...rows.slice(0, 400).map(strip)].join("\n")}\n`);
    const r = await cli(["train", "-c", ws.file("p.yaml", phishingConfig({ data })), "--home", ws.home]);
    expectCleanFailure(r, "NW_SCHEMA_MISSING_COLUMN", 3);
    expect(r.err).toContain("`port`");
    expect(halfWritten(ws.home)).toEqual([]);
  });

  it("text in a numeric column", async () => {
    const ws = workspace();
    const { header, rows } = phishingLines();
    const bad = rows.slice(0, 400);
    bad[9] = bad[9].replace(/^[^,]+,[^,]+/, (m) => `${m.split(",")[0]},abc`); // URL_Length on line 11
    const data = ws.file("d.csv", `${[header, ...bad].join("\n")}\n`);
    const r = await cli(["train", "-c", ws.file("p.yaml", phishingConfig({ data })), "--home", ws.home]);
    expectCleanFailure(r, "NW_VALIDATION_FAILED", 3);
    expect(r.err).toContain("line 11");
    expect(r.err).toContain("URL_Length");
    expect(r.err).toContain('"abc"');
    expect(r.err).toContain("quarantine.jsonl");
    expect(halfWritten(ws.home)).toEqual([]);
    // The failed run explains itself: its quarantine holds the bad row.
    const runs = JSON.parse((await cli(["runs", "list", "--json", "--home", ws.home])).out).runs;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: "failed", error: { code: "NW_VALIDATION_FAILED" } });
    const q = await cli(["runs", "artifact", runs[0].id, "quarantine.jsonl", "--home", ws.home]);
    expect(q.code).toBe(0);
    const lines = q.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0].line).toBe(11);
    expect(lines[0].reasons.join(" ")).toContain("URL_Length");
  });

  it("empty file", async () => {
    const ws = workspace();
    const data = ws.file("empty.csv", "");
    const r = await cli(["train", "-c", ws.file("p.yaml", phishingConfig({ data })), "--home", ws.home]);
    expectCleanFailure(r, "NW_DATA_EMPTY", 3);
    const headerOnly = ws.file("header.csv", `${phishingLines().header}\n`);
    const r2 = await cli([
      "train",
      "-c",
      ws.file("p2.yaml", phishingConfig({ data: headerOnly })),
      "--home",
      ws.home,
    ]);
    expectCleanFailure(r2, "NW_DATA_EMPTY", 3);
    expect(halfWritten(ws.home)).toEqual([]);
  });

  it("target with one class", async () => {
    const ws = workspace();
    const { header, rows } = phishingLines();
    const legit = rows.filter((r) => r.endsWith(",1")).slice(0, 300);
    const data = ws.file("d.csv", `${[header, ...legit].join("\n")}\n`);
    const r = await cli(["train", "-c", ws.file("p.yaml", phishingConfig({ data })), "--home", ws.home]);
    expectCleanFailure(r, "NW_TARGET_ONE_CLASS", 3);
    expect(r.err).toContain("`Result`");
    expect(halfWritten(ws.home)).toEqual([]);
  });

  it("a test split with a class the train split lacks", async () => {
    const ws = workspace();
    const { header, rows } = phishingLines();
    const train = ws.file("train.csv", `${[header, ...rows.slice(0, 400)].join("\n")}\n`);
    const testRows = rows.slice(400, 500);
    testRows[3] = testRows[3].replace(/,-?1$/, ",0");
    const test = ws.file("test.csv", `${[header, ...testRows].join("\n")}\n`);
    const text = phishingConfig({ train, test }).replace(
      "Result: { role: target, type: categorical, allowed: [-1, 1] }",
      "Result: { role: target, type: categorical, allowed: [-1, 0, 1] }",
    );
    const r = await cli(["train", "-c", ws.file("p.yaml", text), "--home", ws.home]);
    expectCleanFailure(r, "NW_SPLIT_UNSEEN_CLASS", 3);
    expect(r.err).toContain('"0"');
    expect(r.err).toContain("test.csv");
    expect(halfWritten(ws.home)).toEqual([]);
  });
});

describe("netwarden command line", () => {
  it("unknown commands and options are coded usage errors with suggestions", async () => {
    const a = await cli(["trian"]);
    expectCleanFailure(a, "NW_CLI_UNKNOWN_COMMAND", 2);
    expect(a.err).toContain("did you mean `train`?");
    const b = await cli(["train", "--confg", "x.yaml"]);
    expectCleanFailure(b, "NW_CLI_UNKNOWN_OPTION", 2);
    expect(b.err).toContain("--config");
    const c = await cli(["train"]);
    expectCleanFailure(c, "NW_CLI_MISSING_ARGUMENT", 2);
    const d = await cli(["models", "promte", "x", "1"]);
    expectCleanFailure(d, "NW_CLI_UNKNOWN_COMMAND", 2);
    expect(d.err).toContain("models promote");
    const e = await cli(["train", "-c", "does-not-exist.yaml"]);
    expectCleanFailure(e, "NW_CONFIG_NOT_FOUND", 2);
  });

  it("--json puts a machine-readable error on stdout", async () => {
    const r = await cli(["train", "-c", "nope.yaml", "--json"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toMatchObject({ error: { code: "NW_CONFIG_NOT_FOUND" } });
  });

  it("help lists every command and each command has its own help", async () => {
    const r = await cli(["help"]);
    expect(r.code).toBe(0);
    for (const c of [
      "quickstart",
      "train",
      "serve",
      "runs list",
      "models promote",
      "models rollback",
      "schema infer",
      "datasets fetch",
    ]) {
      expect(r.out).toContain(c);
    }
    const t = await cli(["train", "--help"]);
    expect(t.out).toContain("-c, --config <file>");
  });
});
