import { NetwardenError } from "../core/index.js";

export type ParamType = "int" | "number" | "bool" | "enum";
export type ParamValue = number | boolean | string | null;

/**
 * One hyper-parameter of a learner. The config layer turns these into JSON Schema and docs, so
 * everything a user needs to know about a parameter lives here.
 */
export interface ParamSpec {
  type: ParamType;
  default: ParamValue;
  /** `null` is a valid value (meaning documented in `doc`). */
  nullable?: boolean;
  min?: number;
  max?: number;
  /** `min` / `max` themselves are not allowed. */
  exclusiveMin?: boolean;
  exclusiveMax?: boolean;
  /** Allowed strings for `enum`; for `int` and `number`, named values accepted besides numbers. */
  values?: readonly string[];
  /** One line for humans. */
  doc: string;
  /**
   * Names other libraries use for this parameter (`eta`, `num_leaves`). Never accepted, only
   * suggested, so each parameter keeps a single spelling in configs and model files.
   */
  aliases?: readonly string[];
}

export type ParamSpecs = Readonly<Record<string, ParamSpec>>;

/**
 * Fills defaults and checks every given value against `spec`. Unknown names and bad values throw
 * coded errors that name the parameter, the value and what was expected.
 */
export function resolveParams(
  kind: string,
  spec: ParamSpecs,
  given: Readonly<Record<string, unknown>> | undefined,
): Record<string, ParamValue> {
  const input = given ?? {};
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new NetwardenError("NW_LEARNER_INVALID_PARAM", `parameters of ${kind} must be an object`, {
      where: `${kind} params`,
      hint: "Give the parameters as a mapping of name to value",
    });
  }
  for (const name of Object.keys(input)) {
    if (!Object.hasOwn(spec, name)) {
      const suggestion = suggestParam(name, spec);
      throw new NetwardenError("NW_LEARNER_UNKNOWN_PARAM", `${kind} has no parameter \`${name}\``, {
        where: `${kind} params.${name}`,
        hint: suggestion
          ? `Did you mean \`${suggestion}\`?`
          : `Known parameters: ${Object.keys(spec).join(", ")}`,
        details: { param: name, kind, ...(suggestion ? { suggestion } : {}), known: Object.keys(spec) },
      });
    }
  }
  const out: Record<string, ParamValue> = {};
  for (const [name, s] of Object.entries(spec)) {
    const v = input[name];
    out[name] = v === undefined ? s.default : checkValue(kind, name, s, v);
  }
  return out;
}

/** Human description of what a parameter accepts, e.g. "an integer in [1, 255] or null". */
export function describeParam(s: ParamSpec): string {
  let what: string;
  if (s.type === "bool") what = "true or false";
  else if (s.type === "enum") what = `one of ${(s.values ?? []).map((v) => `"${v}"`).join(", ")}`;
  else {
    const noun = s.type === "int" ? "an integer" : "a number";
    const lo = s.min === undefined ? "" : `${s.exclusiveMin ? "(" : "["}${s.min}`;
    const hi = s.max === undefined ? "" : `${s.max}${s.exclusiveMax ? ")" : "]"}`;
    if (lo && hi) what = `${noun} in ${lo}, ${hi}`;
    else if (lo) what = `${noun} ${s.exclusiveMin ? ">" : "≥"} ${s.min}`;
    else if (hi) what = `${noun} ${s.exclusiveMax ? "<" : "≤"} ${s.max}`;
    else what = `${noun}`;
    if (s.values?.length) what += ` or one of ${s.values.map((v) => `"${v}"`).join(", ")}`;
  }
  return s.nullable ? `${what} or null` : what;
}

function checkValue(kind: string, name: string, s: ParamSpec, v: unknown): ParamValue {
  if (v === null && s.nullable) return null;
  let ok: boolean;
  switch (s.type) {
    case "bool":
      ok = typeof v === "boolean";
      break;
    case "enum":
      ok = typeof v === "string" && (s.values ?? []).includes(v);
      break;
    default: {
      if (typeof v === "string" && s.values?.includes(v)) return v;
      ok = typeof v === "number" && Number.isFinite(v) && (s.type === "number" || Number.isInteger(v));
      if (ok) {
        const n = v as number;
        if (s.min !== undefined && (s.exclusiveMin ? n <= s.min : n < s.min)) ok = false;
        if (s.max !== undefined && (s.exclusiveMax ? n >= s.max : n > s.max)) ok = false;
      }
    }
  }
  if (!ok) {
    const expected = describeParam(s);
    throw new NetwardenError(
      "NW_LEARNER_INVALID_PARAM",
      `${kind} parameter \`${name}\` is ${JSON.stringify(v) ?? String(v)}, expected ${expected}`,
      {
        where: `${kind} params.${name}`,
        hint: `${s.doc} Default: ${JSON.stringify(s.default)}`,
        details: { param: name, kind, value: v, expected },
      },
    );
  }
  return v as ParamValue;
}

/** Closest known name (or alias target) within a small edit distance, or undefined. */
export function suggestParam(name: string, spec: ParamSpecs): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const [known, s] of Object.entries(spec)) {
    for (const candidate of [known, ...(s.aliases ?? [])]) {
      const d = candidate === lower ? 0 : editDistance(lower, candidate.toLowerCase());
      if (d < bestD) {
        bestD = d;
        best = known;
      }
    }
  }
  const limit = Math.max(2, Math.floor(name.length / 3));
  return bestD <= limit ? best : undefined;
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1] + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1);
      cur[j] = Math.min(sub, prev[j] + 1, cur[j - 1] + 1);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}
