import { dirname, isAbsolute, resolve } from "node:path";
import { isMap } from "yaml";
import { z } from "zod";
import { type ErrorCode, NetwardenError } from "../core/index.js";
import { closest, describeValue, formatPath, type Path } from "./paths.js";
import { parseYaml, readConfigFile } from "./yaml.js";

/**
 * The server config (`netwarden serve -c serve.yaml`), overridden key by key by `NETWARDEN_SERVE_*`
 * environment variables. Every object is strict: a misspelt key is an error, never ignored.
 */

const nonEmpty = z.string().min(1);
const count = (def: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(1).max(max).default(def);

/** `<role>:<key id>:<salt>:<sha256(salt + secret)>`, printed by `netwarden serve keys create`. */
export const API_KEY_HASH_PATTERN = /^(admin|predict):[0-9a-f]{8}:[0-9a-f]{32}:[0-9a-f]{64}$/;

export const serveSchema = z
  .object({
    host: nonEmpty.default("127.0.0.1").describe("Address to listen on."),
    port: z.number().int().min(0).max(65535).default(8080).describe("Port to listen on (0: any free port)."),
    alias: nonEmpty.default("production").describe("Alias whose version is served."),
    models: z
      .array(nonEmpty)
      .min(1)
      .optional()
      .describe("Models to serve (default: every registered model that has the alias)."),
    default_model: nonEmpty
      .optional()
      .describe("Model answering `POST /invocations` (default: the only served model)."),
    poll_ms: z
      .number()
      .int()
      .min(0)
      .default(2000)
      .describe("How often aliases are re-read, in ms (0: only on admin moves)."),
    unknown_values: z
      .enum(["error", "unknown"])
      .default("error")
      .describe(
        "A value outside a feature's allowed list: error (400) or unknown (scored; encoders treat it as unseen).",
      ),
    explain_top_k: count(5, 1000).describe("Contributions returned per record with ?explain=true."),
    docs: z.boolean().default(true).describe("Serve interactive API docs at /docs."),
    limits: z
      .object({
        body_bytes: count(10 * 1024 * 1024).describe("Largest JSON body, in bytes."),
        records: count(10_000).describe("Most records in one JSON request."),
        csv_bytes: count(2 * 1024 * 1024 * 1024).describe("Largest CSV upload (as sent), in bytes."),
        csv_rows: count(1_000_000).describe("Most data rows in one CSV upload."),
        csv_chunk_rows: count(4096, 1_000_000).describe("Rows scored at a time while a CSV streams."),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        keys: z
          .array(z.string().regex(API_KEY_HASH_PATTERN, "a key hash from `netwarden serve keys create`"))
          .default([])
          .describe("Hashed API keys, `<role>:<id>:<salt>:<sha256>`; admin keys may also predict."),
        predict: z.boolean().default(false).describe("Require a key for prediction routes too."),
      })
      .strict()
      .prefault({}),
    rate_limit: z
      .object({
        enabled: z.boolean().default(false),
        max: count(1000).describe("Requests per client per window."),
        window_ms: count(1000).describe("Window length in ms."),
      })
      .strict()
      .prefault({}),
    cors: z
      .object({
        origins: z
          .array(nonEmpty)
          .default([])
          .describe('Origins allowed to call the API from a browser (empty: CORS off; "*": any).'),
      })
      .strict()
      .prefault({}),
    prediction_log: z
      .object({
        enabled: z.boolean().default(true),
        queue_rows: count(200_000).describe("Predictions held before new ones are dropped (and counted)."),
        flush_ms: count(1000).describe("Longest time a prediction waits before its segment is written."),
        segment_rows: count(20_000).describe("Most predictions per segment file."),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
        requests: z.boolean().default(true).describe("One log line per request."),
      })
      .strict()
      .prefault({}),
    shutdown: z
      .object({
        grace_ms: count(10_000).describe("Longest wait for in-flight requests on SIGTERM."),
      })
      .strict()
      .prefault({}),
    jobs: z
      .object({
        concurrency: count(1, 64).describe("Jobs run at the same time."),
        train_configs: z
          .record(nonEmpty, nonEmpty)
          .default({})
          .describe(
            "Pipeline files jobs may name (train; the data of evaluate, batch-score, drift-check), by name.",
          ),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type ServeConfig = z.output<typeof serveSchema>;
export type ServeConfigInput = z.input<typeof serveSchema>;

type EnvKind = "string" | "int" | "bool" | "list" | "map";

/** Environment variables and the config key each one sets. */
export const SERVE_ENV: readonly { name: string; path: Path; kind: EnvKind; doc: string }[] = [
  { name: "NETWARDEN_SERVE_HOST", path: ["host"], kind: "string", doc: "address to listen on" },
  { name: "NETWARDEN_SERVE_PORT", path: ["port"], kind: "int", doc: "port to listen on" },
  { name: "NETWARDEN_SERVE_ALIAS", path: ["alias"], kind: "string", doc: "alias to serve" },
  { name: "NETWARDEN_SERVE_MODELS", path: ["models"], kind: "list", doc: "models to serve, comma-separated" },
  {
    name: "NETWARDEN_SERVE_DEFAULT_MODEL",
    path: ["default_model"],
    kind: "string",
    doc: "model answering /invocations",
  },
  { name: "NETWARDEN_SERVE_POLL_MS", path: ["poll_ms"], kind: "int", doc: "alias re-read interval" },
  {
    name: "NETWARDEN_SERVE_UNKNOWN_VALUES",
    path: ["unknown_values"],
    kind: "string",
    doc: "`error` or `unknown`",
  },
  {
    name: "NETWARDEN_SERVE_API_KEYS",
    path: ["auth", "keys"],
    kind: "list",
    doc: "hashed API keys, comma-separated",
  },
  {
    name: "NETWARDEN_SERVE_REQUIRE_KEY",
    path: ["auth", "predict"],
    kind: "bool",
    doc: "`true`: prediction routes need a key too",
  },
  {
    name: "NETWARDEN_SERVE_CORS_ORIGINS",
    path: ["cors", "origins"],
    kind: "list",
    doc: "allowed browser origins, comma-separated",
  },
  {
    name: "NETWARDEN_SERVE_RATE_LIMIT",
    path: ["rate_limit", "max"],
    kind: "int",
    doc: "requests per client per window; setting it turns rate limiting on",
  },
  {
    name: "NETWARDEN_SERVE_BODY_LIMIT",
    path: ["limits", "body_bytes"],
    kind: "int",
    doc: "largest JSON body in bytes",
  },
  {
    name: "NETWARDEN_SERVE_CSV_ROWS",
    path: ["limits", "csv_rows"],
    kind: "int",
    doc: "most rows per CSV upload",
  },
  {
    name: "NETWARDEN_SERVE_PREDICTION_LOG",
    path: ["prediction_log", "enabled"],
    kind: "bool",
    doc: "`false` turns the prediction log off",
  },
  { name: "NETWARDEN_SERVE_LOG_LEVEL", path: ["log", "level"], kind: "string", doc: "log level" },
  {
    name: "NETWARDEN_SERVE_TRAIN_CONFIGS",
    path: ["jobs", "train_configs"],
    kind: "map",
    doc: "`name=path,...` pipeline files jobs may name",
  },
];

/** Reads the serve config from `file` (optional) and the environment; see `parseServeConfig`. */
export async function loadServeConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServeConfig> {
  if (file === undefined) return parseServeConfig(undefined, "(defaults)", env);
  const { path, text } = await readConfigFile(
    file,
    "serve config",
    "Check the path given to -c/--config; the README's Serving section lists every key",
  );
  return parseServeConfig(text, path, env);
}

/**
 * Validates a serve config: defaults, then the YAML `text` (if any), then `NETWARDEN_SERVE_*`
 * variables. Relative train config paths are resolved against the file's folder.
 */
export function parseServeConfig(
  text: string | undefined,
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): ServeConfig {
  let raw: Record<string, unknown> = {};
  let locate = (_p: Path, _key?: string) => path;
  if (text !== undefined) {
    const yaml = parseYaml(text, path);
    const doc = yaml.doc;
    if (doc.contents !== null && !isMap(doc.contents)) {
      throw new NetwardenError(
        "NW_CONFIG_INVALID_VALUE",
        "the top level of the serve config must be a mapping",
        {
          where: path,
          hint: "Start from the example in the README's Serving section",
        },
      );
    }
    raw = (doc.toJS() ?? {}) as Record<string, unknown>;
    locate = yaml.locate;
  }
  const fromEnv = new Map<string, string>();
  for (const v of SERVE_ENV) {
    const value = env[v.name];
    if (value === undefined || value === "") continue;
    setAt(raw, v.path, envValue(value, v.kind));
    fromEnv.set(formatPath(v.path), v.name);
    if (v.name === "NETWARDEN_SERVE_RATE_LIMIT") setAt(raw, ["rate_limit", "enabled"], true);
  }
  const where = (p: Path, key?: string) => {
    const full = key === undefined ? p : [...p, key];
    for (let n = full.length; n > 0; n--) {
      const name = fromEnv.get(formatPath(full.slice(0, n)));
      if (name) return `environment variable ${name}`;
    }
    return locate(p, key);
  };
  const parsed = serveSchema.safeParse(raw);
  if (!parsed.success) throw configError(parsed.error.issues[0], raw, where);
  const config = parsed.data;
  const base = dirname(path);
  for (const [name, file] of Object.entries(config.jobs.train_configs)) {
    config.jobs.train_configs[name] = isAbsolute(file) ? file : resolve(base, file);
  }
  return config;
}

function envValue(value: string, kind: EnvKind): unknown {
  switch (kind) {
    case "int":
      return /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    case "bool":
      if (/^(true|1|yes|on)$/i.test(value.trim())) return true;
      if (/^(false|0|no|off)$/i.test(value.trim())) return false;
      return value;
    case "list":
      return value
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    case "map": {
      const out: Record<string, string> = {};
      for (const pair of value.split(",")) {
        const i = pair.indexOf("=");
        if (i > 0) out[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
        else if (pair.trim()) out[pair.trim()] = "";
      }
      return out;
    }
    default:
      return value;
  }
}

function setAt(root: Record<string, unknown>, path: Path, value: unknown): void {
  let node = root;
  for (const seg of path.slice(0, -1)) {
    const next = node[seg as string];
    if (next === null || typeof next !== "object" || Array.isArray(next)) node[seg as string] = {};
    node = node[seg as string] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

function knownKeys(path: Path): string[] {
  let node: z.ZodType = serveSchema;
  for (const seg of path) {
    const shape = objectShape(node);
    if (!shape || typeof seg !== "string" || !(seg in shape)) return [];
    node = shape[seg];
  }
  return Object.keys(objectShape(node) ?? {});
}

function objectShape(node: z.ZodType): Record<string, z.ZodType> | undefined {
  let n: unknown = node;
  // Unwrap defaults and optionals down to the object.
  for (let i = 0; i < 5 && n; i++) {
    const def = (n as { _zod?: { def?: { type?: string; innerType?: unknown; shape?: unknown } } })._zod?.def;
    if (!def) return undefined;
    if (def.type === "object") return def.shape as Record<string, z.ZodType>;
    n = def.innerType;
  }
  return undefined;
}

function configError(
  issue: z.core.$ZodIssue,
  raw: unknown,
  where: (p: Path, key?: string) => string,
): NetwardenError {
  const path = issue.path as Path;
  const at = formatPath(path);
  const hint = "Fix the serve config; the README's Serving section lists every key";
  const fail = (code: ErrorCode, text: string, key?: string) =>
    new NetwardenError(code, text, {
      where: where(path, key),
      hint,
      details: { path: formatPath(key === undefined ? path : [...path, key]) },
    });
  switch (issue.code) {
    case "unrecognized_keys": {
      const key = issue.keys[0];
      const known = knownKeys(path);
      const guess = closest(key, known);
      return fail(
        "NW_CONFIG_UNKNOWN_KEY",
        `unknown key \`${key}\`${path.length ? ` in \`${at}\`` : " at the top level"}${guess ? `. Did you mean \`${guess}\`?` : ""} Expected one of: ${known.join(", ")}`,
        key,
      );
    }
    case "invalid_type": {
      const value = valueAt(raw, path);
      return fail(
        "NW_CONFIG_INVALID_VALUE",
        `\`${at}\` must be ${issue.expected === "object" ? "a mapping" : issue.expected === "array" ? "a list" : `a ${issue.expected}`}, got ${describeValue(value)}`,
      );
    }
    case "invalid_value":
      return fail(
        "NW_CONFIG_INVALID_VALUE",
        `\`${at}\` must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describeValue(valueAt(raw, path))}`,
      );
    case "too_small":
    case "too_big": {
      const small = issue.code === "too_small";
      const bound = (small ? issue.minimum : issue.maximum) as number;
      return fail(
        "NW_CONFIG_INVALID_VALUE",
        issue.origin === "array"
          ? `\`${at}\` must have ${small ? "at least" : "at most"} ${bound} entries`
          : `\`${at}\` must be ${small ? "≥" : "≤"} ${bound}, got ${describeValue(valueAt(raw, path))}`,
      );
    }
    default:
      return fail(
        "NW_CONFIG_INVALID_VALUE",
        `\`${at}\` is not valid (${issue.message}), got ${describeValue(valueAt(raw, path))}`,
      );
  }
}
