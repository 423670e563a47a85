import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, halfWritten, PHISHING_CSV, phishingConfig, REPO, workspace } from "./test-support/workspace.js";

describe("netwarden train on the real data", () => {
  it("phishing example: accuracy ≥ 0.96 on a stratified seeded 80/20 split, leakage reported, reproducible", async () => {
    const ws = workspace();
    const human = await cli(["train", "-c", "examples/phishing.yaml", "--home", ws.home]);
    expect(human.code).toBe(0);
    expect(human.out).toContain("stratified split");
    expect(human.out).toMatch(/duplicate leakage: [\d,]+ of 2,211 test rows/);
    expect(human.out).toContain("per class:");
    expect(human.out).toContain("-1 (phishing)");
    expect(human.out).toContain("registered phishing v1 → @candidate");

    const json = await cli(["train", "-c", "examples/phishing.yaml", "--home", ws.home, "--json"]);
    expect(json.code).toBe(0);
    const o = JSON.parse(json.out);
    expect(o.data).toMatchObject({ trainRows: 8844, testRows: 2211, classes: ["-1", "1"] });
    expect(o.metrics["test.accuracy"]).toBeGreaterThanOrEqual(0.96);
    expect(o.accepted).toBe(true);
    expect(o.version).toBe(2);
    expect(o.findings.some((f: string) => f.startsWith("duplicate leakage"))).toBe(true);

    // Same config + data ⇒ identical metrics and identical bundle bytes (content hash).
    const show = JSON.parse((await cli(["models", "show", "phishing", "--json", "--home", ws.home])).out);
    const [v1, v2] = show.versions;
    expect(v2.bundleHash).toBe(v1.bundleHash);
    expect(v2.metrics).toEqual(v1.metrics);
    expect(v1.lineage.dataFingerprint).toBe(o.data.fingerprint);
    const printed = Number(/accuracy\s+(0\.\d+)/.exec(human.out)?.[1]);
    expect(printed).toBeCloseTo(o.metrics["test.accuracy"], 4);
    expect(halfWritten(ws.home).filter((p) => !p.startsWith("registered model file"))).toEqual([]);
  });

  it("UNSW-NB15 multi-class: accuracy, macro-F1 and the per-class table", async () => {
    const ws = workspace();
    // The example pipeline with fewer rounds and folds, to keep the suite fast.
    const text = readFileSync(join(REPO, "examples", "unsw-nb15-multiclass.yaml"), "utf8")
      .replace(
        /^data:\n {2}path: .*$/m,
        `data:\n  path: ${join(REPO, "..", "shared", "data", "unsw_nb15_testing.csv.gz")}`,
      )
      .replace(/n_estimators: \d+/, "n_estimators: 15")
      .replace(/max_depth: \d+/, "max_depth: 6")
      .replace(/cv_folds: \d+/, "cv_folds: 2");
    const cfg = ws.file("unsw.yaml", text);
    const r = await cli(["train", "-c", cfg, "--home", ws.home]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/accuracy\s+0\.(8|9)\d{3}/);
    expect(r.out).toMatch(/macro F1\s+0\.\d{4}/);
    for (const c of [
      "Analysis",
      "Backdoor",
      "DoS",
      "Exploits",
      "Fuzzers",
      "Generic",
      "Normal",
      "Reconnaissance",
      "Shellcode",
      "Worms",
    ]) {
      expect(r.out).toMatch(
        new RegExp(`\\n\\s+${c}\\s+[01]\\.\\d{4}\\s+[01]\\.\\d{4}\\s+[01]\\.\\d{4}\\s+\\d+`),
      );
    }
    expect(r.out).toContain("65,866 train / 16,466 test rows");
    expect(r.err).toContain("smallest class `Worms`");
  });
});

describe("registry commands", () => {
  it("promote, rollback, gate against production, runs list/show", async () => {
    const ws = workspace();
    const cfg = ws.file("p.yaml", phishingConfig({ data: PHISHING_CSV }));
    const home = ["--home", ws.home];
    expect((await cli(["train", "-c", cfg, ...home])).code).toBe(0);
    expect((await cli(["train", "-c", cfg, ...home])).code).toBe(0);

    const p1 = await cli(["models", "promote", "phishing", "1", ...home]);
    expect(p1.out).toContain("phishing@production: (none) -> v1");
    const p2 = await cli(["models", "promote", "phishing", "2", "--reason", "better", ...home]);
    expect(p2.out).toContain("v1 -> v2");
    const rb = await cli(["models", "rollback", "phishing", ...home]);
    expect(rb.code).toBe(0);
    expect(rb.out).toContain("v2 -> v1");
    const none = await cli(["models", "promote", "phishing", "9", ...home]);
    expect(none.code).toBe(5);
    expect(none.err).toContain("NW_STORE_NOT_FOUND");

    const list = await cli(["models", "list", ...home]);
    expect(list.out).toMatch(/phishing\s+2\s+candidate=v2 production=v1/);

    // A candidate worse than production by more than max_regression is rejected and not registered.
    const worse = phishingConfig({ data: PHISHING_CSV })
      .replace("params: { n_estimators: 20, max_depth: 4 }", "params: { n_estimators: 1, max_depth: 1 }")
      .replace("  min: 0.9\n", "  min: null\n");
    const rej = await cli(["train", "-c", ws.file("worse.yaml", worse), ...home]);
    expect(rej.code).toBe(4);
    expect(rej.err).toContain("NW_GATE_REJECTED");
    expect(rej.out).toMatch(/vs @production v1 0\.\d{4} on the same test rows: worse by/);
    const versions = JSON.parse((await cli(["models", "show", "phishing", "--json", ...home])).out).versions;
    expect(versions).toHaveLength(2);

    const runs = JSON.parse((await cli(["runs", "list", "--json", ...home])).out).runs;
    expect(runs.map((r: { status: string }) => r.status)).toEqual(["rejected", "finished", "finished"]);
    const shown = await cli(["runs", "show", runs[0].id, ...home]);
    expect(shown.out).toContain("bundle.json");
    expect(shown.out).toContain("validation.txt");
    const report = await cli(["runs", "artifact", runs[1].id, "validation.txt", ...home]);
    expect(report.out).toContain("duplicate leakage");
  });
});
