import { resolve } from "node:path";
import { loadPipelineConfig, type ParamDoc, pipelineJsonSchema } from "../../config/index.js";
import { NetwardenError } from "../../core/index.js";
import { learnerKinds, paramSpecs } from "../../ml/index.js";
import { buildCandidates, toDataSchema } from "../../pipeline/index.js";
import type { Command } from "../command.js";

/** JSON Schema of pipeline files, with every learner's hyper-parameters typed per kind. */
export function fullJsonSchema(): Record<string, unknown> {
  const learners: Record<string, Record<string, ParamDoc>> = {};
  for (const kind of learnerKinds()) {
    learners[kind] = {};
    for (const [name, s] of Object.entries(paramSpecs(kind))) {
      const doc: ParamDoc = {
        type:
          s.type === "int"
            ? "integer"
            : s.type === "bool"
              ? "boolean"
              : s.type === "enum"
                ? "string"
                : "number",
        description: s.doc,
        default: s.default,
      };
      if (s.values) doc.enum = s.values;
      if (s.min !== undefined) doc[s.exclusiveMin ? "exclusiveMinimum" : "minimum"] = s.min;
      if (s.max !== undefined) doc[s.exclusiveMax ? "exclusiveMaximum" : "maximum"] = s.max;
      if (s.nullable) doc.nullable = true;
      learners[kind][name] = doc;
    }
  }
  return pipelineJsonSchema(learners);
}

export const configSchema: Command = {
  name: "config schema",
  summary: "Print the JSON Schema of pipeline files (for editor completion and checks)",
  description: "The same file is shipped as schema/pipeline.schema.json.",
  options: {},
  positionals: [],
  async run(ctx) {
    ctx.io.stdout.write(`${JSON.stringify(fullJsonSchema(), null, 2)}\n`);
  },
};

export const configValidate: Command = {
  name: "config validate",
  summary: "Check a pipeline file without reading data or training",
  options: { config: { type: "string", short: "c", value: "file", description: "Pipeline YAML file" } },
  positionals: [],
  async run(ctx) {
    const file = ctx.args.options.config as string | undefined;
    if (!file) {
      throw new NetwardenError("NW_CLI_MISSING_ARGUMENT", "`netwarden config validate` needs -c <file>", {
        hint: "Try `netwarden config validate -c examples/phishing.yaml`",
      });
    }
    const loaded = await loadPipelineConfig(resolve(ctx.io.cwd, file), ctx.io.env);
    const schema = toDataSchema(loaded.config, loaded.locate);
    const candidates = buildCandidates(loaded);
    const features = schema.columns.filter((c) => c.role === "feature").length;
    ctx.emit({ valid: true, hash: loaded.hash, features, candidates: candidates.map((c) => c.name) });
    ctx.print(
      `${file}: valid — ${features} features, ${candidates.length} candidate(s): ${candidates.map((c) => c.name).join(", ")}`,
    );
  },
};
