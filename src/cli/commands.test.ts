import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { cli, PHISHING_CSV, workspace } from "./test-support/workspace.js";

describe("netwarden schema infer", () => {
  it("drafts a schema section that a pipeline file accepts", async () => {
    const r = await cli(["schema", "infer", PHISHING_CSV, "--target", "Result"]);
    expect(r.code).toBe(0);
    const section = parse(r.out).schema;
    expect(section.target).toBe("Result");
    expect(section.columns.Result).toEqual({ role: "target", type: "categorical", allowed: [-1, 1] });
    expect(section.columns.URL_Length).toEqual({ type: "numeric", allowed: [-1, 0, 1] });
    expect(r.out).toContain("# integers; 3 distinct");

    // The draft plugs into a pipeline as is.
    const ws = workspace();
    const cfg = ws.file(
      "p.yaml",
      `name: drafted\ndata:\n  path: ${PHISHING_CSV}\n${r.out}\nmodels:\n  - kind: gbdt\n    params: { n_estimators: 5 }\n`,
    );
    const v = await cli(["config", "validate", "-c", cfg]);
    expect(v.code).toBe(0);
    expect(v.out).toContain("valid — 30 features, 1 candidate(s): gbdt");
  });
});

describe("netwarden datasets fetch", () => {
  it("downloads from a mirror into the store's datasets folder and verifies the sha256", async () => {
    const file = readFileSync(PHISHING_CSV);
    const server = createServer((req, res) => {
      if (req.url === "/phishing_websites.csv") res.writeHead(200).end(file);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const ws = workspace();
      const ok = await cli([
        "datasets",
        "fetch",
        "phishing",
        "--url",
        `${url}/phishing_websites.csv`,
        "--home",
        ws.home,
      ]);
      expect(ok.code).toBe(0);
      const saved = join(ws.home, "datasets", "phishing_websites.csv");
      expect(createHash("sha256").update(readFileSync(saved)).digest("hex")).toBe(
        "685e9fbdbe08c8b23fdb82e06cf5e154a8516e93f7b07f8a67328f17f86d0d72",
      );
      const missing = await cli([
        "datasets",
        "fetch",
        "phishing",
        "--url",
        `${url}/gone.csv`,
        "--home",
        ws.home,
      ]);
      expect(missing.code).toBe(6);
      expect(missing.err).toContain("NW_FETCH_FAILED");
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
