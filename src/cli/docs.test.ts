import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CODES } from "../core/index.js";
import { fullJsonSchema } from "./commands/config.js";
import { COMMANDS } from "./commands/index.js";
import { generatedReadme } from "./docs.js";
import { REPO } from "./test-support/workspace.js";

const readme = readFileSync(join(REPO, "README.md"), "utf8");

/** Dotted key paths of the pipeline schema (map entries and list items shown as <name> / []). */
function keyPaths(node: Record<string, unknown>, prefix = ""): string[] {
  const out: string[] = [];
  const props = node.properties as Record<string, Record<string, unknown>> | undefined;
  for (const [k, v] of Object.entries(props ?? {})) {
    const path = `${prefix}${k}`;
    out.push(path);
    const child = (v.anyOf as Record<string, unknown>[] | undefined)?.find((o) => o.properties) ?? v;
    if (child.properties) out.push(...keyPaths(child, `${path}.`));
    const items = child.items as Record<string, unknown> | undefined;
    if (items?.properties) out.push(...keyPaths(items, `${path}[].`));
  }
  return out;
}

describe("documentation stays true", () => {
  it("the README starts with exactly the two set-up commands", () => {
    const block = /## Set up\n\n```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe("npm ci && npx netwarden quickstart\nnpm test\n");
  });

  it("generated tables (learners, error codes) and the JSON Schema file are current — run `npm run docs`", () => {
    expect(readme).toBe(generatedReadme(readme));
    const file = JSON.parse(readFileSync(join(REPO, "schema", "pipeline.schema.json"), "utf8"));
    expect(file).toEqual(JSON.parse(JSON.stringify(fullJsonSchema())));
  });

  it("documents every command, error code, exit code and environment variable", () => {
    for (const c of COMMANDS) expect(readme, c.name).toContain(`netwarden ${c.name}`);
    for (const code of Object.keys(CODES)) expect(readme, code).toContain(`\`${code}\``);
    for (const v of ["NETWARDEN_HOME", "NETWARDEN_DATA_DIR", "NETWARDEN_ACTOR", "NETWARDEN_DEBUG"]) {
      expect(readme).toContain(`\`${v}\``);
    }
  });

  it("documents every pipeline config key", () => {
    const documented = readme.replace(/\\\|/g, "|");
    for (const path of keyPaths(fullJsonSchema())) {
      const last = path.split(".").pop() as string;
      // Each key appears in the reference table, fully qualified or as a sub-key of a documented parent.
      const ok =
        documented.includes(`\`${path}\``) ||
        documented.includes(`\`${path}.`) ||
        documented.includes(`\`${path}[]`) ||
        documented.includes(`\`${path.replace(/\.(warn|fail)$/, "")}\``) ||
        (path.startsWith("schema.columns") && documented.includes(`\`schema.columns.<name>.${last}\``)) ||
        documented.includes(`\`${path.replace(/^models\[\]/, "models[]")}\``) ||
        (path.startsWith("models[].preprocess") && documented.includes("`models[].preprocess`")) ||
        (path.startsWith("models[].imbalance") && documented.includes("`models[].imbalance`")) ||
        (path.startsWith("preprocess.columns") && documented.includes("`preprocess.columns.<name>`"));
      expect(ok, path).toBe(true);
    }
  });
});
