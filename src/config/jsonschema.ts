import { z } from "zod";
import type { Path } from "./paths.js";
import { COLUMN_TYPES, pipelineSchema } from "./schema.js";

type JsonSchema = Record<string, unknown>;

/** JSON Schema of one hyper-parameter, built by the caller from the learner's spec (config knows no learners). */
export type ParamDoc = Record<string, unknown>;

let cached: JsonSchema | undefined;

function baseSchema(): JsonSchema {
  cached ??= z.toJSONSchema(pipelineSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  return cached;
}

/**
 * JSON Schema (draft 2020-12) of the pipeline YAML, for editors. With `learners`, each model entry's
 * `params` and `grid` are typed per `kind`.
 */
export function pipelineJsonSchema(learners: Record<string, Record<string, ParamDoc>> = {}): JsonSchema {
  const schema = structuredClone(baseSchema());
  schema.title = "netwarden pipeline";
  const props = schema.properties as Record<string, JsonSchema>;
  // Column entries also accept the shorthand `name: numeric`.
  const columns = ((props.schema.properties as Record<string, JsonSchema>).columns as JsonSchema)
    .additionalProperties as JsonSchema;
  ((props.schema.properties as Record<string, JsonSchema>).columns as JsonSchema).additionalProperties = {
    anyOf: [{ type: "string", enum: [...COLUMN_TYPES] }, columns],
  };
  const kinds = Object.keys(learners);
  if (kinds.length) {
    const entry = (props.models as JsonSchema).items as JsonSchema;
    const entryProps = entry.properties as Record<string, JsonSchema>;
    entryProps.kind = { ...entryProps.kind, enum: kinds };
    entry.allOf = kinds.map((kind) => {
      const params: Record<string, JsonSchema> = {};
      for (const [name, doc] of Object.entries(learners[kind])) params[name] = doc;
      const gridProps = Object.fromEntries(
        Object.entries(params).map(([k, v]) => [k, { type: "array", items: v }]),
      );
      return {
        if: { properties: { kind: { const: kind } } },
        // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword
        then: {
          properties: {
            params: { type: "object", properties: params, additionalProperties: false },
            grid: { type: "object", properties: gridProps, additionalProperties: false },
          },
        },
      };
    });
  }
  return schema;
}

/** Keys the schema allows in the mapping at `path` (for "did you mean" suggestions). */
export function knownKeysAt(path: Path, _raw?: unknown): string[] {
  let node: JsonSchema | undefined = baseSchema();
  for (const seg of path) {
    if (!node) return [];
    node = unwrap(node);
    if (typeof seg === "number") node = node.items as JsonSchema | undefined;
    else {
      const props = node.properties as Record<string, JsonSchema> | undefined;
      node =
        props?.[seg] ??
        (typeof node.additionalProperties === "object"
          ? (node.additionalProperties as JsonSchema)
          : undefined);
    }
  }
  if (!node) return [];
  const props = unwrap(node).properties as Record<string, unknown> | undefined;
  return props ? Object.keys(props) : [];
}

function unwrap(node: JsonSchema): JsonSchema {
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    const options = node[key] as JsonSchema[] | undefined;
    const obj = options?.find((o) => o.type === "object" || o.properties);
    if (obj) return obj;
  }
  return node;
}
