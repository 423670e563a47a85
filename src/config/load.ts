import { dirname, isAbsolute, relative, resolve } from "node:path";
import { isMap } from "yaml";
import type { z } from "zod";
import { canonicalJson, type ErrorCode, NetwardenError, sha256 } from "../core/index.js";
import { knownKeysAt } from "./jsonschema.js";
import { closest, describeValue, formatPath, type Path } from "./paths.js";
import { type PipelineConfig, pipelineSchema } from "./schema.js";
import { parseYaml, readConfigFile } from "./yaml.js";

export interface LoadedConfig {
  config: PipelineConfig;
  /** Absolute path of the file (or a label for text that did not come from a file). */
  path: string;
  /** sha256 of everything that shapes the model (data locations and thread counts excluded: see `configHash`). */
  hash: string;
  /** "file:line:col" of the value at `path` in the YAML, or of the nearest enclosing node. */
  locate(path: Path): string;
}

/** Reads, interpolates `${VAR}` / `${VAR:-default}`, validates and resolves a pipeline config. */
export async function loadPipelineConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  const { path, text } = await readConfigFile(
    file,
    "config file",
    "Check the path given to -c/--config; example configs are in examples/",
  );
  return parsePipelineConfig(text, path, env);
}

export function parsePipelineConfig(
  text: string,
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): LoadedConfig {
  const label = displayPath(path);
  const { doc, locate: locateKey } = parseYaml(text, label);
  const locate = (p: Path) => locateKey(p);
  if (!isMap(doc.contents)) {
    throw new NetwardenError(
      "NW_CONFIG_INVALID_VALUE",
      doc.contents === null
        ? "the config file is empty"
        : "the top level of the config must be a mapping of keys",
      { where: label, hint: "Start from one of the files in examples/ (name, data, schema, models, ...)" },
    );
  }
  const raw = interpolate(doc.toJS(), [], env, locate);
  const parsed = pipelineSchema.safeParse(raw);
  if (!parsed.success) throw configError(parsed.error.issues, raw, locate, locateKey);
  const config = parsed.data;
  const base = dirname(path);
  for (const key of ["path", "train", "test"] as const) {
    const v = config.data[key];
    if (v !== undefined) config.data[key] = isAbsolute(v) ? v : resolve(base, v);
  }
  return { config, path, hash: configHash(config), locate };
}

/**
 * Hash of the config without data locations (files or a database/S3 source): where the data lives
 * is covered by its fingerprint, so the same data from a CSV or a database gives the same hash.
 */
export function configHash(config: PipelineConfig): string {
  const { data, search, ...rest } = config;
  const { path: _p, train: _tr, test: _te, source: _s, ...dataRest } = data;
  // How many threads cross-validate changes no result, so it is no part of the model's identity.
  const { n_jobs: _j, ...searchRest } = search;
  return sha256(canonicalJson({ ...rest, search: searchRest, data: dataRest }));
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function interpolate(
  value: unknown,
  path: Path,
  env: NodeJS.ProcessEnv,
  locate: (p: Path) => string,
): unknown {
  if (typeof value === "string") {
    return value.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== "") return v;
      if (fallback !== undefined) return fallback;
      throw new NetwardenError(
        "NW_CONFIG_ENV",
        `\`${formatPath(path)}\` uses \${${name}}, which is not set`,
        {
          where: locate(path),
          hint: `Set the environment variable ${name}, or give a default as \${${name}:-value}`,
        },
      );
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, [...path, i], env, locate));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, [...path, k], env, locate);
    return out;
  }
  return value;
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

interface Problem {
  code: ErrorCode;
  where: string;
  text: string;
}

function configError(
  issues: z.core.$ZodIssue[],
  raw: unknown,
  locate: (p: Path) => string,
  locateKey: (p: Path, key?: string) => string,
): NetwardenError {
  const problems: Problem[] = [];
  for (const issue of issues) problems.push(...describeIssue(issue, raw, locate, locateKey));
  const first = problems[0];
  const rest = problems.slice(1, 5);
  const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : "";
  const also = rest.length ? ` Also: ${rest.map((p) => `${p.where}: ${p.text}`).join("; ")}${more}.` : "";
  return new NetwardenError(first.code, `${first.text}${also ? `.${also}` : ""}`, {
    where: first.where,
    hint: "Fix the config file; the JSON Schema for editors is printed by `netwarden config schema`",
    details: { problems },
  });
}

function describeIssue(
  issue: z.core.$ZodIssue,
  raw: unknown,
  locate: (p: Path) => string,
  locateKey: (p: Path, key?: string) => string,
): Problem[] {
  const path = issue.path as Path;
  const at = formatPath(path);
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = knownKeysAt(path, raw);
      return issue.keys.map((key) => {
        const guess = closest(key, known);
        const where = locateKey(path, key);
        const inside = path.length ? ` in \`${at}\`` : " at the top level";
        const expect = known.length ? ` Expected one of: ${known.join(", ")}` : "";
        const dym = guess ? `. Did you mean \`${guess}\`?` : "";
        return {
          code: "NW_CONFIG_UNKNOWN_KEY",
          where,
          text: `unknown key \`${key}\`${inside}${dym}${expect}`,
        };
      });
    }
    case "invalid_type": {
      const value = valueAt(raw, path);
      if (value === undefined) {
        return [
          {
            code: "NW_CONFIG_MISSING_KEY",
            where: locate(path),
            text: `\`${at}\` is required (${issue.expected})`,
          },
        ];
      }
      return [
        {
          code: "NW_CONFIG_INVALID_VALUE",
          where: locate(path),
          text: `\`${at}\` must be ${article(issue.expected)}, got ${describeValue(value)}`,
        },
      ];
    }
    case "too_small":
    case "too_big": {
      const value = valueAt(raw, path);
      const isSmall = issue.code === "too_small";
      const bound = (isSmall ? issue.minimum : issue.maximum) as number;
      const op = isSmall ? (issue.inclusive ? "≥" : ">") : issue.inclusive ? "≤" : "<";
      const what =
        issue.origin === "array" || issue.origin === "string"
          ? `have ${isSmall ? "at least" : "at most"} ${bound} ${issue.origin === "array" ? "entries" : "characters"}`
          : `be ${op} ${bound}`;
      return [
        {
          code: "NW_CONFIG_INVALID_VALUE",
          where: locate(path),
          text: `\`${at}\` must ${what}, got ${describeValue(value)}`,
        },
      ];
    }
    case "invalid_value":
      return [
        {
          code: "NW_CONFIG_INVALID_VALUE",
          where: locate(path),
          text: `\`${at}\` must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describeValue(valueAt(raw, path))}`,
        },
      ];
    case "invalid_format":
      return [
        {
          code: "NW_CONFIG_INVALID_VALUE",
          where: locate(path),
          text: `\`${at}\` must be ${issue.message.replace(/^Invalid string: must match pattern .*$/, "valid")}, got ${describeValue(valueAt(raw, path))}`,
        },
      ];
    case "invalid_union":
      return [
        {
          code: "NW_CONFIG_INVALID_VALUE",
          where: locate(path),
          text: `\`${at}\` has the wrong form, got ${describeValue(valueAt(raw, path))}`,
        },
      ];
    default:
      return [{ code: "NW_CONFIG_INVALID_VALUE", where: locate(path), text: `\`${at}\`: ${issue.message}` }];
  }
}

function article(expected: string): string {
  if (expected === "object") return "a mapping";
  if (expected === "array") return "a list";
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}
