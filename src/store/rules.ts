/**
 * Rules every store implementation applies the same way: allowed names and ids, input checks, and
 * the not-found errors users see. Keeping them here means the embedded and the PostgreSQL stores
 * accept and reject exactly the same things.
 */
import { randomBytes } from "node:crypto";
import { NetwardenError } from "../core/index.js";
import type { ArtifactRef, Lineage, ParamValue, RunError, RunStatus } from "./types.js";

/** Model and alias names; model names become file names, so the set is kept portable. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const MAX_NAME_LENGTH = 128;
/** `YYYYMMDD-HHMMSS-<6 hex>` (UTC): ids sort by the second the run started. */
export const RUN_ID_PATTERN = /^\d{8}-\d{6}-[0-9a-f]{6}$/;
export const HASH_PATTERN = /^[0-9a-f]{64}$/;

const RUN_STATUSES: readonly RunStatus[] = ["running", "finished", "failed", "rejected"];
const END_STATUSES: readonly RunStatus[] = ["finished", "failed", "rejected"];

function invalid(message: string, where: string, hint: string, details?: Record<string, unknown>) {
  return new NetwardenError("NW_STORE_INVALID_ARGUMENT", message, { where, hint, details });
}

function show(value: unknown): string {
  return typeof value === "string" ? `\`${value}\`` : String(JSON.stringify(value));
}

/**
 * A new run id. The random part comes from the OS, not from a seeded Rng: two processes started
 * with the same seed must still get different ids.
 */
export function newRunId(now: Date): string {
  const iso = now.toISOString(); // 2025-01-02T03:04:05.678Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

export function runNotFound(runId: unknown, location: string): NetwardenError {
  return new NetwardenError("NW_STORE_NOT_FOUND", `no run ${show(runId)} in the store at ${location}`, {
    where: "run id",
    hint: "Check the run id (ids look like 20250102-030405-a1b2c3) and that the command uses the same store folder as the run",
    details: { runId },
  });
}

export function modelNotFound(model: string, location: string): NetwardenError {
  return new NetwardenError("NW_STORE_NOT_FOUND", `no model \`${model}\` in the registry at ${location}`, {
    where: "model name",
    hint: "List the registered models to check the name; a model appears once a training run registers a version",
    details: { model },
  });
}

export function versionNotFound(model: string, version: unknown, latest: number): NetwardenError {
  return new NetwardenError("NW_STORE_NOT_FOUND", `model \`${model}\` has no version ${show(version)}`, {
    where: `${model}@${String(version)}`,
    hint: `Versions of \`${model}\` are 1 to ${latest}`,
    details: { model, version, latestVersion: latest },
  });
}

export function aliasNotFound(model: string, alias: string, aliases: string[]): NetwardenError {
  return new NetwardenError("NW_STORE_NOT_FOUND", `model \`${model}\` has no alias \`${alias}\``, {
    where: `${model}@${alias}`,
    hint: aliases.length
      ? `Its aliases are: ${aliases.join(", ")}`
      : `\`${model}\` has no aliases yet; set one by promoting a version`,
    details: { model, alias },
  });
}

export function checkModelName(name: unknown): string {
  if (typeof name === "string" && NAME_PATTERN.test(name) && name.length <= MAX_NAME_LENGTH) return name;
  throw invalid(
    `model name ${show(name)} is not allowed`,
    "model name",
    `Use letters, digits, '.', '_' and '-', starting with a letter or digit, at most ${MAX_NAME_LENGTH} characters (e.g. phishing-gbm)`,
    { model: name },
  );
}

export function checkAliasName(alias: unknown): string {
  // An all-digit alias would be ambiguous with a version number in `model@3`.
  if (
    typeof alias === "string" &&
    NAME_PATTERN.test(alias) &&
    alias.length <= MAX_NAME_LENGTH &&
    !/^\d+$/.test(alias)
  ) {
    return alias;
  }
  throw invalid(
    `alias name ${show(alias)} is not allowed`,
    "alias",
    "Use letters, digits, '.', '_' and '-', starting with a letter or digit and not only digits (e.g. production)",
    { alias },
  );
}

export function checkHash(hash: unknown, what: string): string {
  if (typeof hash === "string" && HASH_PATTERN.test(hash)) return hash;
  throw invalid(
    `${what} ${show(hash)} is not a sha256 hash`,
    what,
    "Give the 64 lowercase hex digits of the sha256",
    {
      [what]: hash,
    },
  );
}

export function checkBytes(bytes: unknown): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  throw invalid("artifact content must be bytes (a Uint8Array or Buffer)", "artifact", "Pass the raw bytes", {
    type: typeof bytes,
  });
}

export function checkPipeline(pipeline: unknown): string {
  if (typeof pipeline === "string" && pipeline.length > 0) return pipeline;
  throw invalid(
    `pipeline name ${show(pipeline)} is not a non-empty string`,
    "pipeline",
    "Set `name` in the pipeline config",
  );
}

function checkMap<T>(
  value: unknown,
  what: string,
  accepts: (v: unknown) => v is T,
  expected: string,
): Record<string, T> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalid(`${what} must be an object of key/value pairs`, what, `Pass { key: ${expected} } pairs`);
  }
  const out: Record<string, T> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key.length === 0 || key === "__proto__") {
      throw invalid(`${what} key ${show(key)} is not allowed`, `${what}.${key}`, "Use a non-empty key name");
    }
    if (!accepts(v)) {
      throw invalid(
        `${what} \`${key}\` is ${show(v)}, not ${expected}`,
        `${what}.${key}`,
        `Give ${expected}`,
        {
          key,
        },
      );
    }
    out[key] = v;
  }
  return out;
}

const isParam = (v: unknown): v is ParamValue =>
  v === null ||
  typeof v === "string" ||
  typeof v === "boolean" ||
  (typeof v === "number" && Number.isFinite(v));
const isString = (v: unknown): v is string => typeof v === "string";
// NaN and ±Infinity are allowed: a diverged loss is worth recording.
const isNumber = (v: unknown): v is number => typeof v === "number";

export function checkParams(params: unknown): Record<string, ParamValue> {
  return checkMap(params, "params", isParam, "a string, a finite number, a boolean or null");
}

export function checkTags(tags: unknown): Record<string, string> {
  return checkMap(tags, "tags", isString, "a string");
}

export function checkMetrics(metrics: unknown): Record<string, number> {
  return checkMap(metrics, "metrics", isNumber, "a number");
}

export function checkStep(step: unknown): number {
  if (typeof step === "number" && Number.isSafeInteger(step) && step >= 0) return step;
  throw invalid(
    `metric step ${show(step)} is not a whole number ≥ 0`,
    "step",
    "Steps count iterations: 0, 1, 2, …",
  );
}

export function isRunStatus(status: unknown): status is RunStatus {
  return RUN_STATUSES.includes(status as RunStatus);
}

export function checkRunStatus(status: unknown): RunStatus {
  if (isRunStatus(status)) return status;
  throw invalid(`run status ${show(status)} is not known`, "status", `Use one of ${RUN_STATUSES.join(", ")}`);
}

export function checkEndStatus(status: unknown): Exclude<RunStatus, "running"> {
  if (END_STATUSES.includes(status as RunStatus)) return status as Exclude<RunStatus, "running">;
  throw invalid(
    `a run cannot end with status ${show(status)}`,
    "status",
    `Use one of ${END_STATUSES.join(", ")}`,
  );
}

export function checkRunError(error: unknown): RunError | undefined {
  if (error === undefined) return undefined;
  const e = error as Partial<RunError> | null;
  if (e && typeof e === "object" && typeof e.code === "string" && typeof e.message === "string") {
    return { code: e.code, message: e.message };
  }
  throw invalid(
    "run error must be { code, message } strings",
    "error",
    "Pass the failing error's code and message",
  );
}

export function checkAudit(audit: unknown): { actor: string; reason: string } {
  const a = audit as { actor?: unknown; reason?: unknown } | null;
  if (a && typeof a === "object" && typeof a.actor === "string" && a.actor.length > 0) {
    if (typeof a.reason === "string") return { actor: a.actor, reason: a.reason };
  }
  throw invalid(
    "an alias change needs an actor (who) and a reason (why)",
    "audit",
    "Pass { actor: 'alice', reason: 'beats v3 on recall' }",
  );
}

export function checkLineage(lineage: unknown): Lineage {
  const l = lineage as Record<string, unknown> | null;
  if (l === null || typeof l !== "object" || Array.isArray(l)) {
    throw invalid("lineage must be an object", "lineage", "Pass dataFingerprint, configHash and codeVersion");
  }
  for (const key of ["dataFingerprint", "configHash", "codeVersion"]) {
    if (typeof l[key] !== "string" || (l[key] as string).length === 0) {
      throw invalid(
        `lineage.${key} is missing or not a string`,
        `lineage.${key}`,
        "Lineage needs it to be traceable",
      );
    }
  }
  for (const key of ["gitCommit", "parentRunId"]) {
    if (l[key] !== undefined && typeof l[key] !== "string") {
      throw invalid(`lineage.${key} is not a string`, `lineage.${key}`, "Leave it out or give a string");
    }
  }
  return JSON.parse(JSON.stringify(l)) as Lineage;
}

export function checkLimit(limit: unknown): number {
  if (limit === undefined) return 50;
  if (typeof limit === "number" && limit >= 1) return Math.floor(limit);
  throw invalid(`limit ${show(limit)} is not a number ≥ 1`, "limit", "Ask for at least one run");
}

/** JSON has no NaN or ±Infinity: they are stored as the strings "NaN", "Infinity", "-Infinity". */
export function nonFiniteToString(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? String(value) : value;
}

export function decodeNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (value === "NaN") return Number.NaN;
  if (value === "Infinity") return Number.POSITIVE_INFINITY;
  if (value === "-Infinity") return Number.NEGATIVE_INFINITY;
  return undefined;
}

/** Decodes a stored metrics object in place; false when it is not one. */
export function decodeMetricsInPlace(metrics: unknown): metrics is Record<string, number> {
  if (metrics === null || typeof metrics !== "object" || Array.isArray(metrics)) return false;
  const m = metrics as Record<string, unknown>;
  for (const key of Object.keys(m)) {
    const v = decodeNumber(m[key]);
    if (v === undefined) return false;
    m[key] = v;
  }
  return true;
}

export function checkOptionalString(value: unknown, what: string): string | undefined {
  if (value === undefined || typeof value === "string") return value;
  throw invalid(`${what} is ${show(value)}, not a string`, what, "Leave it out or give a string");
}

export function checkArtifactRef(ref: unknown): ArtifactRef {
  const r = ref as Partial<ArtifactRef> | null;
  if (
    r &&
    typeof r === "object" &&
    typeof r.name === "string" &&
    r.name.length > 0 &&
    typeof r.mediaType === "string" &&
    typeof r.size === "number" &&
    Number.isSafeInteger(r.size) &&
    r.size >= 0
  ) {
    return { name: r.name, hash: checkHash(r.hash, "artifact hash"), size: r.size, mediaType: r.mediaType };
  }
  throw invalid(
    "artifact reference is incomplete",
    "artifact",
    "Give { name, hash, size, mediaType } as returned by the artifact store's put",
  );
}

/** Object keys: relative paths of portable segments, no `..`, no empty segments. */
export const OBJECT_KEY_PATTERN = /^[A-Za-z0-9_=-][A-Za-z0-9._=-]*(\/[A-Za-z0-9_=-][A-Za-z0-9._=-]*)*$/;

export function checkObjectKey(key: unknown, what = "object key"): string {
  if (typeof key !== "string" || key.length > 1024 || !OBJECT_KEY_PATTERN.test(key)) {
    throw invalid(
      `${what} ${show(key)} is not a valid key`,
      what,
      "Use a relative path like `predictions/model/2026-11-21/000001.jsonl` (letters, digits, `._=-`, `/` between parts)",
    );
  }
  return key;
}

/** Prefixes may be "" or end in a separator-free part; they are checked like keys when not empty. */
export function checkObjectPrefix(prefix: unknown): string {
  if (prefix === "") return "";
  return checkObjectKey(typeof prefix === "string" ? prefix.replace(/\/$/, "") : prefix, "object prefix");
}
