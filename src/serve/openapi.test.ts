import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type NetwardenServer } from "./server.js";
import { gbdt, phishingStore } from "./test-support/fixtures.js";

/**
 * The structure OpenAPI 3.1 requires of the parts this server uses (document, info, paths,
 * operations, parameters, request bodies, responses, components), as a JSON Schema.
 */
const operation = {
  type: "object",
  properties: {
    summary: { type: "string" },
    description: { type: "string" },
    tags: { type: "array", items: { type: "string" } },
    parameters: {
      type: "array",
      items: {
        type: "object",
        required: ["name", "in"],
        properties: {
          name: { type: "string" },
          in: { enum: ["query", "header", "path", "cookie"] },
          required: { type: "boolean" },
          schema: { type: "object" },
        },
        if: { properties: { in: { const: "path" } } },
        // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword
        then: { required: ["required"], properties: { required: { const: true } } },
      },
    },
    requestBody: {
      type: "object",
      required: ["content"],
      properties: { content: { type: "object", additionalProperties: { type: "object" } } },
    },
    responses: {
      type: "object",
      minProperties: 1,
      propertyNames: { pattern: "^([1-5](\\d\\d|XX)|default)$" },
      additionalProperties: {
        type: "object",
        required: ["description"],
        properties: {
          description: { type: "string" },
          content: {
            type: "object",
            additionalProperties: { type: "object", properties: { schema: { type: "object" } } },
          },
        },
      },
    },
    security: { type: "array", items: { type: "object" } },
  },
  required: ["responses"],
};

const oas31 = {
  type: "object",
  required: ["openapi", "info", "paths"],
  properties: {
    openapi: { type: "string", pattern: "^3\\.1\\.\\d+$" },
    info: {
      type: "object",
      required: ["title", "version"],
      properties: { title: { type: "string" }, version: { type: "string" } },
    },
    paths: {
      type: "object",
      propertyNames: { pattern: "^/" },
      additionalProperties: {
        type: "object",
        propertyNames: {
          enum: [
            "get",
            "put",
            "post",
            "delete",
            "patch",
            "options",
            "head",
            "trace",
            "parameters",
            "summary",
            "description",
          ],
        },
        additionalProperties: operation,
      },
    },
    components: {
      type: "object",
      properties: {
        securitySchemes: {
          type: "object",
          additionalProperties: {
            type: "object",
            required: ["type"],
            properties: { type: { enum: ["apiKey", "http", "oauth2", "openIdConnect", "mutualTLS"] } },
          },
        },
        schemas: { type: "object" },
      },
    },
    tags: { type: "array", items: { type: "object", required: ["name"] } },
  },
};

let server: NetwardenServer;

beforeAll(async () => {
  const { stores } = await phishingStore([gbdt(5)]);
  server = await createServer({ ...stores, logger: false, sink: false, config: { poll_ms: 0 } });
});

afterAll(async () => {
  await server.close();
});

describe("the OpenAPI document", () => {
  it("is a structurally valid OpenAPI 3.1 document whose schemas compile", async () => {
    const doc = (await server.app.inject({ url: "/openapi.json" })).json();
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const valid = ajv.validate(oas31, doc);
    expect(ajv.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    // Every schema in it is itself a valid JSON Schema.
    const schemas: unknown[] = [];
    for (const item of Object.values(doc.paths) as Record<string, Record<string, unknown>>[]) {
      for (const op of Object.values(item) as {
        requestBody?: { content: Record<string, { schema: unknown }> };
        responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
      }[]) {
        for (const c of Object.values(op.requestBody?.content ?? {})) schemas.push(c.schema);
        for (const r of Object.values(op.responses))
          for (const c of Object.values(r.content ?? {})) schemas.push(c.schema);
      }
    }
    expect(schemas.length).toBeGreaterThan(20);
    for (const s of schemas) expect(() => ajv.compile(s as object)).not.toThrow();
    // Path templates name exactly the path parameters declared.
    for (const [path, item] of Object.entries(doc.paths) as [
      string,
      Record<string, { parameters?: { in: string; name: string }[] }>,
    ][]) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const op of Object.values(item)) {
        expect(
          (op.parameters ?? [])
            .filter((p) => p.in === "path")
            .map((p) => p.name)
            .sort(),
          path,
        ).toEqual(inPath);
      }
    }
  });

  it("describes every route the server has", async () => {
    const doc = (await server.app.inject({ url: "/openapi.json" })).json();
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths) as [string, object][]) {
      for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${path}`);
    }
    const routes = server.routes.map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, "{$1}")}`);
    expect(routes.length).toBeGreaterThanOrEqual(20);
    expect(routes.filter((r) => !documented.has(r))).toEqual([]);
    for (const r of [
      "POST /v1/models/{name}/predict",
      "POST /v1/models/{name}/predict/csv",
      "POST /invocations",
      "POST /v2/models/{name}/infer",
      "GET /v2/health/ready",
      "PUT /v1/registry/models/{name}/aliases/{alias}",
      "POST /v1/train",
      "GET /v1/jobs/{id}",
      "GET /metrics",
    ]) {
      expect(documented.has(r), r).toBe(true);
    }
    expect(doc.paths["/v1/train"].post.security).toEqual([{ apiKey: [] }]);
  });
});
