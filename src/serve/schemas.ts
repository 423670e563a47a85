/**
 * JSON Schemas of the routes: Fastify checks bodies with them, serialises answers with them, and
 * @fastify/swagger turns them into the OpenAPI document. Record bodies are only checked to be
 * objects here: the bundle's input schema checks each feature and names the record and field.
 */

export const errorBody = {
  type: "object",
  description: "Every error: a stable code, what was wrong, where, and what to do.",
  properties: {
    error: {
      type: "object",
      properties: {
        code: { type: "string", examples: ["NW_SERVE_INVALID_RECORD"] },
        message: { type: "string" },
        where: { type: "string" },
        hint: { type: "string" },
        details: { type: "object", additionalProperties: true },
        request_id: { type: "string" },
      },
      required: ["code", "message"],
    },
  },
  required: ["error"],
} as const;

const errors = {
  400: errorBody,
  401: errorBody,
  403: errorBody,
  404: errorBody,
  413: errorBody,
  429: errorBody,
  503: errorBody,
};

export const nameParam = {
  type: "object",
  properties: { name: { type: "string", description: "Registered model name." } },
  required: ["name"],
} as const;

const probabilities = {
  type: "object",
  description: "Probability per class label.",
  additionalProperties: { type: "number" },
} as const;

const explanation = {
  type: "object",
  description: "Top-k SHAP contributions (raw-score space: log-odds for binary models).",
  properties: {
    class: { type: "string" },
    expected_value: { type: "number" },
    contributions: {
      type: "array",
      items: {
        type: "object",
        properties: {
          feature: { type: "string" },
          value: { type: ["number", "string", "null"] },
          contribution: { type: "number" },
        },
      },
    },
  },
} as const;

const prediction = {
  type: "object",
  properties: {
    label: { type: "string", description: "Predicted class label." },
    class_name: { type: "string", description: "Readable name of the label, when the model has one." },
    probabilities,
    explanation,
  },
  required: ["label", "probabilities"],
} as const;

export const predictSchema = {
  tags: ["predict"],
  summary: "Score one record, a list of records, or columnar rows",
  description:
    'Body: one record `{feature: value, ...}`, `{"records": [...]}`, or `{"columns": [...], "data": [[...]]}`. ' +
    "`?explain=true` adds the top-k SHAP contributions per record (tree models).",
  params: nameParam,
  querystring: {
    type: "object",
    properties: {
      explain: { type: "boolean", default: false },
      top_k: { type: "integer", minimum: 1, maximum: 1000 },
    },
  },
  body: {
    type: "object",
    examples: [{ records: [{ feature_a: 1, feature_b: "tcp" }] }],
    additionalProperties: true,
  },
  response: {
    200: {
      type: "object",
      properties: {
        model: { type: "string" },
        version: { type: "integer" },
        request_id: { type: "string" },
        predictions: { type: "array", items: prediction },
      },
      required: ["model", "version", "request_id", "predictions"],
    },
    ...errors,
  },
};

export const predictCsvSchema = {
  tags: ["predict"],
  summary: "Score a CSV file (upload or body), streamed",
  description:
    "Body: `text/csv` (gzip allowed, by Content-Encoding or magic bytes) or `multipart/form-data` with one file. " +
    "The header names the features; extra columns are ignored. The answer streams as JSON, NDJSON, CSV or an HTML " +
    "table, chosen by `?format=` or `Accept`.",
  params: nameParam,
  querystring: {
    type: "object",
    properties: {
      format: { type: "string", description: "json, ndjson, csv or html (406 for anything else)" },
    },
  },
  consumes: ["text/csv", "multipart/form-data"],
  produces: ["application/json", "application/x-ndjson", "text/csv", "text/html"],
  response: {
    200: {
      description: "One prediction per data row, in the chosen format.",
      content: {
        "application/json": { schema: { type: "object", additionalProperties: true } },
        "application/x-ndjson": { schema: { type: "string" } },
        "text/csv": { schema: { type: "string" } },
        "text/html": { schema: { type: "string" } },
      },
    },
    ...errors,
    406: errorBody,
    415: errorBody,
  },
};

const modelSummary = {
  type: "object",
  properties: {
    name: { type: "string" },
    version: { type: "integer" },
    loaded_at: { type: "string" },
  },
} as const;

export const modelsSchema = {
  tags: ["models"],
  summary: "Models being served",
  response: {
    200: {
      type: "object",
      properties: { alias: { type: "string" }, models: { type: "array", items: modelSummary } },
    },
  },
};

export const modelSchema = {
  tags: ["models"],
  summary: "A served model: inputs, classes, metrics, lineage",
  params: nameParam,
  response: { 200: { type: "object", additionalProperties: true }, 404: errorBody },
};

export const opsSchema = (summary: string, tag = "operations") => ({
  tags: [tag],
  summary,
  response: { 200: { type: "object", additionalProperties: true }, 503: errorBody },
});

export const mlflowSchema = {
  tags: ["compatibility"],
  summary: "MLflow scoring protocol",
  description:
    "Body: `dataframe_split`, `dataframe_records`, `instances` or `inputs` (JSON), or CSV text. Answer: " +
    '`{"predictions": [label, ...]}`. Several served models: name one with `?model=`.',
  querystring: { type: "object", properties: { model: { type: "string" } } },
  body: { type: "object", additionalProperties: true },
  response: {
    200: {
      type: "object",
      properties: { predictions: { type: "array", items: { type: ["string", "number"] } } },
    },
    ...errors,
  },
};

export const v2InferSchema = {
  tags: ["compatibility"],
  summary: "Open Inference Protocol v2: infer",
  description:
    "Inputs: one tensor per feature (shape [n] or [n, 1]), or one [n, features] tensor in the model's input order. " +
    "Outputs: `label` (BYTES, [n]) and `probabilities` (FP64, [n, classes]).",
  params: nameParam,
  body: {
    type: "object",
    properties: {
      id: { type: "string" },
      inputs: {
        type: "array",
        items: {
          type: "object",
          properties: {
            name: { type: "string" },
            shape: { type: "array", items: { type: "integer" } },
            datatype: { type: "string" },
            data: { type: "array" },
          },
        },
      },
      outputs: { type: "array", items: { type: "object", properties: { name: { type: "string" } } } },
    },
    additionalProperties: true,
  },
  response: {
    200: {
      type: "object",
      properties: {
        model_name: { type: "string" },
        model_version: { type: "string" },
        id: { type: "string" },
        outputs: {
          type: "array",
          items: {
            type: "object",
            properties: {
              name: { type: "string" },
              datatype: { type: "string" },
              shape: { type: "array", items: { type: "integer" } },
              data: { type: "array", items: { type: ["string", "number"] } },
              parameters: { type: "object", additionalProperties: true },
            },
          },
        },
      },
    },
    ...errors,
  },
};

export const adminSecurity = [{ apiKey: [] }];

export const aliasParams = {
  type: "object",
  properties: { name: { type: "string" }, alias: { type: "string" } },
  required: ["name", "alias"],
} as const;

export const anyObject = { type: "object", additionalProperties: true } as const;
