import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NetwardenError } from "../core/index.js";
import { loadPipelineConfig, parsePipelineConfig } from "./load.js";

const minimal = `
name: demo
data:
  path: data.csv
schema:
  target: y
  columns:
    x: numeric
    y: { role: target, type: categorical }
models:
  - kind: gbdt
`;

function fail(text: string, env: NodeJS.ProcessEnv = {}): NetwardenError {
  try {
    parsePipelineConfig(text, join(process.cwd(), "p.yaml"), env);
  } catch (e) {
    if (e instanceof NetwardenError) return e;
    throw e;
  }
  throw new Error("expected the config to be rejected");
}

describe("pipeline config", () => {
  it("fills defaults and resolves data paths against the config's folder", () => {
    const c = parsePipelineConfig(minimal, "/some/dir/p.yaml", {});
    expect(c.config.data.path).toBe("/some/dir/data.csv");
    expect(c.config.split).toEqual({ test_size: 0.2, seed: 42, stratify: true, dedupe: "none" });
    expect(c.config.schema.columns.x).toEqual({ role: "feature", type: "numeric" });
    expect(c.config.validation.invalid_rows).toEqual({ warn: 0, fail: 0 });
    expect(c.config.validation.drift.psi).toBe(0.2);
    expect(c.config.gate.compare_alias).toBe("production");
    expect(c.config.register.aliases).toEqual(["candidate"]);
    expect(c.config.models[0]).toEqual({ kind: "gbdt", params: {}, grid: {} });
  });

  it("hashes what shapes the model, not where the data lives", () => {
    const a = parsePipelineConfig(minimal, "/a/p.yaml", {});
    const b = parsePipelineConfig(minimal, "/b/p.yaml", {});
    const c = parsePipelineConfig(minimal.replace("kind: gbdt", "kind: logreg"), "/a/p.yaml", {});
    expect(a.hash).toBe(b.hash);
    expect(a.hash).not.toBe(c.hash);
  });

  it("interpolates environment variables with defaults", () => {
    const text = minimal.replace("path: data.csv", "path: ${DD:-/fallback}/data.csv");
    expect(parsePipelineConfig(text, "/x/p.yaml", {}).config.data.path).toBe("/fallback/data.csv");
    expect(parsePipelineConfig(text, "/x/p.yaml", { DD: "/real" }).config.data.path).toBe("/real/data.csv");
    const e = fail(minimal.replace("path: data.csv", "path: ${NOPE}/data.csv"));
    expect(e.code).toBe("NW_CONFIG_ENV");
    expect(e.where).toBe("p.yaml:4:9");
  });

  it("names an unknown key, where it is, and what was probably meant", () => {
    const e = fail(minimal.replace("schema:", "split:\n  test_sise: 0.3\nschema:"));
    expect(e.code).toBe("NW_CONFIG_UNKNOWN_KEY");
    expect(e.where).toBe("p.yaml:6:3");
    expect(e.message).toContain("unknown key `test_sise` in `split`");
    expect(e.message).toContain("Did you mean `test_size`?");
  });

  it("finds unknown keys inside column entries", () => {
    const e = fail(
      minimal.replace("{ role: target, type: categorical }", "{ role: target, typ: categorical }"),
    );
    expect(e.code).toBe("NW_CONFIG_UNKNOWN_KEY");
    expect(e.message).toContain("`schema.columns.y`");
    expect(e.message).toContain("Did you mean `type`?");
  });

  it("reports missing keys and wrong values with the expected form", () => {
    const missing = fail(minimal.replace("  target: y\n", ""));
    expect(missing.code).toBe("NW_CONFIG_MISSING_KEY");
    expect(missing.message).toContain("`schema.target` is required");

    const range = fail(`${minimal}split:\n  test_size: 1.5\n`);
    expect(range.code).toBe("NW_CONFIG_INVALID_VALUE");
    expect(range.message).toContain("`split.test_size` must be < 1, got 1.5");
    expect(range.where).toBe("p.yaml:13:14");

    const kind = fail(minimal.replace("x: numeric", "x: numerik"));
    expect(kind.message).toContain(
      '`schema.columns.x.type` must be one of "numeric", "categorical", "binary"',
    );

    const type = fail(`${minimal}gate:\n  min: high\n`);
    expect(type.message).toContain('`gate.min` must be a number, got "high"');
  });

  it("rejects data given both ways or not at all", () => {
    const both = fail(minimal.replace("path: data.csv", "path: a.csv\n  train: b.csv\n  test: c.csv"));
    expect(both.message).toContain("either `path` or `train` + `test`");
    const half = fail(minimal.replace("path: data.csv", "train: b.csv"));
    expect(half.message).toContain("needs both `train` and `test`");
  });

  it("reports YAML syntax errors with a position", () => {
    const e = fail("name: demo\ndata:\n  path: [unclosed\n");
    expect(e.code).toBe("NW_CONFIG_YAML");
    expect(e.where).toMatch(/^p\.yaml:\d+:\d+$/);
    const dup = fail("name: a\nname: b\n");
    expect(dup.code).toBe("NW_CONFIG_YAML");
    expect(dup.message).toMatch(/unique|duplicate/i);
  });

  it("rejects an empty file and a file that is not a mapping", () => {
    expect(fail("").message).toContain("empty");
    expect(fail("- a\n- b\n").message).toContain("mapping");
  });

  it("says when the file does not exist", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nw-config-"));
    await expect(loadPipelineConfig(join(dir, "nope.yaml"))).rejects.toMatchObject({
      code: "NW_CONFIG_NOT_FOUND",
    });
    writeFileSync(join(dir, "ok.yaml"), minimal);
    const c = await loadPipelineConfig(join(dir, "ok.yaml"), {});
    expect(c.config.data.path).toBe(join(dir, "data.csv"));
  });
});
