import { resolve } from "node:path";
import { loadPipelineConfig, type ParamDoc, pipelineJsonSchema } from "../../config/index.js";
import { NetwardenError } from "../../core/index.js";
import { learnerKinds, type ParamSpec, paramSpecs } from "../../ml/index.js";
import { buildCandidates, toDataSchema } from "../../pipeline/index.js";
import type { Command } from "../command.js";

/** A learner parameter as JSON Schema: numbers with their range, named values, null when allowed. */
function paramJsonSchema(spec: ParamSpec): ParamDoc {
  const options: Record<string, unknown>[] = [];
  if (spec.type === "enum") options.push({ type: "string", enum: [...(spec.values ?? [])] });
  else if (spec.type === "bool") options.push({ type: "boolean" });
  else {
    const num: Record<string, unknown> = { type: spec.type === "int" ? "integer" : "number" };
    if (spec.min !== undefined) num[spec.exclusiveMin ? "exclusiveMinimum" : "minimum"] = spec.min;
    if (spec.max !== undefined) num[spec.exclusiveMax ? "exclusiveMaximum" : "maximum"] = spec.max;
    options.push(num);
    if (spec.values?.length) options.push({ type: "string", enum: [...spec.values] });
  }
  if (spec.nullable) options.push({ type: "null" });
  const head = { description: spec.doc, default: spec.default };
  return options.length === 1 ? { ...head, ...options[0] } : { ...head, anyOf: options };
}

/** JSON Schema of pipeline files, with every learner's hyper-parameters typed per kind. */
export function fullJsonSchema(): Record<string, unknown> {
  const learners: Record<string, Record<string, ParamDoc>> = {};
  for (const kind of learnerKinds()) {
    learners[kind] = {};
    for (const [name, spec] of Object.entries(paramSpecs(kind))) learners[kind][name] = paramJsonSchema(spec);
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
