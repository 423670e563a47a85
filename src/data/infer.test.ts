import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { dataDir, type NetwardenError } from "../core/index.js";
import { readCsv } from "./csv.js";
import { describeFacts, inferSchema, schemaToYaml } from "./infer.js";

const dir = mkdtempSync(join(tmpdir(), "nw-infer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("inferSchema on a small file", () => {
  const lines = ["id,flag,level,score,colour,note,label"];
  const colours = ["red", "green", "blue"];
  for (let i = 0; i < 30; i++) {
    const note = i === 3 ? "NA" : `n${i}`;
    lines.push(
      `${i + 1},${i % 2},${i % 4},${(i * 1.5).toFixed(1)},${colours[i % 3]},${note},${i % 3 === 0 ? "bad" : "good"}`,
    );
  }
  const path = join(dir, "small.csv");
  writeFileSync(path, `${lines.join("\n")}\n`);

  it("drafts roles and types by the documented rules", async () => {
    const inf = await inferSchema(path);
    const byName = Object.fromEntries(inf.schema.columns.map((c) => [c.name, c]));
    expect(inf.target).toBe("label");
    expect(byName.id).toMatchObject({ role: "id", type: "numeric" });
    expect(byName.flag).toMatchObject({ role: "feature", type: "binary", allowed: [0, 1] });
    expect(byName.level).toMatchObject({ role: "feature", type: "numeric", allowed: [0, 1, 2, 3] });
    expect(byName.score).toEqual({ name: "score", role: "feature", nullable: true, type: "numeric" });
    expect(byName.note).toMatchObject({ type: "categorical" });
    expect(byName.note.allowed).toHaveLength(29);
    expect(byName.label).toMatchObject({
      role: "target",
      type: "categorical",
      nullable: false,
      allowed: ["bad", "good"],
    });
    // colour repeats every 3 rows, as the label does: colour = red ⇔ label = bad, so it is set aside.
    expect(byName.colour.role).toBe("ignore");
    expect(inf.notes.join(" ")).toContain("`colour` is tied to the target `label`");

    const score = inf.facts.find((f) => f.name === "score")!;
    expect(score).toMatchObject({ kind: "numeric", rows: 30, missing: 0, distinct: 30, min: 0, max: 43.5 });
    const note = inf.facts.find((f) => f.name === "note")!;
    expect(note).toMatchObject({ kind: "text", missing: 1, distinct: 29 });
    expect(inf.facts.find((f) => f.name === "id")!.rowCounter).toBe(true);
    expect(inf.facts.find((f) => f.name === "level")!.sampleValues).toEqual([
      { value: 0, count: 8 },
      { value: 1, count: 8 },
      { value: 2, count: 7 },
      { value: 3, count: 7 },
    ]);
  });

  it("adds observed ranges when asked, takes a given target, and rejects an unknown one", async () => {
    const inf = await inferSchema(path, { ranges: true, target: "flag" });
    const byName = Object.fromEntries(inf.schema.columns.map((c) => [c.name, c]));
    expect(byName.score).toMatchObject({ min: 0, max: 43.5 });
    expect(byName.flag.role).toBe("target");
    expect(byName.label.role).toBe("feature");
    try {
      await inferSchema(path, { target: "lable" });
      expect.unreachable();
    } catch (e) {
      expect((e as NetwardenError).code).toBe("NW_SCHEMA_MISSING_COLUMN");
      expect((e as NetwardenError).hint).toContain("`label`");
    }
  });

  it("reads only sampleRows rows", async () => {
    const inf = await inferSchema(path, { sampleRows: 10 });
    expect(inf.rowsRead).toBe(10);
    expect(inf.facts[0].max).toBe(10);
  });

  it("renders YAML that parses back to the draft, with a comment per column", async () => {
    const inf = await inferSchema(path);
    const text = schemaToYaml(inf);
    const section = parse(text).schema;
    expect(Object.keys(section.columns)).toEqual(inf.schema.columns.map((c) => c.name));
    for (const c of inf.schema.columns) {
      const entry = section.columns[c.name];
      expect(entry.role ?? "feature").toBe(c.role);
      expect(entry.type).toBe(c.role === "target" ? "categorical" : c.type);
      expect(entry.allowed).toEqual(c.allowed);
    }
    expect(section.target).toBe(inf.target ?? undefined);
    expect(text).toContain("# integers; 2 distinct: 0 ×15, 1 ×15; no missing");
    expect(text).toContain("# text; 29 distinct");
    expect(text).toContain("1 missing (3.3 %)");
    expect(text).toContain("# row counter 1..30; no missing");
    expect(text).toContain("— ignored: tied to the target");
    expect(text).toContain("# NOTE: `colour` is tied");
    expect(text.match(/^ {4}# /gm)).toHaveLength(inf.schema.columns.length);
  });
});

describe("inferSchema on the real files", () => {
  it("phishing: 30 features with their value sets and Result as the binary target", async () => {
    const inf = await inferSchema(join(dataDir(), "phishing_websites.csv"));
    expect(inf.rowsRead).toBe(11_055);
    expect(inf.target).toBe("Result");
    const byName = Object.fromEntries(inf.schema.columns.map((c) => [c.name, c]));
    expect(byName.Result).toMatchObject({ role: "target", type: "binary", allowed: [-1, 1] });
    expect(byName.Redirect).toMatchObject({ type: "binary", allowed: [0, 1] });
    expect(byName.URL_Length).toMatchObject({ type: "numeric", allowed: [-1, 0, 1] });
    expect(byName.having_IP_Address).toMatchObject({ type: "binary", allowed: [-1, 1] });
    const three = inf.schema.columns.filter((c) => c.allowed?.length === 3).map((c) => c.name);
    expect(three.sort()).toEqual(
      [
        "URL_Length",
        "having_Sub_Domain",
        "SSLfinal_State",
        "URL_of_Anchor",
        "Links_in_tags",
        "SFH",
        "web_traffic",
        "Links_pointing_to_page",
      ].sort(),
    );
    expect(inf.schema.columns.filter((c) => c.role === "feature")).toHaveLength(30);
    expect(inf.notes).toEqual([]);
    const facts = inf.facts.find((f) => f.name === "Result")!;
    expect(describeFacts(facts)).toBe("integers; 2 distinct: 1 ×6,157, -1 ×4,898; no missing");
    // The draft reads the file back without a single issue.
    const again = await readCsv(join(dataDir(), "phishing_websites.csv"), { schema: inf.schema });
    expect(again.rowIssues).toEqual([]);
  });

  it("UNSW-NB15: id is a row counter, label the target, attack_cat set aside as a second label", async () => {
    const inf = await inferSchema(join(dataDir(), "unsw_nb15_testing.csv.gz"));
    const byName = Object.fromEntries(inf.schema.columns.map((c) => [c.name, c]));
    expect(byName.id.role).toBe("id");
    expect(byName.label).toMatchObject({ role: "target", type: "binary", allowed: [0, 1] });
    expect(byName.attack_cat.role).toBe("ignore");
    expect(byName.proto).toMatchObject({ type: "categorical" });
    expect(byName.proto.allowed).toBeUndefined(); // 131 values: more than 50
    expect(byName.service.allowed).toContain("-");
    expect(byName.service.allowed).toHaveLength(13);
    expect(byName.is_ftp_login).toMatchObject({ type: "numeric", allowed: [0, 1, 2] });
    const service = inf.facts.find((f) => f.name === "service")!;
    expect(service.sampleValues[0]).toEqual({ value: "-", count: 47_153 });
  });
});
