import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadServeConfig, parseServeConfig } from "./serve.js";

const KEY = `admin:0123abcd:${"a".repeat(32)}:${"b".repeat(64)}`;

describe("serve config", () => {
  it("fills defaults when there is no file and no variable", () => {
    const c = parseServeConfig(undefined, "(defaults)", {});
    expect(c).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      alias: "production",
      poll_ms: 2000,
      unknown_values: "error",
      auth: { keys: [], predict: false },
      cors: { origins: [] },
      rate_limit: { enabled: false },
      prediction_log: { enabled: true, queue_rows: 200_000 },
      limits: { body_bytes: 10 * 1024 * 1024, csv_rows: 1_000_000 },
    });
    expect(c.models).toBeUndefined();
  });

  it("reads the YAML, then lets NETWARDEN_SERVE_* variables override single keys", () => {
    const dir = mkdtempSync(join(tmpdir(), "nw-servecfg-"));
    const yaml = [
      "port: 9000",
      "models: [phishing]",
      "auth:",
      `  keys: ["${KEY}"]`,
      "jobs:",
      "  train_configs: { phishing: ./phishing.yaml }",
      "",
    ].join("\n");
    const c = parseServeConfig(yaml, join(dir, "serve.yaml"), {
      NETWARDEN_SERVE_PORT: "9100",
      NETWARDEN_SERVE_REQUIRE_KEY: "true",
      NETWARDEN_SERVE_CORS_ORIGINS: "https://a.example, https://b.example",
      NETWARDEN_SERVE_RATE_LIMIT: "50",
      NETWARDEN_SERVE_PREDICTION_LOG: "off",
    });
    expect(c.port).toBe(9100);
    expect(c.models).toEqual(["phishing"]);
    expect(c.auth).toEqual({ keys: [KEY], predict: true });
    expect(c.cors.origins).toEqual(["https://a.example", "https://b.example"]);
    expect(c.rate_limit).toEqual({ enabled: true, max: 50, window_ms: 1000 });
    expect(c.prediction_log.enabled).toBe(false);
    expect(c.jobs.train_configs.phishing).toBe(join(dir, "phishing.yaml"));
  });

  it("names the file position or the variable of a bad value, and suggests misspelt keys", () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as { code: string; message: string; where?: string };
      }
      throw new Error("no error");
    };
    const typo = err(() => parseServeConfig("port: 80\nlimts:\n  csv_rows: 5\n", "serve.yaml", {}));
    expect(typo).toMatchObject({ code: "NW_CONFIG_UNKNOWN_KEY", where: "serve.yaml:2:1" });
    expect(typo.message).toContain("Did you mean `limits`?");
    const range = err(() => parseServeConfig("limits:\n  csv_rows: 0\n", "serve.yaml", {}));
    expect(range).toMatchObject({ code: "NW_CONFIG_INVALID_VALUE", where: "serve.yaml:2:13" });
    expect(range.message).toContain("`limits.csv_rows` must be ≥ 1, got 0");
    const env = err(() => parseServeConfig(undefined, "(defaults)", { NETWARDEN_SERVE_PORT: "eighty" }));
    expect(env).toMatchObject({
      code: "NW_CONFIG_INVALID_VALUE",
      where: "environment variable NETWARDEN_SERVE_PORT",
    });
    const key = err(() => parseServeConfig(undefined, "(defaults)", { NETWARDEN_SERVE_API_KEYS: "secret" }));
    expect(key.where).toBe("environment variable NETWARDEN_SERVE_API_KEYS");
    const policy = err(() => parseServeConfig("unknown_values: ignore\n", "serve.yaml", {}));
    expect(policy.message).toContain('must be one of "error", "unknown"');
    expect(err(() => parseServeConfig("port: [1\n", "serve.yaml", {})).code).toBe("NW_CONFIG_YAML");
  });

  it("reports a missing file with NW_CONFIG_NOT_FOUND", async () => {
    await expect(loadServeConfig("/nonexistent/serve.yaml", {})).rejects.toMatchObject({
      code: "NW_CONFIG_NOT_FOUND",
    });
    const dir = mkdtempSync(join(tmpdir(), "nw-servecfg-"));
    writeFileSync(join(dir, "s.yaml"), "alias: staging\n");
    expect((await loadServeConfig(join(dir, "s.yaml"), {})).alias).toBe("staging");
  });
});
