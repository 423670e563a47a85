import type { PipelineConfig } from "../config/index.js";
import { NetwardenError } from "../core/index.js";
import { type ColumnSpec, type DataSchema, DEFAULT_MISSING_TOKENS } from "../data/index.js";

/**
 * Normalises the config's `schema:` section into the data layer's DataSchema. The target is always
 * read as categorical: its values are class labels, whatever they look like.
 */
export function toDataSchema(
  config: PipelineConfig,
  locate: (path: (string | number)[]) => string,
): DataSchema {
  const s = config.schema;
  const target = s.target;
  if (!(target in s.columns)) {
    throw new NetwardenError(
      "NW_SCHEMA_INVALID",
      `the target \`${target}\` is not listed under schema.columns`,
      {
        where: locate(["schema", "target"]),
        hint: `Add \`${target}: { role: target, type: categorical }\` to schema.columns`,
      },
    );
  }
  const columns: ColumnSpec[] = [];
  for (const [name, c] of Object.entries(s.columns)) {
    const isTarget = name === target;
    if (!isTarget && c.role === "target") {
      throw new NetwardenError(
        "NW_SCHEMA_INVALID",
        `column \`${name}\` has role target, but schema.target is \`${target}\``,
        {
          where: locate(["schema", "columns", name, "role"]),
          hint: "A pipeline has one target: fix schema.target or the column's role",
        },
      );
    }
    if (c.min !== undefined && c.max !== undefined && c.min > c.max) {
      throw new NetwardenError(
        "NW_SCHEMA_INVALID",
        `column \`${name}\` has min ${c.min} above max ${c.max}`,
        {
          where: locate(["schema", "columns", name]),
          hint: "Swap or fix the bounds",
        },
      );
    }
    columns.push({
      name,
      role: isTarget ? "target" : c.role,
      type: isTarget ? "categorical" : c.type,
      nullable: c.nullable ?? !isTarget,
      ...(c.allowed ? { allowed: isTarget ? c.allowed.map(String) : c.allowed } : {}),
      ...(c.min !== undefined ? { min: c.min } : {}),
      ...(c.max !== undefined ? { max: c.max } : {}),
      ...(c.max_missing_rate !== undefined ? { maxMissingRate: c.max_missing_rate } : {}),
      ...(c.description ? { description: c.description } : {}),
    });
  }
  if (!columns.some((c) => c.role === "feature")) {
    throw new NetwardenError("NW_SCHEMA_INVALID", "the schema lists no feature columns", {
      where: locate(["schema", "columns"]),
      hint: "List the model inputs under schema.columns (role defaults to feature)",
    });
  }
  if (s.positive_class !== undefined && s.columns[target].allowed) {
    const allowed = s.columns[target].allowed.map(String);
    if (!allowed.includes(s.positive_class)) {
      throw new NetwardenError(
        "NW_SCHEMA_INVALID",
        `positive_class "${s.positive_class}" is not among the target's allowed values (${allowed.join(", ")})`,
        { where: locate(["schema", "positive_class"]), hint: "Use one of the target's values" },
      );
    }
  }
  return {
    columns,
    unexpectedColumns: s.unexpected_columns,
    missingTokens: s.missing_values ?? DEFAULT_MISSING_TOKENS,
  };
}

/** Class labels in a stable order: numerically when all labels are numbers, else by code point. */
export function sortLabels(labels: readonly string[]): string[] {
  const numeric = labels.every((l) => l.trim() !== "" && Number.isFinite(Number(l)));
  return [...labels].sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
